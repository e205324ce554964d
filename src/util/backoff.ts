// Every retry policy of the worker and client, written down in one place as data.
export interface BackoffPolicy {
  /** First delay, ms. */
  baseMs: number;
  /** Ceiling, ms. */
  maxMs: number;
  /** Attempts before giving up; Infinity retries forever. */
  attempts: number;
  /**
   * Deadline of one call of this kind, ms. A server that accepts the connection and never
   * answers (overload, a half-open load balancer, a partition without resets) costs one
   * deadline, then the call counts as failed and the policy retries it.
   */
  timeoutMs: number;
}

export const POLICIES = {
  /** Registration, worker heartbeats, claims, polls, stream reconnects: 1 s ... 60 s, forever. */
  reconnect: { baseMs: 1000, maxMs: 60_000, attempts: Infinity, timeoutMs: 10_000 },
  /** Task (lease) heartbeats: retried at the next beat (lease/3), so a call may take at most
   *  that long; 10 s keeps a hung call from holding up the next beat of a default lease. */
  lease: { baseMs: 1000, maxMs: 20_000, attempts: Infinity, timeoutMs: 10_000 },
  /** Spooled final reports: until delivered, also across restarts. */
  report: { baseMs: 500, maxMs: 30_000, attempts: Infinity, timeoutMs: 15_000 },
  /** Output batches: retried while the task runs; a batch is kept until accepted. */
  output: { baseMs: 250, maxMs: 10_000, attempts: Infinity, timeoutMs: 10_000 },
  /** Session history uploads: large bodies; retried at the next sync. */
  sync: { baseMs: 1000, maxMs: 60_000, attempts: Infinity, timeoutMs: 60_000 },
} as const satisfies Record<string, BackoffPolicy>;

export type PolicyName = keyof typeof POLICIES;

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
