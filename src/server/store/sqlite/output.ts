// SQLite: task output lines, deduplicated by (task, attempt, seq) and capped per task
// (the plan is rows.ts's planOutput, shared with PostgreSQL).
import { appendResult, outputLine, planOutput, toTaskRow } from "../rows.ts";
import type { AppendInput, OutputStore } from "../types.ts";
import { getTaskRaw, type Raw, type Sqlite } from "./handle.ts";

export function sqliteOutput(h: Sqlite): OutputStore {
  const { q } = h;
  return {
    async appendOutput(a: AppendInput, check) {
      return h.write(() => {
        const raw = getTaskRaw(h, a.task_id);
        if (!raw) return null;
        const t = toTaskRow(raw);
        check(t);
        const attempt = a.attempt ?? t.attempt;
        const existing = new Set<number>();
        let first = a.seq;
        if (first === null) {
          first =
            (q("SELECT COALESCE(MAX(seq), -1) AS m FROM task_outputs WHERE task_id = $id AND attempt = $attempt").get({ id: t.id, attempt }) as Raw).m + 1;
        } else if (a.lines.length) {
          const seen = q("SELECT seq FROM task_outputs WHERE task_id = $id AND attempt = $attempt AND seq >= $lo AND seq < $hi").all({
            id: t.id,
            attempt,
            lo: first,
            hi: first + a.lines.length,
          }) as Raw[];
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
        return appendResult(t, plan, n);
      });
    },
    async readOutput(taskId, since, limit) {
      return (q("SELECT * FROM task_outputs WHERE task_id = $id AND n > $since ORDER BY n LIMIT $limit").all({ id: taskId, since, limit }) as Raw[]).map(
        outputLine,
      );
    },
    async putTaskDiff(taskId, diff, truncated, now) {
      await h.write(() =>
        q(`INSERT INTO task_diffs (task_id, diff, truncated, stored_at) VALUES ($id, $diff, $truncated, $now)
         ON CONFLICT (task_id) DO UPDATE SET diff = excluded.diff, truncated = excluded.truncated, stored_at = excluded.stored_at`).run({
          id: taskId,
          diff,
          truncated: truncated ? 1 : 0,
          now,
        }),
      );
    },
    async getTaskDiff(taskId) {
      const r = q("SELECT diff, truncated FROM task_diffs WHERE task_id = $id").get({ id: taskId }) as Raw | null;
      return r ? { diff: r.diff, truncated: !!r.truncated } : null;
    },
  };
}
