// The one storage interface behind the server. sqlite.ts and postgres.ts implement it and
// pass the same contract suite. Decisions about task state live in ../lifecycle.ts as pure
// functions; a store only runs them inside a transaction that holds the task's row, so
// both stores agree on every transition and no decision is ever half-written.
import type { Isolation, MessageRecord, OutputLine, SessionRecord, Task } from "../../protocol/index.ts";
import type { KeyPage, Paged } from "./keyset.ts";
import type { TaskFilter, TaskKey, TaskPageQuery } from "./task-list.ts";

/** Called with each statement's SQL text and parameters as the store runs it (the query-plan test reads them). */
export type StoreTrace = (sql: string, params: unknown) => void;

export type StoreOptions =
  | { kind: "sqlite"; path: string; trace?: StoreTrace }
  /** `listen: false`: no LISTEN/NOTIFY (another bus, e.g. Redis, carries the events). */
  | { kind: "postgres"; url: string; poolSize?: number; listen?: boolean; trace?: StoreTrace };

export interface WorkerRow {
  worker_id: string;
  name: string;
  capabilities: string[];
  hostname: string | null;
  models: unknown[];
  codebases: string[];
  global_codebase_id: string | null;
  max_concurrent_tasks: number | null;
  version: string | null;
  registered_at: string;
  last_seen: string;
  unregistered_at: string | null;
  /** Name of the `name:token` that first registered this worker id (see ../auth.ts). */
  owner: string | null;
  /** The process that holds this worker id (null: registered by a legacy worker); see ../identity.ts. */
  instance_id: string | null;
  instance_pid: number | null;
  instance_started_at: string | null;
}

export type WorkerInput = Omit<WorkerRow, "registered_at" | "last_seen" | "unregistered_at">;

export interface CodebaseRow {
  id: string;
  name: string;
  path: string;
  description: string | null;
  worker_id: string;
  agent_config: Record<string, unknown> | null;
  registered_at: string;
  status: string;
  /** null: never set (shared). */
  isolation: Isolation | null;
}

/** `isolation` null or absent keeps what the record has. */
export type CodebaseInput = Omit<CodebaseRow, "id" | "registered_at" | "status" | "isolation"> & { isolation?: Isolation | null };

/**
 * Upsert outcome. The (worker, path) pair already registered under another name is a
 * conflict unless the caller asked to rename: a silent rename broke every
 * `--codebase OLDNAME` that scripts still used (issue 17).
 */
export type CodebaseUpsert = { ok: true; codebase: CodebaseRow; created: boolean; renamed_from: string | null } | { ok: false; existing: CodebaseRow };

/** A task as stored: the wire object plus bookkeeping the wire does not show. */
export interface TaskRow extends Omit<Task, "commit" | "diff_stat"> {
  /** Routing key: codebase_id, or "global" for null/"global" (claim eligibility is `route IN <worker's set>`). */
  route: string;
  /** Capabilities a claiming worker must advertise (issue 15); [] = any worker. */
  required_capabilities: string[];
  output_bytes: number;
  output_count: number;
  output_truncated: boolean;
  isolation: Isolation | null;
  /** A worktree run's outcome (wire: `branch`, `commit`, `diff_stat`, `diff_truncated`); null otherwise. */
  branch: string | null;
  commit_sha: string | null;
  diff_files: number | null;
  diff_insertions: number | null;
  diff_deletions: number | null;
  diff_truncated: boolean | null;
}

export interface TaskChange {
  before: TaskRow;
  after: TaskRow;
}

/** What a claim may not take now (see ClaimBody.busy_codebases). */
export interface ClaimLimits {
  /** Routes whose tasks are not claimable now unless the task's own isolation is `worktree`. */
  busy?: string[];
}

/** A {}-claim to make right after a task change (a release that asks for the worker's next task). */
export interface ClaimAfter {
  workerId: string;
  now: string;
  leaseUntil: string;
  limits: ClaimLimits;
}

export type ClaimResult = { ok: true; task: TaskRow } | { ok: false; reason: "none" | "not_found" | "conflict" };

export interface AppendInput {
  task_id: string;
  /** Attempt the lines belong to; null = the task's current attempt (legacy single line). */
  attempt: number | null;
  /** First line number; null = after the last stored line of that attempt (legacy). */
  seq: number | null;
  lines: string[];
  timestamp: string;
  capBytes: number;
}

export interface AppendResult {
  task: TaskRow;
  stored: number;
  /** Bytes of the lines stored (what the task's output cap counts). */
  bytes: number;
  duplicates: number;
  dropped: number;
  /** True when this call hit the cap (first time), so the caller can log it once. */
  newlyTruncated: boolean;
}

/** Cross-replica wake-ups (PostgreSQL LISTEN/NOTIFY); see ../hub.ts. */
export type StoreEvent =
  | { t: "task"; id: string; route: string; target: string | null }
  | { t: "cancel"; id: string; worker: string }
  /** A worker registered with other capabilities, models or name (routing of its streams). */
  | { t: "worker"; id: string }
  | { t: "output"; id: string }
  | { t: "final"; id: string }
  /** A worker asked for its stream's codebases to change; the replica holding the stream applies it. */
  | { t: "routes"; worker: string; routes: string[] };

