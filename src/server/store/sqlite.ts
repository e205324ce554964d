// SQLite store (`bun:sqlite`): the embedded default. WAL so readers never wait for the
// writer, busy_timeout so a second process on the same file waits instead of failing,
// every write that decides something in one `BEGIN IMMEDIATE` transaction (the write lock
// is taken before the read, so two claimers can never both see a task as pending).
// `db.query()` caches prepared statements: each SQL text below is compiled once.
import { Database } from "bun:sqlite";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type { MessageRecord, SessionRecord } from "../../protocol/index.ts";
import { MIGRATIONS } from "./migrations.ts";
import {
  messageColumns, messageOut, outputLine, planOutput, sessionColumns, sessionOut, TASK_COLUMNS, TASK_MUTABLE,
  toCodebaseRow, toTaskRow, toWorkerRow, withMetadata,
} from "./rows.ts";
import { keyOf, prefixRange, type TaskFilter, type TaskPageQuery } from "./task-list.ts";
import type { AppendInput, ClaimResult, CodebaseInput, CodebaseUpsert, Store, TaskChange, TaskRow, TaskTimes, WorkerCounts, WorkerInput } from "./types.ts";

type P = Record<string, string | number | boolean | null>;

const taskParams = (t: TaskRow, cols: readonly string[]): P => {
  const p: P = {};
  for (const c of cols) {
    const v = (t as any)[c];
    p[c] = c === "metadata" ? JSON.stringify(v ?? {}) : typeof v === "boolean" ? (v ? 1 : 0) : (v ?? null);
  }
  return p;
};

// A worker may claim tasks routed to a codebase it owns, or to "global" when it registered
// a codebase named "global" (its home directory), unless the task targets another worker.
const ROUTES = `SELECT id AS route FROM codebases WHERE worker_id = $w UNION SELECT 'global' FROM codebases WHERE worker_id = $w AND name = 'global'`;
const ELIGIBLE = `status = 'pending' AND route IN (${ROUTES}) AND (target_worker_id IS NULL OR target_worker_id = $w)`;
// register_codebase tasks are claimed by id only, by a worker that has the path (it sees
// them on its stream): a {}-claim handing them to workers without the path would burn attempts.
// The best eligible task: the head of each of the worker's routes (one index probe each on
// tasks_pending_route), then the best of those heads. Cost grows with the worker's
// codebases, not with other workers' backlogs.
const BEST = `SELECT t.id FROM (${ROUTES}) r
  JOIN tasks t ON t.id = (SELECT id FROM tasks WHERE route = r.route AND status = 'pending' AND (target_worker_id IS NULL OR target_worker_id = $w)
                          AND agent_type <> 'register_codebase'
                          ORDER BY priority DESC, created_at, seq LIMIT 1)
  ORDER BY t.priority DESC, t.created_at, t.seq LIMIT 1`;
const CLAIM_SET = `status = 'running', worker_id = $w, attempt = attempt + 1, lease_expires_at = $lease,
  started_at = $now, updated_at = $now, cancel_requested = 0`;

// Only the filters given become SQL, so each combination is its own cached statement whose
// plan uses the index for it ("$x IS NULL OR col = $x" would leave SQLite one plan for all).
function filterSql(f: TaskFilter): { conds: string[]; params: P } {
  const conds: string[] = [];
  const params: P = {};
  if (f.status) conds.push("status = $status"), (params.status = f.status);
  if (f.codebase_id) conds.push("codebase_id = $cb"), (params.cb = f.codebase_id);
  if (f.worker_id) conds.push("worker_id = $w"), (params.w = f.worker_id);
  if (f.id_prefix) conds.push("id >= $lo AND id < $hi"), Object.assign(params, prefixRange(f.id_prefix));
  return { conds, params };
}
const whereSql = (conds: string[]) => (conds.length ? `WHERE ${conds.join(" AND ")}` : "");
// A registration without an instance id (legacy worker) keeps the recorded instance.
const KEEP_INSTANCE = `instance_id = COALESCE(excluded.instance_id, workers.instance_id),
  instance_pid = CASE WHEN excluded.instance_id IS NULL THEN workers.instance_pid ELSE excluded.instance_pid END,
  instance_started_at = CASE WHEN excluded.instance_id IS NULL THEN workers.instance_started_at ELSE excluded.instance_started_at END`;
