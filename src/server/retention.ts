// Retention: output lines of tasks finished more than `retention_days` ago, and the tasks
// themselves after `task_retention_days` (0: keep forever). Deleted a little at a time, one
// short transaction per batch with a pause between, so claims and reports never wait
// behind it; run by the server every hour and by `codetether server prune`.
import { errorMessage } from "../util/errors.ts";
import { log } from "../util/log.ts";
import type { Store } from "./store/types.ts";

export interface RetentionSettings {
  /** Output of tasks finished longer ago than this is deleted; 0 keeps it. */
  outputDays: number;
  /** Tasks finished longer ago than this are deleted; 0 keeps them. */
  taskDays: number;
}

export interface PruneResult {
  output_tasks: number;
  output_lines: number;
  tasks: number;
}

const DAY = 86_400_000;
/** Output lines per transaction: a few milliseconds of work. */
const LINE_BATCH = 2_000;
const TASK_BATCH = 200;

/** The cutoffs as ISO times; a day count of 0 gives "" (nothing is older than that). */
export function cutoffs(s: RetentionSettings, now = Date.now()): { output: string; tasks: string } {
  const at = (days: number) => (days > 0 ? new Date(now - days * DAY).toISOString() : "");
  return { output: at(s.outputDays), tasks: at(s.taskDays) };
}

/** What a prune would delete now. */
export async function prunable(store: Store, s: RetentionSettings, now = Date.now()): Promise<PruneResult> {
  const c = cutoffs(s, now);
  return store.prunable(c.output, c.tasks);
}

/** Deletes what is past retention, batch by batch; `signal` stops it between batches. */
export async function prune(store: Store, s: RetentionSettings, o: { pauseMs?: number; signal?: AbortSignal; now?: number } = {}): Promise<PruneResult> {
  const c = cutoffs(s, o.now);
  const res: PruneResult = { output_tasks: 0, output_lines: 0, tasks: 0 };
  const pause = () => (o.pauseMs ? Bun.sleep(o.pauseMs) : Promise.resolve());
  if (c.output) {
    while (!o.signal?.aborted) {
      const b = await store.pruneOutputBatch(c.output, LINE_BATCH, new Date().toISOString());
      if (!b.lines && !b.tasks) break;
      res.output_lines += b.lines;
      res.output_tasks += b.tasks;
      await pause();
    }
  }
  if (c.tasks) {
    while (!o.signal?.aborted) {
      const n = await store.pruneTasksBatch(c.tasks, TASK_BATCH);
      if (!n) break;
      res.tasks += n;
      await pause();
    }
  }
  if (res.output_lines || res.tasks) await store.reclaimSpace();
  return res;
}

/** The server's hourly run (first one a minute after start); stop() waits for a run in progress. */
export function startRetention(store: Store, s: RetentionSettings, everyMs = 3_600_000, firstMs = 60_000): { stop(): Promise<void> } {
  const ac = new AbortController();
  let running: Promise<void> = Promise.resolve();
  const run = () => {
    running = (async () => {
      try {
        const r = await prune(store, s, { pauseMs: 20, signal: ac.signal });
        if (r.output_lines || r.tasks) log("info", "retention pruned", { ...r });
      } catch (err) {
        log("warn", "retention failed; next hour again", { error: errorMessage(err) });
      }
    })();
  };
  const first = setTimeout(run, firstMs);
  const every = setInterval(run, everyMs);
  first.unref?.();
  every.unref?.();
  return {
    async stop() {
      ac.abort();
      clearTimeout(first);
      clearInterval(every);
      await running;
    },
  };
}