export interface QueueDepth {
  route: string;
  pending: number;
  oldest_created_at: string;
}

export type TaskTimes = Pick<TaskRow, "status" | "created_at" | "started_at" | "completed_at">;

export interface WorkerCounts {
  codebases: number;
  completed: number;
  running: number;
}

/**
 * The store, in parts: each part is one concern, implemented once per dialect in
 * sqlite/<part>.ts and postgres/<part>.ts; sqlite.ts and postgres.ts open the database
 * and put the parts together.
 */
export interface Store extends StoreEvents, WorkerStore, CodebaseStore, TaskStore, ClaimStore, OutputStore, SessionStore, RetentionStore, OutboxStore {
  readonly kind: "sqlite" | "postgres";
  /** publish/onEvent reach other replicas (PostgreSQL with LISTEN); false for SQLite. */
  readonly crossReplica: boolean;
  close(): Promise<void>;
}

/** A webhook delivery to write: one event for one receiver. */
export interface NewDelivery {
  id: string;
  url: string;
  event: string;
  /** The JSON body, as sent (signed as is). */
  payload: string;
  created_at: string;
}

export interface DeliveryRow extends NewDelivery {
  status: "pending" | "delivered" | "failed";
  attempts: number;
  next_attempt_at: string;
  last_error: string | null;
  delivered_at: string | null;
}

/** The webhook outbox (see ../webhooks.ts). */
export interface OutboxStore {
  /**
   * The deliveries a task change causes, written in the same transaction as the change
   * (every write of a task's state goes through mutateTask, sweepExpired or
   * unregisterWorker). Set once at start; null: none.
   */
  setOutbox(fn: ((c: TaskChange) => NewDelivery[]) | null): void;
  /** Deliveries of events that are not task changes (worker.offline). */
  enqueueDeliveries(d: NewDelivery[]): Promise<void>;
  /** Up to `limit` pending deliveries due by `now`, each held until `holdUntil` (so one replica sends it). */
  takeDueDeliveries(now: string, holdUntil: string, limit: number): Promise<DeliveryRow[]>;
  /** After an attempt: delivered, or tried again at `retryAt` (null: given up, failed). */
  finishDelivery(id: string, r: { ok: true; now: string } | { ok: false; error: string; retryAt: string | null }): Promise<void>;
  listDeliveries(limit: number): Promise<DeliveryRow[]>;
}

/** Deleting what is older than the retention settings, a little at a time (see ../retention.ts). */
export interface RetentionStore {
  /**
   * Deletes up to `maxLines` output lines of the oldest task finished before `before` that
   * has any; once a task has none left it is marked (output_count 0, metadata.output_pruned_at)
   * and counted in `tasks`. Nothing left to do: both 0.
   */
  pruneOutputBatch(before: string, maxLines: number, now: string): Promise<{ lines: number; tasks: number }>;
  /** Deletes up to `max` tasks finished before `before`, with any output left. Returns how many. */
  pruneTasksBatch(before: string, max: number): Promise<number>;
  /** What the two would delete (dry run). */
  prunable(outputBefore: string, tasksBefore: string): Promise<{ output_tasks: number; output_lines: number; tasks: number }>;
  /** Hands freed space back where the store can do so cheaply. */
  reclaimSpace(): Promise<void>;
}

export interface StoreEvents {
  /** Tell other replicas (no-op for SQLite, which has one process). */
  publish(ev: StoreEvent): void;
  /** Events published by other replicas. */
  onEvent(fn: (ev: StoreEvent) => void): void;
}

/** Workers and the process instance that holds each worker id. */
export interface WorkerStore {
  /**
   * Registers (upsert). `admit` sees the current row under its lock and may throw an
   * HttpError to refuse (nothing is written). A null `instance_id` keeps the recorded instance.
   */
  upsertWorker(w: WorkerInput, now: string, admit?: (previous: WorkerRow | null) => void): Promise<{ worker: WorkerRow; previous: WorkerRow | null }>;
  getWorker(id: string): Promise<WorkerRow | null>;
  /** Oldest registration first (registered_at, worker_id); all of them unless `page` limits it. */
  listWorkers(page?: KeyPage): Promise<Paged<WorkerRow>>;
  /**
   * Heartbeat: false when the worker is unknown or unregistered, or when `instanceId` is
   * given and another instance holds the worker id (rows without an instance accept any).
   */
  touchWorker(id: string, now: string, instanceId?: string | null): Promise<boolean>;
  /**
   * Marks the worker offline and hands each running task it holds to `release`, in one
   * transaction; null when unknown, or (with `instanceId`) held by another instance.
   */
  unregisterWorker(
    id: string,
    now: string,
    release: (t: TaskRow) => TaskRow,
    instanceId?: string | null,
  ): Promise<{ worker: WorkerRow; released: TaskChange[] } | null>;
  /** Per worker: codebases, tasks running, and tasks completed in its lifetime (counted as they complete, migration 9). */
  workerCounts(): Promise<Map<string, WorkerCounts>>;
  /**
   * Registered workers seen since `seenSince` that own `route` (a codebase id; "global": a
   * worker that registered a codebase named global), at most `limit`: by index, however
   * large the fleet (the waiting-reason check's quick answer, ../routing.ts).
   */
  routeOwners(route: string, seenSince: string, limit: number): Promise<WorkerRow[]>;
  /** Workers registered and not unregistered. */
  countLiveWorkers(): Promise<number>;
}

