// The worker's task calls, in one place for both kinds of server it meets (PROTOCOL.md
// "Compatibility duties"). Chosen once, when registration shows which kind the server is
// (the register answer carries `settings` only on servers with our additions); the
// worker's loops call this interface and never ask which kind they talk to.
import type { ClaimResponse, TaskHeartbeatResponse, TaskStatus, WorktreeReport } from "../protocol/index.ts";
import type { Client } from "./index.ts";

/** A task's final report (or a release without status: back to pending). */
export interface FinalReport {
  task_id: string;
  worker_id: string;
  /** null on legacy servers that hand out no attempt numbers. */
  attempt: number | null;
  /** Final status, or null: release without status (back to pending, e.g. on shutdown). */
  status: Extract<TaskStatus, "completed" | "failed" | "cancelled"> | null;
  result?: string | null;
  error?: string | null;
  session_id?: string | null;
  /** A worktree run's outcome (our server stores it; a legacy one has nowhere to put it). */
  worktree?: WorktreeReport | null;
}

export interface WorkerApi {
  /** A fact for logs and status: the server lacks our additions (settings, task heartbeats, `{}`-claim, batches). */
  readonly legacy: boolean;
  /** Claims the best task this worker may take, none of a `busy` codebase (isolation.ts); null when there is none. */
  claimNext(busy?: string[]): Promise<ClaimResponse | null>;
  /** A task the stream announced (the parsed event data, whatever its shape). */
  announced(task: unknown): void;
  /** A poll tick with free slots: find tasks the stream may have missed; `ours` says which codebases this worker serves. Throws when the server cannot be asked. */
  poll(ours: (codebaseId: string | null) => boolean): Promise<void>;
  /** Tells the server the agent is starting. */
  markRunning(taskId: string): Promise<void>;
  /** Renews a task's lease; null: this server has no leases to renew (stop beating). */
  taskHeartbeat(taskId: string, attempt: number): Promise<TaskHeartbeatResponse | null>;
  /** Sends output lines numbered from `seq`; `requests` made, `truncated` when the server keeps no more of this task's output. */
  sendOutput(taskId: string, attempt: number | null, seq: number, lines: string[]): Promise<{ requests: number; truncated: boolean }>;
  /**
   * Delivers a final report, or a release without status. With `next` (the busy codebases
   * then), asks for this worker's next task in the same request: the answer is that claim,
   * null when there was nothing to claim, undefined when the server did not say (claim as usual).
   */
  report(r: FinalReport, next?: { busy: string[] }): Promise<ClaimResponse | null | undefined>;
}

export function createWorkerApi(client: Client, workerId: string, legacy: boolean): WorkerApi {
  return legacy ? legacyApi(client, workerId) : currentApi(client, workerId);
}

/** Our server: `{}`-claim, task leases, output batches, the final state on release. */
function currentApi(client: Client, workerId: string): WorkerApi {
  return {
    legacy: false,
    claimNext: (busy) => client.claim(workerId, undefined, { busy }),
    announced() {
      // The `{}`-claim finds every eligible task: an announcement is just a reason to claim.
    },
    async poll() {
      // Likewise: the fill after this tick's poll claims whatever the stream missed.
    },
    async markRunning() {
      // The claim set the task running (with its lease); nothing more to say.
    },
    taskHeartbeat: (taskId, attempt) => client.taskHeartbeat({ task_id: taskId, worker_id: workerId, attempt }),
    async sendOutput(taskId, attempt, seq, lines) {
      const res = await client.postOutput(taskId, { worker_id: workerId, attempt: attempt ?? 0, seq, lines });
      return { requests: 1, truncated: res?.truncated === true };
    },
    async report(r, next) {
      const res = await client.release(r.worker_id, {
        task_id: r.task_id,
        worker_id: r.worker_id,
        attempt: r.attempt,
        status: r.status,
        result: r.result,
        error: r.error,
        session_id: r.session_id,
        ...r.worktree,
        ...(next ? { claim_next: true, busy_codebases: next.busy } : {}),
      });
      return next ? res.next : undefined;
    },
  };
}

/**
 * A server with only the legacy routes: claims by id only, so the tasks announced on the
 * stream or found by listing pending ones are remembered and claimed in turn; status by
 * PUT, one output line per request, no task heartbeats, the final state by PUT and then
 * a bare release.
 */
function legacyApi(client: Client, workerId: string): WorkerApi {
  // task id -> its codebase: a task of a busy codebase stays a candidate until the codebase is free
  const candidates = new Map<string, string | null>();
  return {
    legacy: true,
    async claimNext(busy = []) {
      for (const [id, codebase] of candidates) {
        if (codebase && busy.includes(codebase)) continue;
        candidates.delete(id);
        const c = await client.claim(workerId, id);
        if (c) return c;
      }
      return null;
    },
    announced(t) {
      const task = t as { id?: unknown; codebase_id?: unknown } | null;
      if (typeof task?.id === "string") candidates.set(task.id, typeof task.codebase_id === "string" ? task.codebase_id : null);
    },
    async poll(ours) {
      for (const t of await client.listTasks({ status: "pending" })) if (ours(t.codebase_id ?? null)) candidates.set(t.id, t.codebase_id ?? null);
    },
    async markRunning(taskId) {
      await client.updateStatus(taskId, { status: "running", worker_id: workerId });
    },
    taskHeartbeat: async () => null,
    async sendOutput(taskId, _attempt, _seq, lines) {
      let requests = 0;
      for (const line of lines) {
        requests++;
        await client.postOutput(taskId, { worker_id: workerId, output: line, timestamp: new Date().toISOString() });
      }
      return { requests, truncated: false };
    },
    async report(r) {
      // No next task in the answer here: the worker claims as usual.
      if (r.status)
        await client.updateStatus(r.task_id, { status: r.status, worker_id: r.worker_id, result: r.result, error: r.error, session_id: r.session_id });
      await client.release(r.worker_id, { task_id: r.task_id });
    },
  };
}
