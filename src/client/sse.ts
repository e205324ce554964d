// Minimal Server-Sent Events reader over fetch: yields {event, data} frames until the
// stream ends, the signal aborts, or no frame arrives within `idleMs` (dead stream).
import { ApiError, UnavailableError } from "./http.ts";

export interface SseFrame {
  event: string;
  data: string;
}

export async function* readSse(
  url: string,
  opts: { headers: Record<string, string>; signal: AbortSignal; idleMs: number },
): AsyncGenerator<SseFrame> {
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
      throw new UnavailableError(`stream unreachable at ${url}: ${(err as Error).message}`, url);
    }
    if (!res.ok || !res.body) {
      const text = await res.text().catch(() => "");
      if (res.status >= 500) throw new UnavailableError(`stream ${url}: HTTP ${res.status}`, url);
      throw new ApiError(res.status, `http_${res.status}`, `stream ${url}: HTTP ${res.status} ${text.slice(0, 200)}`, url);
    }
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = "";
    let event = "message";
    let data: string[] = [];
    while (true) {
      let chunk;
      try {
        chunk = await reader.read();
      } catch (err) {
        if (opts.signal.aborted) return;
        throw new UnavailableError(`stream ${url} broke: ${(err as Error).message}`, url);
      }
      if (chunk.done) return;
      arm();
      buf += chunk.value;
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl).replace(/\r$/, "");
        buf = buf.slice(nl + 1);
        if (line === "") {
          if (data.length) yield { event, data: data.join("\n") };
          event = "message";
          data = [];
        } else if (line.startsWith(":")) {
          // comment / keep-alive
        } else {
          const i = line.indexOf(":");
          const field = i < 0 ? line : line.slice(0, i);
          const value = i < 0 ? "" : line.slice(i + 1).replace(/^ /, "");
          if (field === "event") event = value;
          else if (field === "data") data.push(value);
        }
      }
    }
  } finally {
    clearTimeout(idle);
    opts.signal.removeEventListener("abort", onAbort);
    ctrl.abort();
  }
}
