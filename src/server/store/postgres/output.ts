// PostgreSQL: task output lines, deduplicated by (task, attempt, seq) and capped per task
// (the plan is rows.ts's planOutput, shared with SQLite). A batch goes in as one INSERT.
import { appendResult, outputLine, planOutput, toTaskRow } from "../rows.ts";
import type { AppendInput, OutputStore } from "../types.ts";
import { begin, one, type Sql } from "./handle.ts";

export function pgOutput(sql: Sql): OutputStore {
  return {
    async appendOutput(a: AppendInput, check) {
      return begin(sql, async (tx) => {
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
        return appendResult(t, plan, n);
      });
    },
    async readOutput(taskId, since, limit) {
      return (await sql`SELECT * FROM task_outputs WHERE task_id = ${taskId} AND n > ${since} ORDER BY n LIMIT ${limit}`).map(outputLine);
    },
    async putTaskDiff(taskId, diff, truncated, now) {
      await sql`INSERT INTO task_diffs (task_id, diff, truncated, stored_at) VALUES (${taskId}, ${diff}, ${truncated}, ${now})
        ON CONFLICT (task_id) DO UPDATE SET diff = excluded.diff, truncated = excluded.truncated, stored_at = excluded.stored_at`;
    },
    async getTaskDiff(taskId) {
      return one(sql`SELECT diff, truncated FROM task_diffs WHERE task_id = ${taskId}`, (r) => ({ diff: r.diff as string, truncated: !!r.truncated }));
    },
  };
}
