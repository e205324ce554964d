// PostgreSQL: retention, in small batches (one short transaction each) so no lock is held
// for long; autovacuum reuses the space.
import type { RetentionStore } from "../types.ts";
import { begin, type Sql } from "./handle.ts";

export function pgRetention(sql: Sql): RetentionStore {
  return {
    async pruneOutputBatch(before, maxLines, now) {
      return begin(sql, async (tx) => {
        const [t] = await tx`SELECT id FROM tasks WHERE output_count > 0 AND completed_at IS NOT NULL AND completed_at < ${before}
                             ORDER BY completed_at LIMIT 1 FOR UPDATE SKIP LOCKED`;
        if (!t) return { lines: 0, tasks: 0 };
        const del =
          await tx`DELETE FROM task_outputs WHERE task_id = ${t.id} AND n IN (SELECT n FROM task_outputs WHERE task_id = ${t.id} ORDER BY n LIMIT ${maxLines})`;
        const [left] = await tx`SELECT 1 FROM task_outputs WHERE task_id = ${t.id} LIMIT 1`;
        if (left) return { lines: del.count, tasks: 0 };
        await tx`UPDATE tasks SET output_count = 0, output_bytes = 0,
                 metadata = COALESCE(metadata, '{}'::jsonb) || jsonb_build_object('output_pruned_at', ${now}::text) WHERE id = ${t.id}`;
        return { lines: del.count, tasks: 1 };
      });
    },
    async pruneTasksBatch(before, max) {
      return begin(sql, async (tx) => {
        const rows =
          await tx`SELECT id FROM tasks WHERE completed_at IS NOT NULL AND completed_at < ${before} ORDER BY completed_at LIMIT ${max} FOR UPDATE SKIP LOCKED`;
        const ids = rows.map((r) => r.id as string);
        if (!ids.length) return 0;
        await tx`DELETE FROM task_outputs WHERE task_id IN ${tx(ids)}`;
        await tx`DELETE FROM task_diffs WHERE task_id IN ${tx(ids)}`;
        await tx`DELETE FROM tasks WHERE id IN ${tx(ids)}`;
        return ids.length;
      });
    },
    async prunable(outputBefore, tasksBefore) {
      const [o] = await sql`SELECT count(*) AS tasks, COALESCE(sum(output_count), 0) AS lines FROM tasks
                            WHERE output_count > 0 AND completed_at IS NOT NULL AND completed_at < ${outputBefore}`;
      const [t] = await sql`SELECT count(*) AS n FROM tasks WHERE completed_at IS NOT NULL AND completed_at < ${tasksBefore}`;
      return { output_tasks: Number(o!.tasks), output_lines: Number(o!.lines), tasks: Number(t!.n) };
    },
    async reclaimSpace() {
      // autovacuum makes the space of deleted rows reusable; nothing to do by hand.
    },
  };
}
