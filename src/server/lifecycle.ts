// The task state machine of PROTOCOL.md as pure functions: each takes the locked row and
// returns the next row (or throws an HttpError, and the store writes nothing). Stores run
// them inside their transactions, so SQLite and PostgreSQL cannot disagree.
//
//   pending -> running (claim; attempt + 1, lease)
//   running -> completed | failed | cancelled (status / release with a final status)
//   running -> pending (lease expired, released without status, worker unregistered)
//           -> failed instead once attempt >= max_attempts; -> cancelled if cancel was asked
//   pending -> cancelled (cancel)      final states never change again.
import { DIFF_CAP_BYTES, isFinal, type TaskStatus, type WorktreeReport } from "../protocol/index.ts";
import { badRequest, HttpError } from "./http.ts";
import type { TaskRow } from "./store/types.ts";

/** Who is calling: a worker id (header/body/query/token) and the attempt it believes it holds. */
export interface Caller {
  worker_id: string | null;
  attempt: number | null;
}

export interface Outcome extends Omit<WorktreeReport, "diff"> {
  result?: string | null;
  error?: string | null;
  session_id?: string | null;
}

const stale = (t: TaskRow, c: Caller) =>
  new HttpError(
    409,
    "stale_attempt",
    `task ${t.id}: ${c.worker_id ? `worker ${c.worker_id}` : "caller"}${c.attempt !== null ? ` with attempt ${c.attempt}` : ""} does not hold the current attempt` +
      ` (status ${t.status}, attempt ${t.attempt}${t.worker_id ? `, held by ${t.worker_id}` : ""})`,
  );
const finalError = (t: TaskRow, wanted: string) => new HttpError(409, "task_final", `task ${t.id} is already ${t.status}; it cannot become ${wanted}`);

/**
 * Fencing: only the worker holding the task's current attempt may change it. With an
 * `attempt` the number must be current; without one the caller must be the holder.
 * A requeued task has no holder (worker_id is cleared), so every old run is fenced off.
 */
export function assertHolder(t: TaskRow, c: Caller): void {
  if (!t.worker_id || t.status === "pending") throw stale(t, c);
  if (c.attempt !== null && c.attempt !== t.attempt) throw stale(t, c);
  if (c.worker_id !== null && c.worker_id !== t.worker_id) throw stale(t, c);
  if (c.worker_id === null && c.attempt === null) throw stale(t, c);
}

export function finish(t: TaskRow, status: TaskStatus, o: Outcome, now: string): TaskRow {
  return {
    ...t,
    status,
    result: o.result ?? t.result,
    error: o.error ?? (status === "cancelled" && !t.error ? "cancelled" : t.error),
    session_id: o.session_id ?? t.session_id,
    ...worktreeOutcome(t, o),
    lease_expires_at: null,
    completed_at: now,
    updated_at: now,
  };
}

/**
 * A worktree run's report, in the task's columns; a report without one keeps what the task
 * has. A run that changed nothing reports no branch (none is kept) and an empty diff_stat.
 */
function worktreeOutcome(t: TaskRow, o: Outcome): Partial<TaskRow> {
  if (!o.branch && !o.diff_stat) return {};
  return {
    branch: o.branch ?? null,
    commit_sha: o.commit ?? null,
    diff_files: o.diff_stat?.files ?? null,
    diff_insertions: o.diff_stat?.insertions ?? null,
    diff_deletions: o.diff_stat?.deletions ?? null,
    diff_truncated: o.diff_truncated ?? t.diff_truncated,
  };
}

/** A reported diff as the server keeps it: at most DIFF_CAP_BYTES, cut at a line end when one is near. */
export function capDiff(diff: string, truncated: boolean): { diff: string; truncated: boolean } {
  const bytes = Buffer.from(diff);
  if (bytes.length <= DIFF_CAP_BYTES) return { diff, truncated };
  let cut = bytes
    .subarray(0, DIFF_CAP_BYTES)
    .toString("utf8")
    .replace(/\uFFFD$/, "");
  const nl = cut.lastIndexOf("\n");
  if (nl > cut.length - 4096) cut = cut.slice(0, nl + 1);
  return { diff: cut, truncated: true };
}

/** A running task loses its run: back to pending, or to a final state when retrying is pointless. */
export function requeue(t: TaskRow, now: string, why: string, o: Outcome = {}): TaskRow {
  if (t.cancel_requested) return finish(t, "cancelled", { ...o, error: o.error ?? "cancelled" }, now);
  if (t.attempt >= t.max_attempts) return finish(t, "failed", { ...o, error: `${why} after ${t.attempt} attempt(s)` }, now);
  return { ...t, status: "pending", worker_id: null, lease_expires_at: null, session_id: o.session_id ?? t.session_id, updated_at: now };
}

export function heartbeat(t: TaskRow, c: Caller, now: string, leaseUntil: string) {
  assertHolder(t, c);
  if (t.status !== "running") throw stale(t, c);
  const next = { ...t, lease_expires_at: leaseUntil, updated_at: now };
  return { next, value: { success: true as const, lease_expires_at: leaseUntil, cancel_requested: t.cancel_requested } };
}

export interface StatusInput extends Outcome {
  status: TaskStatus;
}

/** PUT .../status (legacy path): `running` is a progress no-op (may set session_id); a final status finishes. */
export function setStatus(t: TaskRow, c: Caller, b: StatusInput, now: string) {
  assertHolder(t, c);
  if (b.status === "pending") throw new HttpError(409, "invalid_transition", `task ${t.id}: status cannot be set to pending; use release to hand a task back`);
  if (isFinal(t.status)) {
    if (b.status === t.status) return { next: null, value: t };
    throw finalError(t, b.status);
  }
  if (b.status === "running") {
    if (!b.session_id || b.session_id === t.session_id) return { next: null, value: t };
    const next = { ...t, session_id: b.session_id, updated_at: now };
    return { next, value: next };
  }
  const next = finish(t, b.status, b, now);
  return { next, value: next };
}

export interface ReleaseInput extends Outcome {
  status?: TaskStatus | null;
}

/** Release: a final status finishes; without one a running task goes back to the queue and a final one stays. */
export function release(t: TaskRow, c: Caller, b: ReleaseInput, now: string) {
  assertHolder(t, c);
  const status = b.status === "pending" ? null : (b.status ?? null);
  if (status === "running") throw badRequest("status", "a release status must be completed, failed or cancelled (or absent to hand the task back)");
  if (isFinal(t.status)) {
    if (!status || status === t.status) return { next: null, value: t };
    throw finalError(t, status);
  }
  const next = status ? finish(t, status, b, now) : requeue(t, now, "released without a final status", b);
  return { next, value: next };
}

/** Cancel: pending at once; running -> cancel_requested (the holder stops and reports cancelled). */
export function cancel(t: TaskRow, now: string) {
  if (isFinal(t.status)) throw finalError(t, "cancelled");
  if (t.status === "pending") {
    const next = finish(t, "cancelled", { error: "cancelled before it started" }, now);
    return { next, value: next };
  }
  if (t.cancel_requested) return { next: null, value: t };
  const next = { ...t, cancel_requested: true, updated_at: now };
  return { next, value: next };
}

/** Fencing for output: the holder of the attempt, while running or after it reported its final state. */
export function assertCanWriteOutput(t: TaskRow, c: Caller): void {
  assertHolder(t, c);
}
