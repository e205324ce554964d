// Server-Sent Events over fetch (frames by eventsource-parser): yields {event, data} frames until the
// stream ends, the signal aborts, or no frame arrives within `idleMs` (dead stream).
import { EventSourceParserStream } from "eventsource-parser/stream";
import { errorMessage } from "../util/errors.ts";
import { ApiError, UnavailableError } from "./http.ts";

export interface SseFrame {
  event: string;
  data: string;
}

export async function* readSse(url: string, opts: { headers: Record<string, string>; signal: AbortSignal; idleMs: number }): AsyncGenerator<SseFrame> {
  const ctrl = new AbortController();
  const onAbort = () => ctrl.abort();
  opts.signal.addEventListener("abort", onAbort, { once: true });
  let idle: ReturnType<typeof setTimeout> | undefined;
  const arm = () => {
    clearTimeout(idle);
    idle = setTimeout(() => ctrl.abort(new Error(`no event for ${opts.idleMs / 1000}s`)), opts.idleMs);
  };
  try {
    arm();
    let res: Response;
    try {
      res = await fetch(url, { headers: { accept: "text/event-stream", ...opts.headers }, signal: ctrl.signal });
    } catch (err) {
      if (opts.signal.aborted) return;
      throw new UnavailableError(`stream unreachable at ${url}: ${errorMessage(err)}`, url);
    }
    if (!res.ok || !res.body) {
      const text = await res.text().catch(() => "");
      if (res.status >= 500) throw new UnavailableError(`stream ${url}: HTTP ${res.status}`, url);
      throw new ApiError(res.status, `http_${res.status}`, `stream ${url}: HTTP ${res.status} ${text.slice(0, 200)}`, url);
    }
    // Any bytes count as life (keep-alive comments too), so the idle timer is re-armed on
    // the raw stream; eventsource-parser turns the text into frames.
    const alive = new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, out) {
        arm();
        out.enqueue(chunk);
      },
    });
    const text = res.body.pipeThrough(alive).pipeThrough(new TextDecoderStream() as unknown as TransformStream<Uint8Array, string>);
    const frames = text.pipeThrough(new EventSourceParserStream());
    const reader = frames.getReader();
    while (true) {
      let next: Awaited<ReturnType<typeof reader.read>>;
      try {
        next = await reader.read();
      } catch (err) {
        if (opts.signal.aborted) return;
        throw new UnavailableError(`stream ${url} broke: ${errorMessage(err)}`, url);
      }
      if (next.done) return;
      yield { event: next.value.event ?? "message", data: next.value.data };
    }
  } finally {
    clearTimeout(idle);
    opts.signal.removeEventListener("abort", onAbort);
    ctrl.abort();
  }
}
