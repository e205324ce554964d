// The push stream (SSE): tasks announced as they are created, cancels of running tasks.
// Reconnects with backoff while the server has none (the poll loop claims meanwhile), and
// at once when the routing set changed on a server that cannot update an open stream.
import { readSse } from "../../client/sse.ts";
import { ROUTES, TASK_EVENT_NAMES } from "../../protocol/answers.ts";
import { backoffDelay, POLICIES, sleep } from "../../util/backoff.ts";
import { errorMessage } from "../../util/errors.ts";
import { log } from "../../util/log.ts";
import { isReplaced } from "../registration.ts";
import { claimRegistration } from "./fill.ts";
import { routingIds, want, type DispatchState } from "./state.ts";

export async function streamLoop(s: DispatchState): Promise<void> {
  const { ctx, signal } = s;
  for (let i = 0; !signal.aborted; ) {
    s.streamAbort = new AbortController();
    try {
      for await (const f of openStream(s)) {
        if (!s.streaming) log("info", "task stream connected", { server: ctx.client.base });
        s.streaming = true;
        i = 0;
        ctx.contact();
        onFrame(s, f.event, f.data);
      }
    } catch (err) {
      if (isReplaced(err)) {
        ctx.replaced(err.message);
        break;
      }
      if (!signal.aborted && !s.streamAbort.signal.aborted) {
        log(s.streaming ? "warn" : "debug", `task stream down, polling every ${ctx.config.poll_interval}s: ${errorMessage(err)}`);
      }
    }
    s.streaming = false;
    s.onStreamDown?.();
    if (signal.aborted) break;
    if (s.streamAbort.signal.aborted) continue; // reconnect at once with the new routing set
    if (!(await sleep(backoffDelay(POLICIES.reconnect, i++), signal))) break;
  }
}

function openStream(s: DispatchState) {
  const { ctx } = s;
  const url = `${ctx.client.base}${ROUTES.stream}?worker_id=${encodeURIComponent(ctx.workerId)}&agent_name=${encodeURIComponent(ctx.config.worker_name)}`;
  return readSse(url, {
    headers: { ...ctx.client.http.headers, "x-codebases": routingIds(ctx).join(","), "x-capabilities": ctx.config.capabilities.join(",") },
    signal: AbortSignal.any([s.signal, s.streamAbort.signal]),
    idleMs: Math.max(45_000, ctx.settings.heartbeat_interval_s * 3000),
  });
}

function onFrame(s: DispatchState, event: string, data: string): void {
  if (event === "connected") void want(s, Infinity);
  else if (TASK_EVENT_NAMES.includes(event)) onTaskEvent(s, data);
  else if (event === "task_cancel") {
    const id = parseJson(data)?.task_id;
    if (typeof id === "string") s.ctx.running.get(id)?.abort("cancel");
  }
}

function onTaskEvent(s: DispatchState, data: string): void {
  const t = parseJson(data);
  if (t?.agent_type === "register_codebase") return void claimRegistration(s, t);
  s.ctx.api.announced(t);
  void want(s, 1);
}

/** A frame's data, or null when it is not JSON (a claim then finds what the server has). */
function parseJson(data: string): any {
  try {
    return JSON.parse(data);
  } catch {
    log("debug", `task stream: frame data is not JSON: ${data.slice(0, 200)}`);
    return null;
  }
}
