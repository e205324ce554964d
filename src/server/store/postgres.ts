// PostgreSQL store, for several server replicas on one database.
//
// Driver: the `postgres` npm package (postgres.js). Chosen because it is well kept and
// small with no native parts (runs unchanged on Bun and inside `bun build --compile`),
// prepares and caches every tagged-template query automatically, pipelines queries on a
// connection (Promise.all inside a transaction goes out in one round trip), and has
// first-class LISTEN/NOTIFY with automatic re-listen on reconnect, which is how a task
// created through one replica wakes a worker streaming from another.
//
// Claims use `FOR UPDATE SKIP LOCKED` (concurrent claimers never wait on each other and
// never take the same row); every other decision locks the task row with `FOR UPDATE`.
import postgres from "postgres";
import { TaskStatus, type MessageRecord, type SessionRecord } from "../../protocol/index.ts";
import { log } from "../../util/log.ts";
import { MIGRATION_LOCK_KEY, MIGRATIONS } from "./migrations.ts";
import {
  messageColumns, messageOut, outputLine, planOutput, sessionColumns, sessionOut, TASK_COLUMNS, TASK_MUTABLE,
  toCodebaseRow, toTaskRow, toWorkerRow, withMetadata,
} from "./rows.ts";
import { keyOf, prefixRange, type TaskFilter, type TaskPageQuery } from "./task-list.ts";
import type { AppendInput, ClaimResult, CodebaseInput, CodebaseUpsert, Store, StoreEvent, TaskChange, TaskRow, TaskTimes, WorkerCounts, WorkerInput } from "./types.ts";

const CHANNEL = "codetether_events";

type Sql = postgres.Sql<{}>;
type Tx = postgres.TransactionSql<{}>;

