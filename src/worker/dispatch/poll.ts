// Polling: every poll_interval (with jitter) while the stream is down, and now and then
// while it is up, in case an event was missed. While the stream is up the loop sleeps until
// that safety claim is due (woken at once if the stream goes down) instead of waking every
// poll_interval for nothing: an idle worker's CPU is mostly its wake-ups (README, P3).
import { jitter, sleep } from "../../util/backoff.ts";
import { errorMessage } from "../../util/errors.ts";
import { log } from "../../util/log.ts";
import { want, type DispatchState } from "./state.ts";

/** With a live stream we still claim now and then, in case an event was missed. */
const SAFETY_POLL_MS = 30_000;

export async function pollLoop(s: DispatchState): Promise<void> {
  const { ctx } = s;
  let lastFill = Date.now();
  while (!s.signal.aborted) {
    const due = lastFill + SAFETY_POLL_MS - Date.now();
    if (s.streaming && due > 0) {
      await napWhileStreaming(s, due);
      continue; // stopped, the stream went down (poll from now on), or the safety claim is due
    }
    if (!s.streaming && !(await sleep(jitter(ctx.config.poll_interval * 1000), s.signal))) break;
    if (s.streaming && Date.now() - lastFill < SAFETY_POLL_MS) continue;
    lastFill = Date.now();
    if (ctx.running.size < ctx.config.max_concurrent_tasks) {
      try {
        const mine = new Set([...ctx.codebases.keys(), ctx.globalCodebaseId, "global"]);
        await ctx.api.poll((id) => !id || mine.has(id));
      } catch (err) {
        // The server is away or refused the list: nothing to claim this round, the next poll asks again.
        log("debug", `poll failed: ${errorMessage(err)}`);
        continue;
      }
    }
    await want(s, Infinity);
  }
}

/** Sleeps `ms`, or less: until the worker stops claiming or the stream goes down. */
async function napWhileStreaming(s: DispatchState, ms: number): Promise<void> {
  const nap = new AbortController();
  const wake = () => nap.abort();
  s.signal.addEventListener("abort", wake, { once: true });
  s.onStreamDown = wake;
  try {
    await sleep(ms, nap.signal);
  } finally {
    s.signal.removeEventListener("abort", wake);
    if (s.onStreamDown === wake) s.onStreamDown = null;
  }
}
