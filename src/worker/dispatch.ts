// How tasks reach the worker: the push stream (SSE) when the server has one, polling
// every poll_interval (with jitter) while it does not, and a wake-up whenever a slot
// frees. Every wake-up claims until the slots are full or nothing is eligible.
import { ApiError, UnavailableError } from "../client/index.ts";
import { readSse } from "../client/sse.ts";
import { TASK_EVENT_NAMES, routes, type ClaimResponse } from "../protocol/index.ts";
import { backoffDelay, jitter, POLICIES, sleep } from "../util/backoff.ts";
import { errorMessage } from "../util/errors.ts";
import { log } from "../util/log.ts";
import type { WorkerContext } from "./context.ts";
import { checkCodebasePath, isReplaced } from "./registration.ts";

/** With a live stream we still claim now and then, in case an event was missed. */
const SAFETY_POLL_MS = 30_000;

/** null when the path is a directory here and inside allowed_paths; else why not ("does not exist"). */
function whyCannotServe(ctx: WorkerContext, path: string): string | null {
  try {
    checkCodebasePath("registration", path, ctx.config.allowed_paths);
    return null;
  } catch (err) {
    return (err as Error).message.replace(`codebase 'registration': path ${path} `, "").replace("codebase 'registration': ", "");
  }
}

/** What the stream routes to this worker: its codebases, its global codebase, and "global". */
function routingIds(ctx: WorkerContext): string[] {
  return [...ctx.codebases.keys(), ...(ctx.globalCodebaseId ? [ctx.globalCodebaseId] : []), "global"];
}

export interface Dispatcher {
  wake(): void;
  /** Resolves when the loops have stopped (after `signal` aborts). */
  done: Promise<void>;
  readonly streaming: boolean;
}

export function startDispatcher(ctx: WorkerContext, signal: AbortSignal, start: (c: ClaimResponse) => void, opts: { maxTasks?: number } = {}): Dispatcher {
  let streaming = false;
  let filling = false;
  let again = false;
  let claimed = 0;
  let streamAbort = new AbortController();
  const max = () => ctx.config.max_concurrent_tasks;
  const exhausted = () => opts.maxTasks !== undefined && claimed >= opts.maxTasks;

  async function fill() {
    if (filling) {
      again = true;
      return;
    }
    filling = true;
    try {
      do {
        again = false;
        while (!signal.aborted && !exhausted() && ctx.running.size < max()) {
          const c = await ctx.api.claimNext();
          ctx.contact();
          if (!c) break;
          claimed++;
          start(c);
        }
      } while (again && !signal.aborted);
    } catch (err) {
      if (isReplaced(err)) ctx.replaced(err.message);
      else if (!(err instanceof UnavailableError)) log("warn", `claim failed: ${(err as Error).message}`);
    } finally {
      filling = false;
    }
  }

  function onTaskEvent(data: string) {
    let t: any = null;
    try {
      t = JSON.parse(data);
    } catch {}
    if (t?.agent_type === "register_codebase") return void claimRegistration(t);
    ctx.api.announced(t);
    void fill();
  }

  /**
   * Registration by path: only a worker that has the path claims it (by id; `{}`-claims skip
   * these). One that lacks it declines, so the server can fail the task once every active
   * worker has (servers without the decline route answer 404: nothing to do).
   */
  async function claimRegistration(t: { id: string; metadata?: { path?: unknown } }) {
    const path = t.metadata?.path;
    if (typeof path !== "string") return;
    const why = whyCannotServe(ctx, path);
    if (why) return void ctx.client.decline(ctx.workerId, { task_id: t.id, worker_id: ctx.workerId, reason: why }).catch(() => {});
    if (exhausted() || ctx.running.size >= max()) return;
    try {
      const c = await ctx.client.claim(ctx.workerId, t.id);
      if (c) {
        claimed++;
        start(c);
      }
    } catch (err) {
      if (isReplaced(err)) ctx.replaced(err.message);
    }
  }

  async function streamLoop() {
    for (let i = 0; !signal.aborted; ) {
      streamAbort = new AbortController();
      const s = AbortSignal.any([signal, streamAbort.signal]);
      const ids = routingIds(ctx);
      const url = `${ctx.client.base}${routes.stream}?worker_id=${encodeURIComponent(ctx.workerId)}&agent_name=${encodeURIComponent(ctx.config.worker_name)}`;
      try {
        const frames = readSse(url, {
          headers: { ...ctx.client.http.headers, "x-codebases": ids.join(","), "x-capabilities": ctx.config.capabilities.join(",") },
          signal: s,
          idleMs: Math.max(45_000, ctx.settings.heartbeat_interval_s * 3000),
        });
        for await (const f of frames) {
          if (!streaming) log("info", "task stream connected", { server: ctx.client.base });
          streaming = true;
          i = 0;
          ctx.contact();
          if (f.event === "connected") void fill();
          else if (TASK_EVENT_NAMES.includes(f.event)) onTaskEvent(f.data);
          else if (f.event === "task_cancel") {
            try {
              const id = JSON.parse(f.data).task_id;
              ctx.running.get(id)?.abort("cancel");
            } catch {}
          }
        }
      } catch (err) {
        if (isReplaced(err)) {
          ctx.replaced(err.message);
          break;
        }
        if (!signal.aborted && !streamAbort.signal.aborted) {
          const msg = err instanceof ApiError ? err.message : (err as Error).message;
          log(streaming ? "warn" : "debug", `task stream down, polling every ${ctx.config.poll_interval}s: ${msg}`);
        }
      }
      streaming = false;
      if (signal.aborted) break;
      if (streamAbort.signal.aborted) continue; // reconnect at once with the new routing set
      if (!(await sleep(backoffDelay(POLICIES.reconnect, i++), signal))) break;
    }
  }

  async function pollLoop() {
    let lastFill = Date.now();
    while (await sleep(jitter(ctx.config.poll_interval * 1000), signal)) {
      if (streaming && Date.now() - lastFill < SAFETY_POLL_MS) continue;
      lastFill = Date.now();
      if (ctx.running.size < max()) {
        try {
          const mine = new Set([...ctx.codebases.keys(), ctx.globalCodebaseId, "global"]);
          await ctx.api.poll((id) => !id || mine.has(id));
        } catch (err) {
          // The server is away or refused the list: nothing to claim this round, the next poll asks again.
          log("debug", `poll failed: ${errorMessage(err)}`);
          continue;
        }
      }
      await fill();
    }
  }

  ctx.routingChanged = () => {
    // Our server takes a routing update on the open stream; otherwise reconnect with new headers.
    const ids = routingIds(ctx);
    ctx.client.updateStreamCodebases(ctx.workerId, ids).catch(() => streamAbort.abort());
  };

  const done = Promise.all([streamLoop(), pollLoop()]).then(() => {});
  return {
    wake: () => void fill(),
    done,
    get streaming() {
      return streaming;
    },
  };
}
