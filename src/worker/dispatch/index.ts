// How tasks reach the worker: the push stream (SSE) when the server has one (stream.ts),
// polling every poll_interval (with jitter) while it does not (poll.ts), and a wake-up
// whenever a slot frees. Every wake-up claims until the slots are full or nothing is
// eligible (fill.ts). The differences of a legacy server are behind ctx.api.
import type { ClaimResponse } from "../../protocol/index.ts";
import { coalesced } from "../../util/coalesce.ts";
import { errorMessage } from "../../util/errors.ts";
import { log } from "../../util/log.ts";
import type { WorkerContext } from "../context.ts";
import { claimFailed, claimUntilFull } from "./fill.ts";
import { pollLoop } from "./poll.ts";
import { routingIds, type DispatchState } from "./state.ts";
import { streamLoop } from "./stream.ts";

export interface Dispatcher {
  wake(): void;
  /** Resolves when the loops have stopped (after `signal` aborts). */
  done: Promise<void>;
  readonly streaming: boolean;
}

export function startDispatcher(ctx: WorkerContext, signal: AbortSignal, start: (c: ClaimResponse) => void, opts: { maxTasks?: number } = {}): Dispatcher {
  const s: DispatchState = {
    ctx,
    signal,
    start,
    maxTasks: opts.maxTasks,
    claimed: 0,
    streaming: false,
    onStreamDown: null,
    streamAbort: new AbortController(),
    fill: coalesced(
      () => claimUntilFull(s),
      (err) => claimFailed(ctx, err),
    ),
  };
  ctx.routingChanged = () => routingChanged(s);
  const done = Promise.all([streamLoop(s), pollLoop(s)]).then(() => undefined);
  return {
    wake: () => void s.fill(),
    done,
    get streaming() {
      return s.streaming;
    },
  };
}

/** Our server takes a routing update on the open stream; otherwise reconnect with new headers. */
function routingChanged(s: DispatchState): void {
  s.ctx.client.updateStreamCodebases(s.ctx.workerId, routingIds(s.ctx)).catch((err) => {
    log("debug", `stream routing update refused (${errorMessage(err)}); reconnecting`);
    s.streamAbort.abort();
  });
}
