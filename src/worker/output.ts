// Forwards an agent's output lines to the server in ordered batches (at most every
// 250 ms or 64 KiB), numbered by `seq` so a retried batch is stored once. Lines are
// redacted before they leave the machine. A batch stays queued until the server takes
// it; a 409 means our attempt is no longer current, and nothing more is sent.
import { ApiError, type Client } from "../client/index.ts";
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
  client: Client;
  taskId: string;
  workerId: string;
  attempt: number | null;
  legacy: boolean;
  redact: (s: string) => string;
  intervalMs?: number;
  maxBytes?: number;
  onStale?: () => void;
}

const MAX_LINE = 64 * 1024;

export function createOutputSink(o: OutputOptions): OutputSink {
  const intervalMs = o.intervalMs ?? 250;
  const maxBytes = o.maxBytes ?? 64 * 1024;
  const queue: string[] = [];
  let queuedBytes = 0;
  let nextSeq = 0; // seq of queue[0]
  let sent = 0;
  let requests = 0;
  let stale = false;
  let closed = false;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let inflight: Promise<void> | null = null;
  const stop = new AbortController();

  function schedule() {
    if (timer || inflight || stale) return;
    timer = setTimeout(() => {
      timer = null;
      void drain();
    }, queuedBytes >= maxBytes ? 0 : intervalMs);
  }

  async function sendBatch(lines: string[], seq: number): Promise<void> {
    if (o.legacy) {
      for (const line of lines) {
        requests++;
        await o.client.postOutput(o.taskId, { worker_id: o.workerId, output: line, timestamp: new Date().toISOString() });
      }
      return;
    }
    requests++;
    await o.client.postOutput(o.taskId, { worker_id: o.workerId, attempt: o.attempt ?? 0, seq, lines });
  }

  function drain(signal?: AbortSignal): Promise<void> {
    if (inflight) return inflight;
    inflight = (async () => {
      let failures = 0;
      while (queue.length && !stale) {
        // Take up to maxBytes of lines.
        let n = 0;
        let bytes = 0;
        while (n < queue.length && (n === 0 || bytes + queue[n]!.length < maxBytes)) bytes += queue[n++]!.length;
        const lines = queue.slice(0, n);
        try {
          await sendBatch(lines, nextSeq);
          queue.splice(0, n);
          queuedBytes -= bytes;
          nextSeq += n;
          sent += n;
          failures = 0;
        } catch (err) {
          if (err instanceof ApiError && err.status === 409) {
            stale = true;
            o.onStale?.();
            break;
          }
          if (err instanceof ApiError && err.status !== 429 && err.status !== 408) {
            // The server refuses these lines for good (e.g. task gone); dropping them beats blocking the task.
            queue.splice(0, n);
            queuedBytes -= bytes;
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
      if (stale || closed) return;
      const clean = o.redact(line.length > MAX_LINE ? line.slice(0, MAX_LINE) + " …[line truncated]" : line);
      queue.push(clean);
      queuedBytes += clean.length;
      schedule();
    },
    async flush(signal?: AbortSignal) {
      if (timer) {
        clearTimeout(timer);
        timer = null;
      }
      while (queue.length && !stale && !signal?.aborted && !closed) await drain(signal);
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

function anySignal(...signals: (AbortSignal | undefined)[]): AbortSignal {
  return AbortSignal.any(signals.filter((s): s is AbortSignal => !!s));
}
