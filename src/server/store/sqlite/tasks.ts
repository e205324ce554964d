// SQLite: creating tasks and reading them (lists, counts, dashboard views, a worker's
// pending set). Changes of state are in claims.ts.
import { TASK_COLUMNS, toTaskRow } from "../rows.ts";
import { keyOf, prefixRange, type TaskFilter, type TaskPageQuery } from "../task-list.ts";
import type { TaskStore, TaskTimes } from "../types.ts";
import { getTaskRaw, taskParams, type P, type Raw, type Sqlite } from "./handle.ts";

const INSERT = `INSERT INTO tasks (${TASK_COLUMNS.join(", ")}) VALUES (${TASK_COLUMNS.map((c) => `$${c}`).join(", ")})`;

// Only the filters given become SQL, so each combination is its own cached statement whose
// plan uses the index for it ("$x IS NULL OR col = $x" would leave SQLite one plan for all).
function filterSql(f: TaskFilter): { conds: string[]; params: P } {
  const conds: string[] = [];
  const params: P = {};
  const add = (cond: string, p: P) => {
    conds.push(cond);
    Object.assign(params, p);
  };
  if (f.status) add("status = $status", { status: f.status });
  if (f.codebase_id) add("codebase_id = $cb", { cb: f.codebase_id });
  if (f.worker_id) add("worker_id = $w", { w: f.worker_id });
  if (f.id_prefix) add("id >= $lo AND id < $hi", prefixRange(f.id_prefix));
  return { conds, params };
}
const whereSql = (conds: string[]) => (conds.length ? `WHERE ${conds.join(" AND ")}` : "");

export function sqliteTasks(h: Sqlite): TaskStore {
  const { q } = h;
  return {
    async insertTask(t) {
      return h.write(() => {
        q(INSERT).run(taskParams(t, TASK_COLUMNS));
        return toTaskRow(getTaskRaw(h, t.id)!);
      });
    },
    async getTask(id) {
      const raw = getTaskRaw(h, id);
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
      const rows = q(`SELECT * FROM tasks ${whereSql(conds)} ORDER BY ${order} LIMIT $limit`).all({ ...params, limit: page.limit + 1 }) as Raw[];
      const shown = rows.slice(0, page.limit);
      return { tasks: shown.map(toTaskRow), next: rows.length > page.limit ? keyOf(shown.at(-1)!) : null };
    },
    async countTasks(f, upTo) {
      const { conds, params } = filterSql(f);
      return (q(`SELECT COUNT(*) AS n FROM (SELECT 1 FROM tasks ${whereSql(conds)} LIMIT $upTo)`).get({ ...params, upTo }) as Raw).n;
    },
    async queueDepths() {
      // One pass over the partial index of pending tasks (tasks_pending_route), grouped by its first column.
      return (
        q("SELECT route, COUNT(*) AS pending, MIN(created_at) AS oldest_created_at FROM tasks WHERE status = 'pending' GROUP BY route").all() as Raw[]
      ).map((r) => ({ route: r.route, pending: Number(r.pending), oldest_created_at: r.oldest_created_at }));
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
      }) as Raw[];
      return rows.map(toTaskRow);
    },
  };
}
