// Forwards an agent's output lines to the server in ordered batches, numbered by `seq` so
// a retried batch is stored once: at most one request per 250 ms (4/s per task, however
// fast the agent prints), each up to 768 KiB of JSON (the server takes 1 MiB bodies; a 413
// halves the batch). Lines are redacted before they leave the machine. A batch stays
// queued until the server takes it; a 409 means our attempt is no longer current, and
// nothing more is sent.
import { ApiError } from "../client/index.ts";
import type { WorkerApi } from "../client/worker-api.ts";
import { backoffDelay, POLICIES, sleep } from "../util/backoff.ts";

export interface OutputSink {
  push(line: string): void;
  /** Deliver everything queued; resolves when delivered, stale, or `signal` aborts. */
  flush(signal?: AbortSignal): Promise<void>;
  close(): void;
  readonly stale: boolean;
  readonly sent: number;
  readonly requests: number;
}

export interface OutputOptions {
  api: WorkerApi;
  taskId: string;
  attempt: number | null;
  redact: (s: string) => string;
  intervalMs?: number;
  /** Batch size limit: the lines' JSON-encoded bytes. */
  maxBytes?: number;
  onStale?: () => void;
}

const MAX_LINE = 64 * 1024;

export function createOutputSink(o: OutputOptions): OutputSink {
  const intervalMs = o.intervalMs ?? 250;
  let maxBytes = o.maxBytes ?? 768 * 1024;
  const queue: string[] = [];
  const sizes: number[] = []; // encoded size of each queued line (quotes and escapes included)
  let nextSeq = 0; // seq of queue[0]
  let sent = 0;
  let requests = 0;
  let stale = false;
  let capped = false;
  let closed = false;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let lastStart = -Infinity; // when the last request began: the next one waits intervalMs from it
  let inflight: Promise<void> | null = null;
  const stop = new AbortController();

  function schedule() {
    if (timer || inflight || stale) return;
    timer = setTimeout(() => {
      timer = null;
      void drain();
    }, intervalMs);
  }

  async function sendBatch(lines: string[], seq: number): Promise<void> {
    lastStart = performance.now();
    const res = await o.api.sendOutput(o.taskId, o.attempt, seq, lines);
    requests += res.requests;
    // The server keeps no more of this task's output (its per-task cap): sending the rest is wasted.
    if (res.truncated) capped = true;
  }

  function drain(signal?: AbortSignal): Promise<void> {
    if (inflight) return inflight;
    inflight = (async () => {
      let failures = 0;
      while (queue.length && !stale) {
        // One request per interval, also while catching up (flush): the queue just makes bigger batches.
        if (!(await sleep(Math.max(0, Math.ceil(lastStart + intervalMs - performance.now())), anySignal(signal, stop.signal)))) break;
        // Take up to maxBytes of lines.
        let n = 0;
        let bytes = 0;
        while (n < queue.length && (n === 0 || bytes + sizes[n]! < maxBytes)) bytes += sizes[n++]!;
        const lines = queue.slice(0, n);
        try {
          await sendBatch(lines, nextSeq);
          queue.splice(0, n);
          sizes.splice(0, n);
          nextSeq += n;
          sent += n;
          failures = 0;
          if (capped) queue.length = sizes.length = 0;
        } catch (err) {
          if (err instanceof ApiError && err.status === 409) {
            stale = true;
            o.onStale?.();
            break;
          }
          if (err instanceof ApiError && err.status === 413 && n > 1) {
            maxBytes = Math.max(1, Math.floor(bytes / 2)); // a proxy or server with a smaller body limit
            continue;
          }
          if (err instanceof ApiError && err.status !== 429 && err.status !== 408) {
            // The server refuses these lines for good (e.g. task gone); dropping them beats blocking the task.
            queue.splice(0, n);
            sizes.splice(0, n);
            nextSeq += n;
            continue;
          }
          const ok = await sleep(backoffDelay(POLICIES.output, failures++), anySignal(signal, stop.signal));
          if (!ok) break;
        }
      }
    })().finally(() => {
      inflight = null;
      if (queue.length && !stale && !closed) schedule();
    });
    return inflight;
  }

  return {
    push(line: string) {
      if (stale || closed || capped) return;
      const clean = o.redact(line.length > MAX_LINE ? line.slice(0, MAX_LINE) + " …[line truncated]" : line);
      queue.push(clean);
      sizes.push(Buffer.byteLength(JSON.stringify(clean)) + 1);
      schedule();
    },
    async flush(signal?: AbortSignal) {
      if (timer) {
        clearTimeout(timer);
        timer = null;
      }
      // A drain the timer started does not know `signal`: stop waiting for it when the signal fires.
      while (queue.length && !stale && !signal?.aborted && !closed) await (signal ? Promise.race([drain(signal), aborted(signal)]) : drain());
    },
    close() {
      closed = true;
      stop.abort();
      if (timer) clearTimeout(timer);
    },
    get stale() {
      return stale;
    },
    get sent() {
      return sent;
    },
    get requests() {
      return requests;
    },
  };
}

const aborted = (s: AbortSignal) => new Promise<void>((resolve) => (s.aborted ? resolve() : s.addEventListener("abort", () => resolve(), { once: true })));

function anySignal(...signals: (AbortSignal | undefined)[]): AbortSignal {
  return AbortSignal.any(signals.filter((s): s is AbortSignal => !!s));
}