/** postgres://user:secret@host/db -> postgres://user:***@host/db, for messages. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@/]*@/, "//$1:***@");
}

function statusLiteral(s: string): string {
  if (!TaskStatus.options.includes(s as TaskStatus)) throw new Error(`unknown task status ${JSON.stringify(s)}`);
  return `'${s}'`;
}

export async function openPostgres(url: string, poolSize = 10): Promise<Store> {
  const sql: Sql = postgres(url, { max: poolSize, onnotice: () => {}, connect_timeout: 10, idle_timeout: 0 });
  try {
    await migrate(sql);
  } catch (err) {
    await sql.end({ timeout: 1 }).catch(() => {});
    throw new Error(`PostgreSQL at ${redactUrl(url)}: ${(err as Error).message}`);
  }

  // Each replica tags what it publishes so it does not act twice on its own events.
  const origin = crypto.randomUUID();
  const handlers: ((ev: StoreEvent) => void)[] = [];
  const listening = await sql.listen(CHANNEL, (payload) => {
    try {
      const { o, ...ev } = JSON.parse(payload);
      if (o !== origin) for (const h of handlers) h(ev as StoreEvent);
    } catch (err) {
      log("warn", "bad event from another replica", { error: (err as Error).message });
    }
  });

  // Routes a worker may claim from: codebases it owns, and "global" once it registered its home as "global".
  const ROUTES = (w: string) => sql`SELECT id AS route FROM codebases WHERE worker_id = ${w} UNION SELECT 'global' FROM codebases WHERE worker_id = ${w} AND name = 'global'`;
  const ELIGIBLE = (w: string) => sql`status = 'pending' AND route IN (${ROUTES(w)}) AND (target_worker_id IS NULL OR target_worker_id = ${w})`;
  const CLAIM_SET = (w: string, now: string, lease: string) =>
    sql`status = 'running', worker_id = ${w}, attempt = tasks.attempt + 1, lease_expires_at = ${lease},
        started_at = ${now}, updated_at = ${now}, cancel_requested = false`;

  const mutable = (t: TaskRow, cols: readonly string[]) => Object.fromEntries(cols.map((c) => [c, c === "metadata" ? sql.json((t.metadata ?? {}) as any) : ((t as any)[c] ?? null)]));
  const updateTask = (tx: Tx, t: TaskRow, cols: readonly string[] = TASK_MUTABLE) => tx`UPDATE tasks SET ${tx(mutable(t, cols), ...cols)} WHERE id = ${t.id}`;
  // Calls of a worker act only for the instance that holds it; no instance given, or none recorded: as before.
  const sameInstance = (i: string | null) => sql`(${i}::text IS NULL OR instance_id IS NULL OR instance_id = ${i})`;
  const decideAll = async (tx: Tx, rows: any[], decide: (t: TaskRow) => TaskRow): Promise<TaskChange[]> => {
    const changes = rows.map((raw) => {
      const before = toTaskRow(raw);
      return { before, after: decide(before) };
    });
    await Promise.all(changes.map((c) => updateTask(tx, c.after)));
    return changes;
  };
  const one = async <T>(q: Promise<any[]>, map: (r: any) => T): Promise<T | null> => {
    const [r] = await q;
    return r ? map(r) : null;
  };
  // Only the filters given become SQL, so the planner picks the index for that combination.
  const filterSql = (f: TaskFilter) => {
    const conds: postgres.PendingQuery<any>[] = [];
    // A literal, not a parameter: statuses are few and skewed (1 % pending), and the generic
    // plan PostgreSQL settles on for `status = $1` assumes a third of the table and scans it
    // all (77 ms at 100,000 tasks, bench P8). Only the known statuses get here.
    if (f.status) conds.push(sql`status = ${sql.unsafe(statusLiteral(f.status))}`);
    if (f.codebase_id) conds.push(sql`codebase_id = ${f.codebase_id}`);
    if (f.worker_id) conds.push(sql`worker_id = ${f.worker_id}`);
    if (f.id_prefix) {
      // Byte order ("C"), whatever the database's collation: the range is then exactly the prefix (index tasks_id_c).
      const { lo, hi } = prefixRange(f.id_prefix);
      conds.push(sql`id COLLATE "C" >= ${lo} AND id COLLATE "C" < ${hi}`);
    }
    return conds;
  };
  const whereSql = (conds: postgres.PendingQuery<any>[]) =>
    conds.length ? sql`WHERE ${conds.reduce((a, b) => sql`${a} AND ${b}`)}` : sql``;
  const begin = <T>(fn: (tx: Tx) => Promise<T>) => sql.begin(fn as any) as Promise<T>;

  const store: Store = {
    kind: "postgres",
    async close() {
      await listening.unlisten().catch(() => {});
      await sql.end({ timeout: 5 });
    },
    publish(ev) {
      sql.notify(CHANNEL, JSON.stringify({ o: origin, ...ev })).catch((err) => log("warn", "could not notify other replicas", { error: err.message }));
    },
    onEvent(fn) {
      handlers.push(fn);
    },

    async upsertWorker(w: WorkerInput, now: string, admit) {
      return begin(async (tx) => {
        // FOR UPDATE: two instances registering one worker id at once are decided one after the other.
        const previous = await one(tx`SELECT * FROM workers WHERE worker_id = ${w.worker_id} FOR UPDATE`, toWorkerRow);
        admit?.(previous);
        const [raw] = await tx`INSERT INTO workers (worker_id, name, capabilities, hostname, models, codebases, global_codebase_id, max_concurrent_tasks, version, owner,
            instance_id, instance_pid, instance_started_at, registered_at, last_seen)
          VALUES (${w.worker_id}, ${w.name}, ${sql.json(w.capabilities)}, ${w.hostname}, ${sql.json(w.models as any)}, ${sql.json(w.codebases)},
                  ${w.global_codebase_id}, ${w.max_concurrent_tasks}, ${w.version}, ${w.owner},
                  ${w.instance_id}, ${w.instance_pid}, ${w.instance_started_at}, ${now}, ${now})
          ON CONFLICT (worker_id) DO UPDATE SET name = excluded.name, capabilities = excluded.capabilities, hostname = excluded.hostname,
            models = excluded.models, codebases = excluded.codebases, global_codebase_id = excluded.global_codebase_id,
            max_concurrent_tasks = excluded.max_concurrent_tasks, version = excluded.version, owner = COALESCE(workers.owner, excluded.owner),
            instance_id = COALESCE(excluded.instance_id, workers.instance_id),
            instance_pid = CASE WHEN excluded.instance_id IS NULL THEN workers.instance_pid ELSE excluded.instance_pid END,
            instance_started_at = CASE WHEN excluded.instance_id IS NULL THEN workers.instance_started_at ELSE excluded.instance_started_at END,
            last_seen = excluded.last_seen, unregistered_at = NULL
          RETURNING *`;
        return { worker: toWorkerRow(raw!), previous };
      });
    },
    async getWorker(id) {
      return one(sql`SELECT * FROM workers WHERE worker_id = ${id}`, toWorkerRow);
    },
    async listWorkers() {
      return (await sql`SELECT * FROM workers ORDER BY registered_at, worker_id`).map(toWorkerRow);
    },
    async touchWorker(id, now, instanceId = null) {
      return (await sql`UPDATE workers SET last_seen = ${now} WHERE worker_id = ${id} AND unregistered_at IS NULL AND ${sameInstance(instanceId)}`).count > 0;
    },
    async unregisterWorker(id, now, release, instanceId = null) {
      return begin(async (tx) => {
        const worker = await one(tx`UPDATE workers SET unregistered_at = ${now} WHERE worker_id = ${id} AND ${sameInstance(instanceId)} RETURNING *`, toWorkerRow);
        if (!worker) return null;
        const running = await tx`SELECT * FROM tasks WHERE worker_id = ${id} AND status = 'running' FOR UPDATE`;
        return { worker, released: await decideAll(tx, running, release) };
      });
    },
    async workerCounts() {
      const out = new Map<string, WorkerCounts>();
      const get = (id: string) => out.get(id) ?? out.set(id, { codebases: 0, completed: 0, running: 0 }).get(id)!;
      const [cbs, tasks] = await Promise.all([
        sql`SELECT worker_id, COUNT(*)::int AS n FROM codebases GROUP BY worker_id`,
        sql`SELECT worker_id, (COUNT(*) FILTER (WHERE status = 'completed'))::int AS done, (COUNT(*) FILTER (WHERE status = 'running'))::int AS run
            FROM tasks WHERE worker_id IS NOT NULL AND status IN ('completed', 'running') GROUP BY worker_id`,
      ]);
      for (const r of cbs) get(r.worker_id).codebases = r.n;
      for (const r of tasks) Object.assign(get(r.worker_id), { completed: r.done, running: r.run });
      return out;
    },
    async countLiveWorkers() {
      const [r] = await sql`SELECT COUNT(*)::int AS n FROM workers WHERE unregistered_at IS NULL`;
      return r!.n;
    },

    async upsertCodebase(c: CodebaseInput, now: string, o: { rename?: boolean } = {}): Promise<CodebaseUpsert> {
      const cfg = c.agent_config ? sql.json(c.agent_config as any) : null;
      const rename = !!o.rename;
      // The old name comes from a self-join on the pre-statement snapshot; the WHERE skips
      // the update (no row returned) when it would rename without being asked to.
      const [raw] = await sql`INSERT INTO codebases AS cb (id, name, path, description, worker_id, agent_config, registered_at, updated_at)
        VALUES (${crypto.randomUUID()}, ${c.name}, ${c.path}, ${c.description}, ${c.worker_id}, ${cfg}, ${now}, ${now})
        ON CONFLICT (worker_id, path) DO UPDATE SET name = excluded.name, description = excluded.description,
          agent_config = COALESCE(excluded.agent_config, cb.agent_config), status = 'active', updated_at = excluded.updated_at
          WHERE ${rename} OR cb.name = excluded.name
        RETURNING cb.*, (xmax = 0) AS inserted,
          (SELECT old.name FROM codebases old WHERE old.id = cb.id) AS old_name`;
      if (!raw) {
        const existing = await one(sql`SELECT * FROM codebases WHERE worker_id = ${c.worker_id} AND path = ${c.path}`, toCodebaseRow);
        // Deleted between the two statements: register again from scratch.
        if (!existing) return store.upsertCodebase(c, now, o);
        return { ok: false, existing };
      }
      const created = !!raw.inserted;
      const renamedFrom = !created && raw.old_name !== c.name ? (raw.old_name as string) : null;
      return { ok: true, codebase: toCodebaseRow(raw), created, renamed_from: renamedFrom };
    },
    async codebasesAtPath(path) {
      return (await sql`SELECT * FROM codebases WHERE path = ${path} ORDER BY registered_at, id`).map(toCodebaseRow);
    },
    async renameCodebase(id, name, now) {
      return one(sql`UPDATE codebases SET name = ${name}, updated_at = ${now} WHERE id = ${id} RETURNING *`, toCodebaseRow);
    },
    async getCodebase(id) {
      return one(sql`SELECT * FROM codebases WHERE id = ${id}`, toCodebaseRow);
    },
    async listCodebases() {
      return (await sql`SELECT * FROM codebases ORDER BY registered_at, id`).map(toCodebaseRow);
    },
    async workerCodebases(workerId) {
      return (await sql`SELECT * FROM codebases WHERE worker_id = ${workerId} ORDER BY registered_at`).map(toCodebaseRow);
    },
    async deleteCodebase(id) {
      return (await sql`DELETE FROM codebases WHERE id = ${id}`).count > 0;
    },

    async insertTask(t) {
      const row: Record<string, unknown> = {};
      for (const c of TASK_COLUMNS) row[c] = c === "metadata" ? sql.json(t.metadata as any) : ((t as any)[c] ?? null);
      const [raw] = await sql`INSERT INTO tasks ${sql(row, ...TASK_COLUMNS)} RETURNING *`;
      return toTaskRow(raw!);
    },
    async getTask(id) {
      return one(sql`SELECT * FROM tasks WHERE id = ${id}`, toTaskRow);
    },
    async listTasks(page: TaskPageQuery) {
      const conds = filterSql(page);
      const c = page.cursor;
      if (c) {
        conds.push(page.order === "newest"
          ? sql`(created_at, seq) < (${c.created_at}, ${c.seq})`
          : sql`(priority < ${c.priority} OR (priority = ${c.priority} AND (created_at, seq) > (${c.created_at}, ${c.seq})))`);
      }
      const order = page.order === "newest" ? sql`created_at DESC, seq DESC` : sql`priority DESC, created_at, seq`;
      // One row more than asked: its presence is what says there is a next page.
      const rows = await sql`SELECT * FROM tasks ${whereSql(conds)} ORDER BY ${order} LIMIT ${page.limit + 1}`;
      const shown = rows.slice(0, page.limit);
      return { tasks: shown.map(toTaskRow), next: rows.length > page.limit ? keyOf(shown.at(-1)!) : null };
    },
    async countTasks(f, upTo) {
      const [r] = await sql`SELECT COUNT(*)::int AS n FROM (SELECT 1 FROM tasks ${whereSql(filterSql(f))} LIMIT ${upTo}) s`;
      return r!.n;
    },
    async queueDepths() {
      // One pass over the partial index of pending tasks (tasks_pending_route), grouped by its first column.
      return (await sql`SELECT route, COUNT(*)::int AS pending, MIN(created_at) AS oldest_created_at FROM tasks WHERE status = 'pending' GROUP BY route`)
        .map((r) => ({ route: r.route, pending: Number(r.pending), oldest_created_at: r.oldest_created_at }));
    },
    async activitySince(since) {
      return (await sql`SELECT status, created_at, started_at, completed_at FROM tasks
                        WHERE status = 'pending' OR created_at >= ${since} OR started_at >= ${since} OR completed_at >= ${since}`) as unknown as TaskTimes[];
    },
    async pendingFor(workerId, routes, limit) {
      const rows = await sql`SELECT * FROM tasks WHERE status = 'pending' AND route = ANY(${routes}::text[])
        AND (target_worker_id IS NULL OR target_worker_id = ${workerId}) ORDER BY priority DESC, created_at, seq LIMIT ${limit}`;
      return rows.map(toTaskRow);
    },
    async claim(w, taskId, now, lease): Promise<ClaimResult> {
      if (taskId === null) {
        // The head of each route (one probe of tasks_pending_route, locked rows skipped), then the
        // best head. A plain ORDER BY over `route IN (...)` would sort every pending task per claim.
        // Heads not taken are locked only until this statement's transaction ends.
        const [raw] = await sql`WITH pick AS (
            SELECT c.id FROM (${ROUTES(w)}) r CROSS JOIN LATERAL (
              SELECT id, priority, created_at, seq FROM tasks
              WHERE route = r.route AND status = 'pending' AND (target_worker_id IS NULL OR target_worker_id = ${w})
                AND agent_type <> 'register_codebase' -- claimed by id only, by a worker that has the path
              ORDER BY priority DESC, created_at, seq LIMIT 1 FOR UPDATE SKIP LOCKED) c
            ORDER BY c.priority DESC, c.created_at, c.seq LIMIT 1)
          UPDATE tasks SET ${CLAIM_SET(w, now, lease)} FROM pick WHERE tasks.id = pick.id RETURNING tasks.*`;
        return raw ? { ok: true, task: toTaskRow(raw) } : { ok: false, reason: "none" };
      }
      // A plain UPDATE waits for a concurrent claimer's row lock, then re-checks `pending`: one winner.
      const [raw] = await sql`UPDATE tasks SET ${CLAIM_SET(w, now, lease)} WHERE id = ${taskId} AND ${ELIGIBLE(w)} RETURNING *`;
      if (raw) return { ok: true, task: toTaskRow(raw) };
      const [exists] = await sql`SELECT 1 AS x FROM tasks WHERE id = ${taskId}`;
      return { ok: false, reason: exists ? "conflict" : "not_found" };
    },
    async mutateTask(id, decide) {
      return begin(async (tx) => {
        const before = await one(tx`SELECT * FROM tasks WHERE id = ${id} FOR UPDATE`, toTaskRow);
        if (!before) return null;
        const { next, value } = decide(before);
        if (next) await updateTask(tx, next, withMetadata(before, next));
        return { change: { before, after: next ?? before }, value };
      });
    },
    async sweepExpired(now, decide, limit) {
      return begin(async (tx) => {
        const rows = await tx`SELECT * FROM tasks WHERE status = 'running' AND lease_expires_at < ${now}
          ORDER BY lease_expires_at LIMIT ${limit} FOR UPDATE SKIP LOCKED`;
        return decideAll(tx, rows, decide);
      });
    },

    async appendOutput(a: AppendInput, check) {
      return begin(async (tx) => {
        const t = await one(tx`SELECT * FROM tasks WHERE id = ${a.task_id} FOR UPDATE`, toTaskRow);
        if (!t) return null;
        check(t);
        const attempt = a.attempt ?? t.attempt;
        const existing = new Set<number>();
        let first = a.seq;
        if (first === null) {
          const [r] = await tx`SELECT COALESCE(MAX(seq), -1) AS m FROM task_outputs WHERE task_id = ${t.id} AND attempt = ${attempt}`;
          first = Number(r!.m) + 1;
        } else if (a.lines.length) {
          const seen = await tx`SELECT seq FROM task_outputs WHERE task_id = ${t.id} AND attempt = ${attempt}
            AND seq >= ${first} AND seq < ${first + a.lines.length}`;
          for (const r of seen) existing.add(Number(r.seq));
        }
        const plan = planOutput(a.lines, first, existing, t.output_bytes, a.capBytes, t.output_truncated);
        const ns = plan.rows.map((_, i) => t.output_count + i + 1);
        const n = t.output_count + plan.rows.length;
        if (plan.rows.length) {
          await tx`INSERT INTO task_outputs (task_id, n, attempt, seq, line, ts)
            SELECT ${t.id}, u.n, ${attempt}, u.seq, u.line, ${a.timestamp}
            FROM unnest(${ns}::bigint[], ${plan.rows.map((r) => r.seq)}::bigint[], ${plan.rows.map((r) => r.line)}::text[]) AS u(n, seq, line)`;
        }
        if (plan.rows.length || plan.truncated !== t.output_truncated) {
          await tx`UPDATE tasks SET output_bytes = output_bytes + ${plan.bytes}, output_count = ${n}, output_truncated = ${plan.truncated} WHERE id = ${t.id}`;
        }
        const task = { ...t, output_bytes: t.output_bytes + plan.bytes, output_count: n, output_truncated: plan.truncated };
        return { task, stored: plan.rows.length, duplicates: plan.duplicates, dropped: plan.dropped, newlyTruncated: plan.truncated && !t.output_truncated };
      });
    },
    async readOutput(taskId, since, limit) {
      return (await sql`SELECT * FROM task_outputs WHERE task_id = ${taskId} AND n > ${since} ORDER BY n LIMIT ${limit}`).map(outputLine);
    },

    async upsertSessions(codebaseId: string, workerId: string | null, sessions: SessionRecord[], now: string) {
      await begin((tx) =>
        Promise.all(
          sessions.map((s) => {
            const c = sessionColumns(s);
            return tx`INSERT INTO sessions (id, codebase_id, worker_id, task_id, title, directory, project_id, created, updated, message_count, data, synced_at)
              VALUES (${c.id}, ${codebaseId}, ${workerId}, ${c.task_id}, ${c.title}, ${c.directory}, ${c.project_id}, ${c.created}, ${c.updated},
                      ${c.message_count}, ${sql.json(s as any)}, ${now})
              ON CONFLICT (id) DO UPDATE SET codebase_id = excluded.codebase_id, worker_id = excluded.worker_id,
                task_id = COALESCE(excluded.task_id, sessions.task_id), title = excluded.title, directory = excluded.directory,
                project_id = excluded.project_id, created = excluded.created, updated = excluded.updated,
                message_count = excluded.message_count, data = excluded.data, synced_at = excluded.synced_at`;
          }),
        ),
      );
      return sessions.length;
    },
    async listSessions(codebaseId) {
      const rows = await sql`SELECT s.*, COALESCE(s.task_id, (SELECT t.id FROM tasks t WHERE t.session_id = s.id ORDER BY t.created_at DESC LIMIT 1)) AS linked_task_id
        FROM sessions s WHERE s.codebase_id = ${codebaseId} ORDER BY COALESCE(s.updated, s.created, s.synced_at) DESC, s.id`;
      return rows.map(sessionOut);
    },
    async upsertMessages(codebaseId: string, sessionId: string, _workerId: string | null, messages: MessageRecord[], now: string) {
      await begin((tx) =>
        Promise.all(
          messages.map((m) => {
            const c = messageColumns(m);
            return tx`INSERT INTO messages (id, session_id, codebase_id, role, created, data, synced_at)
              VALUES (${c.id}, ${sessionId}, ${codebaseId}, ${c.role}, ${c.created}, ${sql.json(m as any)}, ${now})
              ON CONFLICT (id) DO UPDATE SET session_id = excluded.session_id, codebase_id = excluded.codebase_id, role = excluded.role,
                created = excluded.created, data = excluded.data, synced_at = excluded.synced_at`;
          }),
        ),
      );
      return messages.length;
    },
    async listMessages(codebaseId, sessionId) {
      const rows = await sql`SELECT * FROM messages WHERE session_id = ${sessionId} AND codebase_id = ${codebaseId} ORDER BY created, id`;
      if (!rows.length) {
        const [s] = await sql`SELECT 1 AS x FROM sessions WHERE id = ${sessionId} AND codebase_id = ${codebaseId}`;
        if (!s) return null;
      }
      return rows.map(messageOut);
    },
  };
  return store;
}

async function migrate(sql: Sql): Promise<void> {
  await sql.begin(async (tx) => {
    // Replicas starting together queue here; the first applies, the others then find nothing to do.
    await tx`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`;
    await tx`CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`;
    const done = new Set((await tx`SELECT version FROM schema_migrations`).map((r) => Number(r.version)));
    for (const m of MIGRATIONS) {
      if (done.has(m.version)) continue;
      await tx.unsafe(m.postgres).simple();
      await tx`INSERT INTO schema_migrations (version, name, applied_at) VALUES (${m.version}, ${m.name}, ${new Date().toISOString()})`;
    }
  });
}
