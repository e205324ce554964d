// Every retry policy of the worker and client, written down in one place as data.
export interface BackoffPolicy {
  /** First delay, ms. */
  baseMs: number;
  /** Ceiling, ms. */
  maxMs: number;
  /** Attempts before giving up; Infinity retries forever. */
  attempts: number;
}

export const POLICIES = {
  /** Stream reconnects and server-unreachable loops: 1 s ... 60 s, forever. */
  reconnect: { baseMs: 1000, maxMs: 60_000, attempts: Infinity },
  /** Spooled final reports: until delivered, also across restarts. */
  report: { baseMs: 500, maxMs: 30_000, attempts: Infinity },
  /** Output batches: retried while the task runs; a batch is kept until accepted. */
  output: { baseMs: 250, maxMs: 10_000, attempts: Infinity },
  /** One-shot CLI calls (operator commands): fail fast. */
  cli: { baseMs: 200, maxMs: 1000, attempts: 2 },
} as const satisfies Record<string, BackoffPolicy>;

/** Exponential backoff with "full jitter" (uniform in [base, cap]) so a fleet does not reconnect in lockstep. */
export function backoffDelay(policy: BackoffPolicy, attempt: number, random = Math.random): number {
  const cap = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(policy.baseMs + random() * (cap - policy.baseMs));
}

/** A value +/- `fraction` at random: spreads polls of many workers. */
export function jitter(ms: number, fraction = 0.2, random = Math.random): number {
  return Math.max(0, Math.round(ms * (1 - fraction + 2 * fraction * random())));
}

/** Sleep that ends early (resolving false) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      resolve(false);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
