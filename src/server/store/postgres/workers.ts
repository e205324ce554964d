// PostgreSQL: workers, and the process instance that holds each worker id (see ../../identity.ts).
import { WORKER_UPSERT_SET } from "../common-sql.ts";
import { countsByWorker, toWorkerRow } from "../rows.ts";
import type { WorkerInput, WorkerStore } from "../types.ts";
import { ALL, LISTS, toPage } from "../keyset.ts";
import { begin, decideAll, one, pageLimit, type Sql } from "./handle.ts";
import type { PgHooks } from "./outbox.ts";

export function pgWorkers(sql: Sql, hooks: PgHooks): WorkerStore {
  // Calls of a worker act only for the instance that holds it; no instance given, or none recorded: as before.
  const sameInstance = (i: string | null) => sql`(${i}::text IS NULL OR instance_id IS NULL OR instance_id = ${i})`;
  return {
    async upsertWorker(w: WorkerInput, now: string, admit) {
      return begin(sql, async (tx) => {
        // FOR UPDATE: two instances registering one worker id at once are decided one after the other.
        const previous = await one(tx`SELECT * FROM workers WHERE worker_id = ${w.worker_id} FOR UPDATE`, toWorkerRow);
        admit?.(previous);
        const [raw] =
          await tx`INSERT INTO workers (worker_id, name, capabilities, hostname, models, codebases, global_codebase_id, max_concurrent_tasks, version, owner,
            instance_id, instance_pid, instance_started_at, registered_at, last_seen)
          VALUES (${w.worker_id}, ${w.name}, ${sql.json(w.capabilities)}, ${w.hostname}, ${sql.json(w.models as any)}, ${sql.json(w.codebases)},
                  ${w.global_codebase_id}, ${w.max_concurrent_tasks}, ${w.version}, ${w.owner},
                  ${w.instance_id}, ${w.instance_pid}, ${w.instance_started_at}, ${now}, ${now})
          ON CONFLICT (worker_id) DO UPDATE SET ${sql.unsafe(WORKER_UPSERT_SET)}
          RETURNING *`;
        return { worker: toWorkerRow(raw!), previous };
      });
    },
    async getWorker(id) {
      return one(sql`SELECT * FROM workers WHERE worker_id = ${id}`, toWorkerRow);
    },
    async listWorkers(page = ALL) {
      const k = page.after;
      const after = k ? sql`WHERE (registered_at, worker_id) > (${k[0]!}, ${k[1]!})` : sql``;
      const raws = await sql`SELECT * FROM workers ${after} ORDER BY registered_at, worker_id ${pageLimit(sql, page)}`;
      return toPage(raws, page, LISTS.workers.keyOf, toWorkerRow);
    },
    async touchWorker(id, now, instanceId = null) {
      return (await sql`UPDATE workers SET last_seen = ${now} WHERE worker_id = ${id} AND unregistered_at IS NULL AND ${sameInstance(instanceId)}`).count > 0;
    },
    async unregisterWorker(id, now, release, instanceId = null) {
      return begin(sql, async (tx) => {
        const worker = await one(
          tx`UPDATE workers SET unregistered_at = ${now} WHERE worker_id = ${id} AND ${sameInstance(instanceId)} RETURNING *`,
          toWorkerRow,
        );
        if (!worker) return null;
        const running = await tx`SELECT * FROM tasks WHERE worker_id = ${id} AND status = 'running' FOR UPDATE`;
        return { worker, released: await decideAll(tx, running, release, hooks) };
      });
    },
    async workerCounts() {
      const [cbs, tasks] = await Promise.all([
        sql`SELECT worker_id, COUNT(*)::int AS n FROM codebases GROUP BY worker_id`,
        sql`SELECT worker_id, tasks_completed AS done,
              (SELECT COUNT(*)::int FROM tasks WHERE tasks.worker_id = workers.worker_id AND status = 'running') AS run FROM workers`,
      ]);
      return countsByWorker(cbs, tasks);
    },
    async routeOwners(route, seenSince, limit) {
      const owners = route === "global" ? sql`SELECT worker_id FROM codebases WHERE name = 'global'` : sql`SELECT worker_id FROM codebases WHERE id = ${route}`;
      const rows = await sql`SELECT * FROM workers WHERE worker_id IN (${owners}) AND unregistered_at IS NULL AND last_seen >= ${seenSince} LIMIT ${limit}`;
      return rows.map(toWorkerRow);
    },
    async countLiveWorkers() {
      const [r] = await sql`SELECT COUNT(*)::int AS n FROM workers WHERE unregistered_at IS NULL`;
      return r!.n;
    },
  };
}
