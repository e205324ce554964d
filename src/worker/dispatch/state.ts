// What the dispatcher's loops share: one explicit object instead of a closure's captured state.
import type { ClaimResponse } from "../../protocol/index.ts";
import type { WorkerContext } from "../context.ts";

export interface DispatchState {
  readonly ctx: WorkerContext;
  /** Aborts when the worker stops claiming. */
  readonly signal: AbortSignal;
  /** Runs a claimed task (the worker's runner). */
  readonly start: (c: ClaimResponse) => void;
  /** Stop claiming after this many tasks (`--once`: 1). */
  readonly maxTasks: number | undefined;
  claimed: number;
  /** The push stream is connected. */
  streaming: boolean;
  /** Set while the poll loop sleeps until its next safety claim: the stream going down wakes it. */
  onStreamDown: (() => void) | null;
  /** Aborting it makes the stream loop reconnect at once (new routing headers). */
  streamAbort: AbortController;
  /** Claims until the slots are full or nothing is eligible; a call while it runs makes it run once more. */
  fill: () => Promise<void>;
}

/** A slot is free and `maxTasks` not reached. */
export function hasSlot(s: DispatchState): boolean {
  return (s.maxTasks === undefined || s.claimed < s.maxTasks) && s.ctx.running.size < s.ctx.config.max_concurrent_tasks;
}

export function startClaimed(s: DispatchState, c: ClaimResponse): void {
  s.claimed++;
  s.start(c);
}

/** What the stream routes to this worker: its codebases, its global codebase, and "global". */
export function routingIds(ctx: WorkerContext): string[] {
  return [...ctx.codebases.keys(), ...(ctx.globalCodebaseId ? [ctx.globalCodebaseId] : []), "global"];
}
