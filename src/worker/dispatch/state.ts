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
  /**
   * Claims owed: one per announced task and per freed slot, Infinity after a (re)connect or
   * a poll tick (claim until the slots are full). A claim that finds nothing clears it. Not
   * claiming more than there is reason to is what keeps claims near one per task (issue 13).
   */
  budget: number;
  /** Counts want() calls: a claim that found nothing clears only what was owed when it began. */
  wants: number;
  /** Runs the claims owed (fill.ts); a call while it runs makes it run once more. */
  fill: () => Promise<void>;
}

/** Owes `n` more claims (Infinity: until the slots are full) and runs them. */
export function want(s: DispatchState, n: number): Promise<void> {
  s.wants++;
  s.budget = Math.min(s.budget + n, n === Infinity ? Infinity : Math.max(1, s.ctx.config.max_concurrent_tasks));
  return s.fill();
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
