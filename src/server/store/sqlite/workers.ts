// SQLite: workers, and the process instance that holds each worker id (see ../../identity.ts).
import { WORKER_UPSERT_SET } from "../common-sql.ts";
import { countsByWorker, toWorkerRow } from "../rows.ts";
import type { WorkerInput, WorkerStore } from "../types.ts";
import { ALL, LISTS, toPage } from "../keyset.ts";
import { decideAll, pageParams, type Raw, type Sqlite } from "./handle.ts";

// Calls of a worker act only for the instance that holds it; no instance given, or none recorded: as before.
const SAME_INSTANCE = `($i IS NULL OR instance_id IS NULL OR instance_id = $i)`;

export function sqliteWorkers(h: Sqlite): WorkerStore {
  const { q } = h;
  const workerRaw = (id: string) => q("SELECT * FROM workers WHERE worker_id = $id").get({ id }) as Raw | null;
  return {
    async upsertWorker(w: WorkerInput, now: string, admit) {
      return h.write(() => {
        const prevRaw = workerRaw(w.worker_id);
        admit?.(prevRaw ? toWorkerRow(prevRaw) : null);
        q(`INSERT INTO workers (worker_id, name, capabilities, hostname, models, codebases, global_codebase_id, max_concurrent_tasks, version, owner,
             instance_id, instance_pid, instance_started_at, registered_at, last_seen)
           VALUES ($worker_id, $name, $capabilities, $hostname, $models, $codebases, $global_codebase_id, $max_concurrent_tasks, $version, $owner,
             $instance_id, $instance_pid, $instance_started_at, $now, $now)
           ON CONFLICT (worker_id) DO UPDATE SET ${WORKER_UPSERT_SET}`).run({
          ...w,
          capabilities: JSON.stringify(w.capabilities),
          models: JSON.stringify(w.models),
          codebases: JSON.stringify(w.codebases),
          now,
        });
        return { worker: toWorkerRow(workerRaw(w.worker_id)!), previous: prevRaw ? toWorkerRow(prevRaw) : null };
      });
    },
    async getWorker(id) {
      const raw = workerRaw(id);
      return raw ? toWorkerRow(raw) : null;
    },
    async listWorkers(page = ALL) {
      const { params, limit } = pageParams(page);
      const after = page.after ? "WHERE (registered_at, worker_id) > ($k0, $k1)" : "";
      const raws = q(`SELECT * FROM workers ${after} ORDER BY registered_at, worker_id ${limit}`).all(params) as Raw[];
      return toPage(raws, page, LISTS.workers.keyOf, toWorkerRow);
    },
    async touchWorker(id, now, instanceId = null) {
      return h.write(
        () =>
          q(`UPDATE workers SET last_seen = $now WHERE worker_id = $id AND unregistered_at IS NULL AND ${SAME_INSTANCE}`).run({ id, now, i: instanceId })
            .changes > 0,
      );
    },
    async unregisterWorker(id, now, release, instanceId = null) {
      return h.write(() => {
        if (q(`UPDATE workers SET unregistered_at = $now WHERE worker_id = $id AND ${SAME_INSTANCE}`).run({ id, now, i: instanceId }).changes === 0)
          return null;
        const worker = toWorkerRow(workerRaw(id)!);
        const running = q("SELECT * FROM tasks WHERE worker_id = $id AND status = 'running'").all({ id }) as Raw[];
        return { worker, released: decideAll(h, running, release) };
      });
    },
    async workerCounts() {
      return countsByWorker(
        q("SELECT worker_id, COUNT(*) AS n FROM codebases GROUP BY worker_id").all() as Raw[],
        q(`SELECT worker_id, tasks_completed AS done,
             (SELECT COUNT(*) FROM tasks WHERE tasks.worker_id = workers.worker_id AND status = 'running') AS run FROM workers`).all() as Raw[],
      );
    },
    async routeOwners(route, seenSince, limit) {
      const owners = route === "global" ? "SELECT worker_id FROM codebases WHERE name = 'global'" : "SELECT worker_id FROM codebases WHERE id = $route";
      return (
        q(`SELECT * FROM workers WHERE worker_id IN (${owners}) AND unregistered_at IS NULL AND last_seen >= $since LIMIT $limit`).all({
          ...(route === "global" ? {} : { route }),
          since: seenSince,
          limit,
        }) as Raw[]
      ).map(toWorkerRow);
    },
    async countLiveWorkers() {
      return (q("SELECT COUNT(*) AS n FROM workers WHERE unregistered_at IS NULL").get() as Raw).n;
    },
  };
}
