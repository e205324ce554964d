// Polling: every poll_interval (with jitter) while the stream is down, and now and then
// while it is up, in case an event was missed.
import { jitter, sleep } from "../../util/backoff.ts";
import { errorMessage } from "../../util/errors.ts";
import { log } from "../../util/log.ts";
import { want, type DispatchState } from "./state.ts";

/** With a live stream we still claim now and then, in case an event was missed. */
const SAFETY_POLL_MS = 30_000;

export async function pollLoop(s: DispatchState): Promise<void> {
  const { ctx } = s;
  let lastFill = Date.now();
  while (await sleep(jitter(ctx.config.poll_interval * 1000), s.signal)) {
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
