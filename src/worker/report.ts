// Delivers spooled final reports: retried with backoff while the server is away, removed
// from the spool once the server has answered (accepted, stale or unknown task).
import { ApiError } from "../client/index.ts";
import { backoffDelay, POLICIES, sleep } from "../util/backoff.ts";
import { log } from "../util/log.ts";
import type { WorkerContext } from "./context.ts";
import { pendingReports, removeReport, type Report } from "./spool.ts";

/** Resolves once the server answered; returns false if `signal` stopped it first (report stays spooled). */
export async function deliverReport(ctx: WorkerContext, path: string, r: Report, signal?: AbortSignal): Promise<boolean> {
  for (let i = 0; ; i++) {
    try {
      await ctx.api.report(r);
      ctx.contact();
      removeReport(path);
      return true;
    } catch (err) {
      if (err instanceof ApiError) {
        ctx.contact();
        removeReport(path);
        const what = err.status === 409 ? "rejected as stale (another attempt holds the task)" : `refused: ${err.message}`;
        log("warn", `report for task ${r.task_id} ${what}`, { task: r.task_id, attempt: r.attempt });
        return true;
      }
      if (i === 0) log("warn", `server unreachable; report for task ${r.task_id} spooled, retrying`, { task: r.task_id });
      if (!(await sleep(backoffDelay(POLICIES.report, i), signal))) return false;
    }
  }
}

/** Reports left by an earlier run of this worker (e.g. killed before delivery). */
export async function deliverSpool(ctx: WorkerContext, signal?: AbortSignal): Promise<void> {
  for (const { path, report } of pendingReports(ctx.spoolDir)) {
    if (ctx.running.has(report.task_id)) continue; // this run's own report, already being delivered
    log("info", "delivering spooled report", { task: report.task_id, attempt: report.attempt, status: report.status });
    if (!(await deliverReport(ctx, path, report, signal))) return;
  }
}
