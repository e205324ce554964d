// How tasks reach the worker: the push stream (SSE) when the server has one (stream.ts),
// polling every poll_interval (with jitter) while it does not (poll.ts), and a wake-up
// whenever a slot frees. Every wake-up claims until the slots are full or nothing is
// eligible (fill.ts). The differences of a legacy server are behind ctx.api.
import type { ClaimResponse } from "../../protocol/index.ts";
import { coalesced } from "../../util/coalesce.ts";
import { errorMessage } from "../../util/errors.ts";
import { log } from "../../util/log.ts";
import type { FreedSlots, WorkerContext } from "../context.ts";
import { busyCodebases } from "../isolation.ts";
import { claimFailed, claimUntilFull } from "./fill.ts";
import { pollLoop } from "./poll.ts";
import { routingIds, startClaimed, want, type DispatchState } from "./state.ts";
import { streamLoop } from "./stream.ts";

export interface Dispatcher {
  /** A slot freed: one claim. */
  wake(): void;
  /** Resolves when the loops have stopped (after `signal` aborts). */
  done: Promise<void>;
  readonly streaming: boolean;
}

export function startDispatcher(ctx: WorkerContext, signal: AbortSignal, start: (c: ClaimResponse) => void, opts: { maxTasks?: number } = {}): Dispatcher {
  const s = dispatchState(ctx, signal, start, opts.maxTasks);
  ctx.routingChanged = () => routingChanged(s);
  ctx.slots = freedSlots(s);
  const done = Promise.all([streamLoop(s), pollLoop(s)]).then(() => undefined);
  return {
    wake: () => void want(s, 1),
    done,
    get streaming() {
      return s.streaming;
    },
  };
}

/** The loops' shared state, nothing claimed or owed yet; its fill claims what is owed (fill.ts). */
export function dispatchState(ctx: WorkerContext, signal: AbortSignal, start: (c: ClaimResponse) => void, maxTasks?: number): DispatchState {
  const s: DispatchState = {
    ctx,
    signal,
    start,
    maxTasks,
    claimed: 0,
    streaming: false,
    onStreamDown: null,
    streamAbort: new AbortController(),
    budget: 0,
    wants: 0,
    fill: coalesced(
      () => claimUntilFull(s),
      (err) => claimFailed(ctx, err),
    ),
  };
  return s;
}

/**
 * A finishing task's release asks for the next task (our server answers it in the same
 * request, issue 13), unless the worker is stopping or has claimed all it may. A task so
 * claimed starts at once; none to claim ends the claims owed, except those for tasks
 * announced after the server looked; no answer means claim as usual.
 */
function freedSlots(s: DispatchState): FreedSlots {
  return {
    ask(taskId) {
      if (s.signal.aborted || (s.maxTasks !== undefined && s.claimed >= s.maxTasks)) return null;
      const mine = s.ctx.running.get(taskId)?.occupies;
      return { busy: busyCodebases(s.ctx).filter((c) => c !== mine) };
    },
    freed(next) {
      if (next === undefined) return void want(s, 1);
      if (next === null) {
        if (s.budget > 0) void s.fill();
        return;
      }
      if (s.signal.aborted) return handBack(s, next);
      startClaimed(s, next);
    },
  };
}

/** A task claimed after the worker began to stop: back to pending at once, like any task a stopping worker releases. */
function handBack(s: DispatchState, c: ClaimResponse): void {
  const { ctx } = s;
  const attempt = typeof c.attempt === "number" ? c.attempt : null;
  ctx.api
    .report({ task_id: c.task_id, worker_id: ctx.workerId, attempt, status: null })
    .then(() => log("info", "task released: the worker is stopping", { task: c.task_id, attempt }))
    .catch((err) =>
      log("warn", `could not hand back task ${c.task_id}; the server requeues it when its lease expires: ${errorMessage(err)}`, { task: c.task_id }),
    );
}

/** Our server takes a routing update on the open stream; otherwise reconnect with new headers. */
function routingChanged(s: DispatchState): void {
  s.ctx.client.updateStreamCodebases(s.ctx.workerId, routingIds(s.ctx)).catch((err) => {
    log("debug", `stream routing update refused (${errorMessage(err)}); reconnecting`);
    s.streamAbort.abort();
  });
}