// Calls of a worker act only for the instance that holds it; no instance given, or none recorded: as before.
const SAME_INSTANCE = `($i IS NULL OR instance_id IS NULL OR instance_id = $i)`;

export function openSqlite(path: string): Store {
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path, { create: true, strict: true });
  db.exec("PRAGMA busy_timeout = 5000");
  if (path !== ":memory:") db.exec("PRAGMA journal_mode = WAL");
  db.exec("PRAGMA synchronous = NORMAL");
  migrate(db);

  const q = (sql: string) => db.query(sql);
  const getTaskRaw = (id: string) => q("SELECT * FROM tasks WHERE id = $id").get({ id }) as Record<string, any> | null;
  const updateTask = (t: TaskRow, cols: readonly string[] = TASK_MUTABLE) =>
    q(`UPDATE tasks SET ${cols.map((c) => `${c} = $${c}`).join(", ")} WHERE id = $id`).run({ ...taskParams(t, cols), id: t.id });

  const decideAll = (rows: Record<string, any>[], decide: (t: TaskRow) => TaskRow): TaskChange[] =>
    rows.map((raw) => {
      const before = toTaskRow(raw);
      const after = decide(before);
      updateTask(after);
      return { before, after };
    });

  const store: Store = {
    kind: "sqlite",
    async close() {
      db.close();
    },
    publish() {},
    onEvent() {},

    async upsertWorker(w: WorkerInput, now: string, admit) {
      return db.transaction(() => {
        const prevRaw = q("SELECT * FROM workers WHERE worker_id = $id").get({ id: w.worker_id });
        admit?.(prevRaw ? toWorkerRow(prevRaw as any) : null);
        q(`INSERT INTO workers (worker_id, name, capabilities, hostname, models, codebases, global_codebase_id, max_concurrent_tasks, version, owner,
             instance_id, instance_pid, instance_started_at, registered_at, last_seen)
           VALUES ($worker_id, $name, $capabilities, $hostname, $models, $codebases, $global_codebase_id, $max_concurrent_tasks, $version, $owner,
             $instance_id, $instance_pid, $instance_started_at, $now, $now)
           ON CONFLICT (worker_id) DO UPDATE SET name = excluded.name, capabilities = excluded.capabilities, hostname = excluded.hostname,
             models = excluded.models, codebases = excluded.codebases, global_codebase_id = excluded.global_codebase_id,
             max_concurrent_tasks = excluded.max_concurrent_tasks, version = excluded.version, owner = COALESCE(workers.owner, excluded.owner),
             ${KEEP_INSTANCE}, last_seen = excluded.last_seen, unregistered_at = NULL`).run({
          ...w,
          capabilities: JSON.stringify(w.capabilities),
          models: JSON.stringify(w.models),
          codebases: JSON.stringify(w.codebases),
          now,
        });
        const raw = q("SELECT * FROM workers WHERE worker_id = $id").get({ id: w.worker_id });
        return { worker: toWorkerRow(raw as any), previous: prevRaw ? toWorkerRow(prevRaw as any) : null };
      }).immediate();
    },
    async getWorker(id) {
      const raw = q("SELECT * FROM workers WHERE worker_id = $id").get({ id });
      return raw ? toWorkerRow(raw as any) : null;
    },
    async listWorkers() {
      return (q("SELECT * FROM workers ORDER BY registered_at, worker_id").all() as any[]).map(toWorkerRow);
    },
    async touchWorker(id, now, instanceId = null) {
      return q(`UPDATE workers SET last_seen = $now WHERE worker_id = $id AND unregistered_at IS NULL AND ${SAME_INSTANCE}`).run({ id, now, i: instanceId }).changes > 0;
    },
    async unregisterWorker(id, now, release, instanceId = null) {
      return db.transaction(() => {
        if (q(`UPDATE workers SET unregistered_at = $now WHERE worker_id = $id AND ${SAME_INSTANCE}`).run({ id, now, i: instanceId }).changes === 0) return null;
        const worker = toWorkerRow(q("SELECT * FROM workers WHERE worker_id = $id").get({ id }) as any);
        const running = q("SELECT * FROM tasks WHERE worker_id = $id AND status = 'running'").all({ id }) as any[];
        return { worker, released: decideAll(running, release) };
      }).immediate();
    },
    async workerCounts() {
      const out = new Map<string, WorkerCounts>();
      const get = (id: string) => out.get(id) ?? out.set(id, { codebases: 0, completed: 0, running: 0 }).get(id)!;
      for (const r of q("SELECT worker_id, COUNT(*) AS n FROM codebases GROUP BY worker_id").all() as any[]) get(r.worker_id).codebases = r.n;
      for (const r of q(`SELECT worker_id, SUM(status = 'completed') AS done, SUM(status = 'running') AS run FROM tasks
                         WHERE worker_id IS NOT NULL AND status IN ('completed', 'running') GROUP BY worker_id`).all() as any[]) {
        const c = get(r.worker_id);
        c.completed = Number(r.done);
        c.running = Number(r.run);
      }
      return out;
    },
    async countLiveWorkers() {
      return (q("SELECT COUNT(*) AS n FROM workers WHERE unregistered_at IS NULL").get() as any).n;
    },

    async upsertCodebase(c: CodebaseInput, now: string, o: { rename?: boolean } = {}) {
      return db.transaction((): CodebaseUpsert => {
        const found = q("SELECT * FROM codebases WHERE worker_id = $w AND path = $path").get({ w: c.worker_id, path: c.path }) as any;
        if (found && found.name !== c.name && !o.rename) return { ok: false, existing: toCodebaseRow(found) };
        const p = { name: c.name, description: c.description, agent_config: c.agent_config ? JSON.stringify(c.agent_config) : null, now };
        let id: string;
        if (found) {
          id = found.id;
          q(`UPDATE codebases SET name = $name, description = $description, agent_config = COALESCE($agent_config, agent_config),
             status = 'active', updated_at = $now WHERE id = $id`).run({ ...p, id });
        } else {
          id = crypto.randomUUID();
          q(`INSERT INTO codebases (id, name, path, description, worker_id, agent_config, registered_at, updated_at)
             VALUES ($id, $name, $path, $description, $w, $agent_config, $now, $now)`).run({ ...p, id, path: c.path, w: c.worker_id });
        }
        const codebase = toCodebaseRow(q("SELECT * FROM codebases WHERE id = $id").get({ id }) as any);
        return { ok: true, codebase, created: !found, renamed_from: found && found.name !== c.name ? found.name : null };
      }).immediate();
    },
    async codebasesAtPath(path) {
      return (q("SELECT * FROM codebases WHERE path = $path ORDER BY registered_at, id").all({ path }) as any[]).map(toCodebaseRow);
    },
    async renameCodebase(id, name, now) {
      const raw = q("UPDATE codebases SET name = $name, updated_at = $now WHERE id = $id RETURNING *").get({ id, name, now });
      return raw ? toCodebaseRow(raw as any) : null;
    },
    async getCodebase(id) {
      const raw = q("SELECT * FROM codebases WHERE id = $id").get({ id });
      return raw ? toCodebaseRow(raw as any) : null;
    },
    async listCodebases() {
      return (q("SELECT * FROM codebases ORDER BY registered_at, id").all() as any[]).map(toCodebaseRow);
    },
    async workerCodebases(workerId) {
      return (q("SELECT * FROM codebases WHERE worker_id = $w ORDER BY registered_at").all({ w: workerId }) as any[]).map(toCodebaseRow);
    },
    async deleteCodebase(id) {
      return q("DELETE FROM codebases WHERE id = $id").run({ id }).changes > 0;
    },

    async insertTask(t) {
      q(`INSERT INTO tasks (${TASK_COLUMNS.join(", ")}) VALUES (${TASK_COLUMNS.map((c) => `$${c}`).join(", ")})`).run(taskParams(t, TASK_COLUMNS));
      return toTaskRow(getTaskRaw(t.id)!);
    },
    async getTask(id) {
      const raw = getTaskRaw(id);
      return raw ? toTaskRow(raw) : null;
    },
    async listTasks(page: TaskPageQuery) {
      const { conds, params } = filterSql(page);
      if (page.cursor) {
        Object.assign(params, { cp: page.cursor.priority, cc: page.cursor.created_at, cs: page.cursor.seq });
        conds.push(page.order === "newest" ? "(created_at, seq) < ($cc, $cs)" : "(priority < $cp OR (priority = $cp AND (created_at, seq) > ($cc, $cs)))");
      }
      const order = page.order === "newest" ? "created_at DESC, seq DESC" : "priority DESC, created_at, seq";
      // One row more than asked: its presence is what says there is a next page.
      const rows = q(`SELECT * FROM tasks ${whereSql(conds)} ORDER BY ${order} LIMIT $limit`).all({ ...params, limit: page.limit + 1 }) as any[];
      const shown = rows.slice(0, page.limit);
      return { tasks: shown.map(toTaskRow), next: rows.length > page.limit ? keyOf(shown.at(-1)!) : null };
    },
    async countTasks(f, upTo) {
      const { conds, params } = filterSql(f);
      return (q(`SELECT COUNT(*) AS n FROM (SELECT 1 FROM tasks ${whereSql(conds)} LIMIT $upTo)`).get({ ...params, upTo }) as any).n;
    },
    async queueDepths() {
      // One pass over the partial index of pending tasks (tasks_pending_route), grouped by its first column.
      return (q("SELECT route, COUNT(*) AS pending, MIN(created_at) AS oldest_created_at FROM tasks WHERE status = 'pending' GROUP BY route").all() as any[])
        .map((r) => ({ route: r.route, pending: Number(r.pending), oldest_created_at: r.oldest_created_at }));
    },
    async activitySince(since) {
      return q(`SELECT status, created_at, started_at, completed_at FROM tasks
                WHERE status = 'pending' OR created_at >= $since OR started_at >= $since OR completed_at >= $since`).all({ since }) as TaskTimes[];
    },
    async pendingFor(workerId, routes, limit) {
      const rows = q(`SELECT * FROM tasks WHERE status = 'pending' AND route IN (SELECT value FROM json_each($routes))
                      AND (target_worker_id IS NULL OR target_worker_id = $w) ORDER BY priority DESC, created_at, seq LIMIT $limit`).all({
        routes: JSON.stringify(routes),
        w: workerId,
        limit,
      }) as any[];
      return rows.map(toTaskRow);
    },
    async claim(workerId, taskId, now, leaseUntil): Promise<ClaimResult> {
      return db.transaction((): ClaimResult => {
        const p = { w: workerId, now, lease: leaseUntil };
        if (taskId === null) {
          const raw = q(`UPDATE tasks SET ${CLAIM_SET} WHERE id = (${BEST}) RETURNING *`).get(p);
          return raw ? { ok: true, task: toTaskRow(raw as any) } : { ok: false, reason: "none" };
        }
        const raw = q(`UPDATE tasks SET ${CLAIM_SET} WHERE id = $id AND ${ELIGIBLE} RETURNING *`).get({ ...p, id: taskId });
        if (raw) return { ok: true, task: toTaskRow(raw as any) };
        return { ok: false, reason: q("SELECT 1 FROM tasks WHERE id = $id").get({ id: taskId }) ? "conflict" : "not_found" };
      }).immediate();
    },
    async mutateTask(id, decide) {
      return db.transaction(() => {
        const raw = getTaskRaw(id);
        if (!raw) return null;
        const before = toTaskRow(raw);
        const { next, value } = decide(before);
        if (next) updateTask(next, withMetadata(before, next));
        return { change: { before, after: next ?? before }, value };
      }).immediate();
    },
    async sweepExpired(now, decide, limit) {
      return db.transaction(() => {
        const rows = q("SELECT * FROM tasks WHERE status = 'running' AND lease_expires_at < $now ORDER BY lease_expires_at LIMIT $limit").all({ now, limit }) as any[];
        return decideAll(rows, decide);
      }).immediate();
    },

    async appendOutput(a: AppendInput, check) {
      return db.transaction(() => {
        const raw = getTaskRaw(a.task_id);
        if (!raw) return null;
        const t = toTaskRow(raw);
        check(t);
        const attempt = a.attempt ?? t.attempt;
        const existing = new Set<number>();
        let first = a.seq;
        if (first === null) {
          first = (q("SELECT COALESCE(MAX(seq), -1) AS m FROM task_outputs WHERE task_id = $id AND attempt = $attempt").get({ id: t.id, attempt }) as any).m + 1;
        } else if (a.lines.length) {
          const seen = q("SELECT seq FROM task_outputs WHERE task_id = $id AND attempt = $attempt AND seq >= $lo AND seq < $hi").all({
            id: t.id,
            attempt,
            lo: first,
            hi: first + a.lines.length,
          }) as any[];
          for (const r of seen) existing.add(r.seq);
        }
        const plan = planOutput(a.lines, first!, existing, t.output_bytes, a.capBytes, t.output_truncated);
        let n = t.output_count;
        const ins = q("INSERT INTO task_outputs (task_id, n, attempt, seq, line, ts) VALUES ($id, $n, $attempt, $seq, $line, $ts)");
        for (const r of plan.rows) ins.run({ id: t.id, n: ++n, attempt, seq: r.seq, line: r.line, ts: a.timestamp });
        if (plan.rows.length || plan.truncated !== t.output_truncated) {
          q("UPDATE tasks SET output_bytes = output_bytes + $b, output_count = $n, output_truncated = $tr WHERE id = $id").run({
            id: t.id,
            b: plan.bytes,
            n,
            tr: plan.truncated ? 1 : 0,
          });
        }
        const task = { ...t, output_bytes: t.output_bytes + plan.bytes, output_count: n, output_truncated: plan.truncated };
        return { task, stored: plan.rows.length, duplicates: plan.duplicates, dropped: plan.dropped, newlyTruncated: plan.truncated && !t.output_truncated };
      }).immediate();
    },
    async readOutput(taskId, since, limit) {
      return (q("SELECT * FROM task_outputs WHERE task_id = $id AND n > $since ORDER BY n LIMIT $limit").all({ id: taskId, since, limit }) as any[]).map(outputLine);
    },

    async upsertSessions(codebaseId: string, workerId: string | null, sessions: SessionRecord[], now: string) {
      const up = q(`INSERT INTO sessions (id, codebase_id, worker_id, task_id, title, directory, project_id, created, updated, message_count, data, synced_at)
        VALUES ($id, $cb, $w, $task_id, $title, $directory, $project_id, $created, $updated, $message_count, $data, $now)
        ON CONFLICT (id) DO UPDATE SET codebase_id = excluded.codebase_id, worker_id = excluded.worker_id,
          task_id = COALESCE(excluded.task_id, sessions.task_id), title = excluded.title, directory = excluded.directory,
          project_id = excluded.project_id, created = excluded.created, updated = excluded.updated,
          message_count = excluded.message_count, data = excluded.data, synced_at = excluded.synced_at`);
      db.transaction(() => {
        for (const s of sessions) up.run({ ...sessionColumns(s), cb: codebaseId, w: workerId, now });
      }).immediate();
      return sessions.length;
    },
    async listSessions(codebaseId) {
      const rows = q(`SELECT s.*, COALESCE(s.task_id, (SELECT t.id FROM tasks t WHERE t.session_id = s.id ORDER BY t.created_at DESC LIMIT 1)) AS linked_task_id
                      FROM sessions s WHERE s.codebase_id = $cb ORDER BY COALESCE(s.updated, s.created, s.synced_at) DESC, s.id`).all({ cb: codebaseId }) as any[];
      return rows.map(sessionOut);
    },
    async upsertMessages(codebaseId: string, sessionId: string, workerId: string | null, messages: MessageRecord[], now: string) {
      const up = q(`INSERT INTO messages (id, session_id, codebase_id, role, created, data, synced_at)
        VALUES ($id, $sid, $cb, $role, $created, $data, $now)
        ON CONFLICT (id) DO UPDATE SET session_id = excluded.session_id, codebase_id = excluded.codebase_id, role = excluded.role,
          created = excluded.created, data = excluded.data, synced_at = excluded.synced_at`);
      void workerId; // messages belong to the session; the session row records the worker
      db.transaction(() => {
        for (const m of messages) up.run({ ...messageColumns(m), sid: sessionId, cb: codebaseId, now });
      }).immediate();
      return messages.length;
    },
    async listMessages(codebaseId, sessionId) {
      const rows = q("SELECT * FROM messages WHERE session_id = $sid AND codebase_id = $cb ORDER BY created, id").all({ sid: sessionId, cb: codebaseId }) as any[];
      if (!rows.length && !q("SELECT 1 FROM sessions WHERE id = $sid AND codebase_id = $cb").get({ sid: sessionId, cb: codebaseId })) return null;
      return rows.map(messageOut);
    },
  };
  return store;
}

function migrate(db: Database): void {
  db.transaction(() => {
    db.exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)");
    const done = new Set((db.query("SELECT version FROM schema_migrations").all() as { version: number }[]).map((r) => r.version));
    for (const m of MIGRATIONS) {
      if (done.has(m.version)) continue;
      db.exec(m.sqlite);
      db.query("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($v, $n, $t)").run({ v: m.version, n: m.name, t: new Date().toISOString() });
    }
  }).immediate();
}
