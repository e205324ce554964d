// PostgreSQL: creating tasks and reading them (lists, counts, dashboard views, a worker's
// pending set). Changes of state are in claims.ts.
import type postgres from "postgres";
import { TaskStatus } from "../../../protocol/index.ts";
import { TASK_COLUMNS, TASK_JSON_COLUMNS, toTaskRow } from "../rows.ts";
import { keyOf, prefixRange, type TaskFilter, type TaskPageQuery } from "../task-list.ts";
import type { TaskStore, TaskTimes } from "../types.ts";
import { one, type Sql } from "./handle.ts";

type Fragment = postgres.PendingQuery<any>;

function statusLiteral(s: string): string {
  if (!TaskStatus.options.includes(s as TaskStatus)) throw new Error(`unknown task status ${JSON.stringify(s)}`);
  return `'${s}'`;
}

// Only the filters given become SQL, so the planner picks the index for that combination.
function filterSql(sql: Sql, f: TaskFilter): Fragment[] {
  const conds: Fragment[] = [];
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
}
const whereSql = (sql: Sql, conds: Fragment[]) => (conds.length ? sql`WHERE ${conds.reduce((a, b) => sql`${a} AND ${b}`)}` : sql``);

export function pgTasks(sql: Sql): TaskStore {
  return {
    async insertTask(t) {
      const row: Record<string, unknown> = {};
      for (const c of TASK_COLUMNS)
        row[c] = TASK_JSON_COLUMNS.has(c) ? sql.json(((t as any)[c] ?? (c === "metadata" ? {} : [])) as any) : ((t as any)[c] ?? null);
      const [raw] = await sql`INSERT INTO tasks ${sql(row, ...TASK_COLUMNS)} RETURNING *`;
      return toTaskRow(raw!);
    },
    async getTask(id) {
      return one(sql`SELECT * FROM tasks WHERE id = ${id}`, toTaskRow);
    },
    async listTasks(page: TaskPageQuery) {
      const conds = filterSql(sql, page);
      const c = page.cursor;
      if (c) {
        conds.push(
          page.order === "newest"
            ? sql`(created_at, seq) < (${c.created_at}, ${c.seq})`
            : sql`(priority < ${c.priority} OR (priority = ${c.priority} AND (created_at, seq) > (${c.created_at}, ${c.seq})))`,
        );
      }
      const order = page.order === "newest" ? sql`created_at DESC, seq DESC` : sql`priority DESC, created_at, seq`;
      // One row more than asked: its presence is what says there is a next page.
      const rows = await sql`SELECT * FROM tasks ${whereSql(sql, conds)} ORDER BY ${order} LIMIT ${page.limit + 1}`;
      const shown = rows.slice(0, page.limit);
      return { tasks: shown.map(toTaskRow), next: rows.length > page.limit ? keyOf(shown.at(-1)!) : null };
    },
    async countTasks(f, upTo) {
      const [r] = await sql`SELECT COUNT(*)::int AS n FROM (SELECT 1 FROM tasks ${whereSql(sql, filterSql(sql, f))} LIMIT ${upTo}) s`;
      return r!.n;
    },
    async queueDepths() {
      // One pass over the partial index of pending tasks (tasks_pending_route), grouped by its first column.
      return (await sql`SELECT route, COUNT(*)::int AS pending, MIN(created_at) AS oldest_created_at FROM tasks WHERE status = 'pending' GROUP BY route`).map(
        (r) => ({ route: r.route, pending: Number(r.pending), oldest_created_at: r.oldest_created_at }),
      );
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
  };
}
