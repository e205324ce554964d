// Delivers spooled final reports: retried with backoff while the server is away, removed
// from the spool once the server has answered (accepted, stale or unknown task).
import { ApiError } from "../client/index.ts";
import type { ClaimResponse } from "../protocol/index.ts";
import { backoffDelay, POLICIES, sleep } from "../util/backoff.ts";
import { log } from "../util/log.ts";
import type { WorkerContext } from "./context.ts";
import { pendingReports, removeReport, type Report } from "./spool.ts";

export interface Delivery {
  /** false: `signal` stopped it first (the report stays spooled). */
  delivered: boolean;
  /** The next task claimed in the same request (see WorkerApi.report), null: none; absent: not asked or not answered. */
  next?: ClaimResponse | null;
}

/** Resolves once the server answered. `next`: also ask for this worker's next task (WorkerApi.report). */
export async function deliverReport(ctx: WorkerContext, path: string, r: Report, signal?: AbortSignal, next?: { busy: string[] }): Promise<Delivery> {
  for (let i = 0; ; i++) {
    try {
      const claimed = await ctx.api.report(r, next);
      ctx.contact();
      removeReport(path);
      return { delivered: true, next: claimed };
    } catch (err) {
      if (err instanceof ApiError) {
        ctx.contact();
        removeReport(path);
        const what = err.status === 409 ? "rejected as stale (another attempt holds the task)" : `refused: ${err.message}`;
        log("warn", `report for task ${r.task_id} ${what}`, { task: r.task_id, attempt: r.attempt });
        return { delivered: true };
      }
      if (i === 0) log("warn", `server unreachable; report for task ${r.task_id} spooled, retrying`, { task: r.task_id });
      if (!(await sleep(backoffDelay(POLICIES.report, i), signal))) return { delivered: false };
    }
  }
}

/** Reports left by an earlier run of this worker (e.g. killed before delivery). */
export async function deliverSpool(ctx: WorkerContext, signal?: AbortSignal): Promise<void> {
  for (const { path, report } of pendingReports(ctx.spoolDir)) {
    if (ctx.running.has(report.task_id)) continue; // this run's own report, already being delivered
    log("info", "delivering spooled report", { task: report.task_id, attempt: report.attempt, status: report.status });
    if (!(await deliverReport(ctx, path, report, signal)).delivered) return;
  }
}
