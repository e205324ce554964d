// SQLite: retention. Output lines of tasks finished before a cutoff go in small batches
// (one short write transaction each), then the tasks themselves after a longer cutoff;
// freed pages go back to the file system (incremental vacuum, on databases created with it).
import type { RetentionStore } from "../types.ts";
import type { Raw, Sqlite } from "./handle.ts";

export function sqliteRetention(h: Sqlite): RetentionStore {
  const { q } = h;
  return {
    async pruneOutputBatch(before, maxLines, now) {
      return h.write(() => {
        const t = q("SELECT id FROM tasks WHERE output_count > 0 AND completed_at IS NOT NULL AND completed_at < $before ORDER BY completed_at LIMIT 1").get({
          before,
        }) as Raw | null;
        if (!t) return { lines: 0, tasks: 0 };
        const lines = q("DELETE FROM task_outputs WHERE task_id = $id AND n IN (SELECT n FROM task_outputs WHERE task_id = $id ORDER BY n LIMIT $max)").run({
          id: t.id,
          max: maxLines,
        }).changes;
        if (q("SELECT 1 FROM task_outputs WHERE task_id = $id LIMIT 1").get({ id: t.id })) return { lines, tasks: 0 };
        q("UPDATE tasks SET output_count = 0, output_bytes = 0, metadata = json_set(COALESCE(metadata, '{}'), '$.output_pruned_at', $now) WHERE id = $id").run({
          id: t.id,
          now,
        });
        return { lines, tasks: 1 };
      });
    },
    async pruneTasksBatch(before, max) {
      return h.write(() => {
        const ids = (
          q("SELECT id FROM tasks WHERE completed_at IS NOT NULL AND completed_at < $before ORDER BY completed_at LIMIT $max").all({ before, max }) as Raw[]
        ).map((r) => r.id as string);
        for (const id of ids) {
          q("DELETE FROM task_outputs WHERE task_id = $id").run({ id });
          q("DELETE FROM task_diffs WHERE task_id = $id").run({ id });
          q("DELETE FROM tasks WHERE id = $id").run({ id });
        }
        return ids.length;
      });
    },
    async prunable(outputBefore, tasksBefore) {
      const o = q(
        "SELECT count(*) AS tasks, COALESCE(sum(output_count), 0) AS lines FROM tasks WHERE output_count > 0 AND completed_at IS NOT NULL AND completed_at < $before",
      ).get({ before: outputBefore }) as Raw;
      const t = q("SELECT count(*) AS n FROM tasks WHERE completed_at IS NOT NULL AND completed_at < $before").get({ before: tasksBefore }) as Raw;
      return { output_tasks: Number(o.tasks), output_lines: Number(o.lines), tasks: Number(t.n) };
    },
    async reclaimSpace() {
      // Only a database created with auto_vacuum = INCREMENTAL can hand pages back without a full VACUUM.
      if ((q("PRAGMA auto_vacuum").get() as Raw).auto_vacuum === 2) h.db.exec("PRAGMA incremental_vacuum");
    },
  };
}
