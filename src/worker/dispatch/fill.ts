// Claiming: every wake-up claims until the slots are full or nothing is eligible; a
// register_codebase task is claimed by id, only by a worker that has its path.
import { UnavailableError } from "../../client/index.ts";
import { errorMessage } from "../../util/errors.ts";
import { log } from "../../util/log.ts";
import type { WorkerContext } from "../context.ts";
import { busyCodebases } from "../isolation.ts";
import { checkCodebasePath, isReplaced } from "../registration.ts";
import { hasSlot, startClaimed, type DispatchState } from "./state.ts";

/**
 * One fill: the claims owed (state.ts `budget`), while a slot is free; a claim that finds
 * nothing ends it. Claims owed for announcements heard while full stay owed (up to the
 * slots): the task may still be waiting when a slot frees.
 */
export async function claimUntilFull(s: DispatchState): Promise<void> {
  while (!s.signal.aborted && s.budget > 0 && hasSlot(s)) {
    s.budget--;
    const wants = s.wants;
    const c = await s.ctx.api.claimNext(busyCodebases(s.ctx));
    s.ctx.contact();
    if (!c) {
      // Nothing now; but a task announced while this claim was on its way may have been
      // created after the server looked: then what is owed stays owed (claim again).
      if (s.wants !== wants) continue;
      s.budget = 0;
      break;
    }
    startClaimed(s, c);
  }
  if (s.budget === Infinity) s.budget = 0;
}

/** A fill that failed: the next wake-up (stream event, poll, a slot freed) tries again. */
export function claimFailed(ctx: WorkerContext, err: unknown): void {
  if (isReplaced(err)) ctx.replaced(err.message);
  else if (err instanceof UnavailableError) log("debug", `claim failed, server unavailable: ${errorMessage(err)}`);
  else log("warn", `claim failed: ${errorMessage(err)}`);
}

/**
 * Registration by path: only a worker that has the path claims it (by id; `{}`-claims skip
 * these). One that lacks it declines, so the server can fail the task once every active
 * worker has (servers without the decline route answer 404: nothing to do).
 */
export async function claimRegistration(s: DispatchState, t: { id: string; metadata?: { path?: unknown } }): Promise<void> {
  const { ctx } = s;
  const path = t.metadata?.path;
  if (typeof path !== "string") return;
  const why = whyCannotServe(ctx, path);
  if (why) {
    const body = { task_id: t.id, worker_id: ctx.workerId, reason: why };
    return void ctx.client
      .decline(ctx.workerId, body)
      .catch((err) => log("debug", `decline of task ${t.id} not delivered: ${errorMessage(err)}`, { task: t.id }));
  }
  if (!hasSlot(s)) return;
  try {
    const c = await ctx.client.claim(ctx.workerId, t.id);
    if (c) startClaimed(s, c);
  } catch (err) {
    if (isReplaced(err)) ctx.replaced(err.message);
    // otherwise the server is away: the task stays pending, and its next announcement is claimed
    else log("debug", `claim of registration task ${t.id} failed: ${errorMessage(err)}`, { task: t.id });
  }
}

/** null when the path is a directory here and inside allowed_paths; else why not ("does not exist"). */
function whyCannotServe(ctx: WorkerContext, path: string): string | null {
  try {
    checkCodebasePath("registration", path, ctx.config.allowed_paths);
    return null;
  } catch (err) {
    return errorMessage(err).replace(`codebase 'registration': path ${path} `, "").replace("codebase 'registration': ", "");
  }
}
