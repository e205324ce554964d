// One Server-Sent Events response: `event: <name>\ndata: <json>\n\n` frames, a heartbeat
// timer, and one cleanup when either side closes.
import type { Server } from "bun";
import { errorMessage } from "../util/errors.ts";
import { log } from "../util/log.ts";

export interface SseSink {
  send(event: string, data: unknown): void;
  /** An already encoded frame (encodeFrame): one encoding for an event sent to many streams. */
  sendFrame(frame: Uint8Array): void;
  close(): void;
  readonly closed: boolean;
}

const enc = new TextEncoder();

export const encodeFrame = (event: string, data: unknown): Uint8Array => enc.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);

export function sseResponse(req: Request, server: Server<unknown> | undefined, heartbeatMs: number, open: (sink: SseSink) => void | (() => void)): Response {
  let closed = false;
  let cleanup: void | (() => void);
  let timer: ReturnType<typeof setInterval> | undefined;
  let controller!: ReadableStreamDefaultController<Uint8Array>;

  const finish = () => {
    if (closed) return;
    closed = true;
    clearInterval(timer);
    req.signal.removeEventListener("abort", finish);
    try {
      cleanup?.();
    } catch (err) {
      log("warn", "stream cleanup failed", { error: errorMessage(err) });
    }
    try {
      controller.close();
    } catch {
      // the client went away first: the stream is closed already
    }
  };
  const sink: SseSink = {
    send(event, data) {
      if (!closed) sink.sendFrame(encodeFrame(event, data));
    },
    sendFrame(frame) {
      if (closed) return;
      try {
        controller.enqueue(frame);
      } catch {
        finish();
      }
    },
    close: finish,
    get closed() {
      return closed;
    },
  };
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
      // A stream is idle by design between events: no idle timeout, our heartbeat keeps proxies awake.
      server?.timeout(req, 0);
      req.signal.addEventListener("abort", finish, { once: true });
      timer = setInterval(() => sink.send("heartbeat", { ts: new Date().toISOString() }), heartbeatMs);
      cleanup = open(sink);
    },
    cancel: finish,
  });
  return new Response(stream, {
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache, no-transform",
      connection: "keep-alive",
      "x-accel-buffering": "no",
    },
  });
}