export interface CodebaseStore {
  upsertCodebase(c: CodebaseInput, now: string, o?: { rename?: boolean }): Promise<CodebaseUpsert>;
  /** Codebases registered at this normalized path, by any worker. */
  codebasesAtPath(path: string): Promise<CodebaseRow[]>;
  /** null when no such codebase. */
  renameCodebase(id: string, name: string, now: string): Promise<CodebaseRow | null>;
  getCodebase(id: string): Promise<CodebaseRow | null>;
  /** Oldest registration first (registered_at, id); all of them unless `page` limits it. */
  listCodebases(page?: KeyPage): Promise<Paged<CodebaseRow>>;
  workerCodebases(workerId: string): Promise<CodebaseRow[]>;
  deleteCodebase(id: string): Promise<boolean>;
}

/** Creating tasks and reading them; every change of a task's state goes through ClaimStore. */
export interface TaskStore {
  insertTask(t: TaskRow): Promise<TaskRow>;
  getTask(id: string): Promise<TaskRow | null>;
  /** One page in `q.order` after `q.cursor`; `next` is the key of its last row when more follow. */
  listTasks(q: TaskPageQuery): Promise<{ tasks: TaskRow[]; next: TaskKey | null }>;
  /** How many tasks match the filter, counting no further than `upTo` (X-Total-Count). */
  countTasks(f: TaskFilter, upTo: number): Promise<number>;
  /** Pending tasks per route (codebase id or "global") and the oldest one's created_at (dashboard queue view). */
  queueDepths(): Promise<QueueDepth[]>;
  /** Tasks pending now or created, started or finished since `since` (dashboard charts). */
  activitySince(since: string): Promise<TaskTimes[]>;
  /** Pending tasks routed to any of `routes` and not targeted at another worker (stream start-up). */
  pendingFor(workerId: string, routes: string[], limit: number): Promise<TaskRow[]>;
}

/** Claims, and every other decision taken while holding a task's row (see ../lifecycle.ts). */
export interface ClaimStore {
  /** Atomic claim: by id, or the best eligible pending task (priority desc, created asc). */
  claim(workerId: string, taskId: string | null, now: string, leaseUntil: string, limits?: ClaimLimits): Promise<ClaimResult>;
  /**
   * Locks the task, runs `decide` (which may throw an HttpError: nothing is written), writes `next` if any.
   * With `then`, a change is followed by that worker's {}-claim (`claimed`), in the same
   * transaction where the store can (SQLite: one commit instead of two, issue 13).
   */
  mutateTask<R>(
    id: string,
    decide: (t: TaskRow) => { next: TaskRow | null; value: R },
    then?: ClaimAfter,
  ): Promise<{ change: TaskChange; value: R; claimed?: ClaimResult } | null>;
  /** Running tasks whose lease ended before `now`, each passed to `decide` under its row lock. */
  sweepExpired(now: string, decide: (t: TaskRow) => TaskRow, limit: number): Promise<TaskChange[]>;
}

export interface OutputStore {
  /** Stores output lines after `check` (fencing) passed, deduplicated by (task, attempt, seq), capped per task. */
  appendOutput(a: AppendInput, check: (t: TaskRow) => void): Promise<AppendResult | null>;
  readOutput(taskId: string, since: number, limit: number): Promise<OutputLine[]>;
  /** Keeps a worktree run's diff (replacing an earlier one of the task). */
  putTaskDiff(taskId: string, diff: string, truncated: boolean, now: string): Promise<void>;
  /** null when the task has no stored diff. */
  getTaskDiff(taskId: string): Promise<{ diff: string; truncated: boolean } | null>;
}

/** OpenCode session history uploaded by workers (see ../../sessions/). */
export interface SessionStore {
  upsertSessions(codebaseId: string, workerId: string | null, sessions: SessionRecord[], now: string): Promise<number>;
  /** Most recently updated first (COALESCE(updated, created, synced_at) desc, id). */
  listSessions(codebaseId: string, page?: KeyPage): Promise<Paged<Record<string, unknown>>>;
  /** One session by id (ids are unique across codebases), with its codebase_id; null: none. */
  getSession(sessionId: string): Promise<Record<string, unknown> | null>;
  upsertMessages(codebaseId: string, sessionId: string, workerId: string | null, messages: MessageRecord[], now: string): Promise<number>;
  /** In order of creation (created, id); null when neither the session nor any message of it is known. */
  listMessages(codebaseId: string, sessionId: string, page?: KeyPage): Promise<Paged<Record<string, unknown>> | null>;
}
