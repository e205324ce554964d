// The wire objects servers answer, as the client parses them (PROTOCOL.md in code, with
// ./index.ts, which re-exports all of this and adds what requests carry). A worker builds
// only these schemas: the request schemas are the server's (P3/P4 in README "Benchmarks").
//
// Answers are parsed tolerantly, for servers older or newer than this one: their objects
// are loose (fields a newer server adds pass through), and fields an older server may not
// send have the default our server would send. Their types (`Known`) name only the fields
// we know.
import { z } from "zod";

export { API, API_ALIAS, path, ROUTES, type Route } from "./routes.ts";

/** The type of an answer parsed loose: the fields we know, without an index signature. */
type Known<S extends z.ZodObject> = z.output<z.ZodObject<S["shape"]>>;

export const Health = z.looseObject({ status: z.literal("ok"), version: z.string(), store: z.enum(["sqlite", "postgres"]) });
export type Health = Known<typeof Health>;

/** The answer of a call nobody reads beyond "accepted": `{"success":true,...}` (older servers may send less). */
export const Ack = z.looseObject({ success: z.boolean().optional() });
export type Ack = Known<typeof Ack>;

export const Settings = z.object({
  heartbeat_interval_s: z.number().positive(),
  lease_s: z.number().positive(),
  poll_interval_s: z.number().positive(),
});
export type Settings = z.infer<typeof Settings>;

// ---------- workers ----------

const WorkerStatus = z.enum(["active", "stale", "offline"]);

/** Header naming the worker process (instance) a call comes from; absent = legacy worker. */
export const INSTANCE_HEADER = "x-worker-instance";
/** 409 codes of worker identity: refused at registration, and replaced by another instance. */
export const WORKER_ID_IN_USE = "worker_id_in_use";
export const WORKER_REPLACED = "worker_replaced";

/** The process holding a worker id, as the server records it (null fields: unknown / legacy). */
export const WorkerInstance = z.looseObject({
  instance_id: z.string().nullable(),
  hostname: z.string().nullable(),
  pid: z.number().nullable(),
  started_at: z.string().nullable(),
});
export type WorkerInstance = Known<typeof WorkerInstance>;

export const WorkerRecord = z.looseObject({
  id: z.string(),
  worker_id: z.string(),
  name: z.string(),
  capabilities: z.array(z.string()),
  hostname: z.string().nullable(),
  models: z.array(z.unknown()),
  codebases: z.array(z.string()),
  global_codebase_id: z.string().nullable(),
  max_concurrent_tasks: z.number().nullable(),
  version: z.string().nullable(),
  status: WorkerStatus,
  registered_at: z.string(),
  last_seen: z.string(),
  instance: WorkerInstance.optional().nullable(),
});
export type WorkerRecord = Known<typeof WorkerRecord>;

export const RegisterWorkerResponse = z.looseObject({
  success: z.literal(true),
  worker: WorkerRecord.partial(),
  // Absent or unusable settings mean a legacy server: the worker keeps its own timings.
  settings: Settings.optional().catch(undefined),
});
export type RegisterWorkerResponse = Known<typeof RegisterWorkerResponse>;

export const MonitorWorker = z.looseObject({
  id: z.string(),
  name: z.string(),
  status: WorkerStatus,
  last_heartbeat: z.string(),
  codebases: z.number(),
  tasks_completed: z.number(),
  tasks_running: z.number(),
  hostname: z.string().nullable(),
  capabilities: z.array(z.string()),
  instance: WorkerInstance.optional().nullable(),
});
export type MonitorWorker = Known<typeof MonitorWorker>;
export const MonitorWorkers = z.looseObject({ workers: z.array(MonitorWorker) });

// ---------- codebases ----------

/**
 * Extension (issue 15): how a worker runs a codebase's tasks. `shared`: in the codebase
 * directory, one task at a time per worker; `worktree` (git): each task in a git worktree of
 * its own on branch `codetether/<task id>`, side by side.
 */
export const Isolation = z.enum(["shared", "worktree"]);
export type Isolation = z.infer<typeof Isolation>;

export const Codebase = z.looseObject({
  id: z.string(),
  name: z.string(),
  path: z.string(),
  description: z.string().nullable().default(null),
  worker_id: z.string().nullable().default(null),
  agent_config: z.record(z.string(), z.unknown()).nullable().default(null),
  registered_at: z.string().default(""),
  status: z.string().default(""),
  isolation: Isolation.nullable().optional().catch(null),
});
export type Codebase = Known<typeof Codebase>;

/** `POST codebases` answers: registered (older servers send the codebase at the top level), or a pending registration task. */
export const CodebaseRegistered = z.looseObject({ success: z.literal(true), codebase: Codebase });
export const CodebasePending = z.looseObject({ success: z.literal(true), pending: z.literal(true), task_id: z.string() });

// ---------- tasks ----------

export const TaskStatus = z.enum(["pending", "running", "completed", "failed", "cancelled"]);
export type TaskStatus = z.infer<typeof TaskStatus>;
const FINAL_STATUSES: readonly TaskStatus[] = ["completed", "failed", "cancelled"];
export const isFinal = (s: TaskStatus) => FINAL_STATUSES.includes(s);

/** A worktree run's change against the commit it started from (`git diff --numstat` totals). */
export const DiffStat = z.object({ files: z.number().int().min(0), insertions: z.number().int().min(0), deletions: z.number().int().min(0) });
export type DiffStat = z.infer<typeof DiffStat>;

/** A task as servers answer it. Older servers send less than ours: what a worker cannot run without is required. */
export const Task = z.looseObject({
  id: z.string(),
  codebase_id: z.string().nullable().default(null),
  title: z.string().nullable().default(null),
  prompt: z.string(),
  agent_type: z.string().default("build"),
  model: z.string().nullable().default(null),
  priority: z.number().default(0),
  status: TaskStatus,
  metadata: z.record(z.string(), z.unknown()).default({}),
  target_worker_id: z.string().nullable().default(null),
  target_agent_name: z.string().nullable().default(null),
  worker_id: z.string().nullable().default(null),
  session_id: z.string().nullable().default(null),
  result: z.string().nullable().default(null),
  error: z.string().nullable().default(null),
  attempt: z.number().default(0),
  max_attempts: z.number().default(3),
  timeout_s: z.number().nullable().default(null),
  lease_expires_at: z.string().nullable().default(null),
  cancel_requested: z.boolean().default(false),
  output_truncated: z.boolean().optional(),
  isolation: Isolation.nullable().optional().catch(null),
  // A worktree run's outcome (extension; null/absent otherwise): its branch, its commit (null
  // when the agent changed nothing), the change against the start, and whether the stored
  // diff (GET .../tasks/{id}/diff) was cut at the cap.
  branch: z.string().nullable().optional(),
  commit: z.string().nullable().optional(),
  diff_stat: DiffStat.nullable().optional().catch(null),
  diff_truncated: z.boolean().nullable().optional(),
  /** Extensions (issue 15): capabilities a claiming worker must advertise (absent: an older server); why a pending task waits. */
  required_capabilities: z.array(z.string()).optional(),
  waiting_reason: z.string().nullable().optional(),
  created_at: z.string().default(""),
  updated_at: z.string().default(""),
  started_at: z.string().nullable().default(null),
  completed_at: z.string().nullable().default(null),
});
export type Task = Known<typeof Task>;
/** The answer of calls that change a task (cancel, status, release, decline); older servers send only `{"success":true}`. */
export const TaskAck = Ack.extend({ task: Task.optional() });

/** What `POST .../output` stored; older servers answer `{"success":true}` only. */
export const OutputAck = Ack.extend({
  stored: z.number().optional(),
  duplicates: z.number().optional(),
  dropped: z.number().optional(),
  truncated: z.boolean().optional(),
});
export const OutputLine = z.looseObject({ seq: z.number(), attempt: z.number(), line: z.string(), timestamp: z.string() });
export type OutputLine = Known<typeof OutputLine>;
export const OutputPage = z.looseObject({
  task_id: z.string(),
  outputs: z.array(OutputLine),
  total: z.number(),
  truncated: z.boolean().optional(),
});
export type OutputPage = Known<typeof OutputPage>;
/** GET .../tasks/{id}/diff (extension): a worktree run's diff as stored; null when none was reported. */
export const TaskDiff = z.looseObject({ task_id: z.string(), diff: z.string().nullable(), truncated: z.boolean().default(false) });
export type TaskDiff = Known<typeof TaskDiff>;
/** Older servers answer without `attempt` and `task` (the worker then fetches the task). */
export const ClaimResponse = z.looseObject({
  success: z.literal(true),
  task_id: z.string(),
  worker_id: z.string(),
  attempt: z.number().optional(),
  lease_expires_at: z.string().optional().nullable(),
  task: Task.optional(),
});
export type ClaimResponse = Known<typeof ClaimResponse>;
/** The release answer; `next` only when the body asked for it (claim_next) and this server does (absent: claim as usual). */
export const ReleaseAnswer = z.looseObject({ success: z.literal(true), task: Task.optional(), next: ClaimResponse.nullable().optional() });
export type ReleaseAnswer = Known<typeof ReleaseAnswer>;
export const TaskHeartbeatResponse = z.looseObject({
  success: z.literal(true),
  lease_expires_at: z.string(),
  cancel_requested: z.boolean(),
});
export type TaskHeartbeatResponse = Known<typeof TaskHeartbeatResponse>;

/** The server keeps at most this much of a worktree run's diff (bytes of UTF-8). */
export const DIFF_CAP_BYTES = 1024 * 1024;

/** Event names an (older) server may use for a new task; our worker accepts all of them. */
export const TASK_EVENT_NAMES = ["task", "task_available", "task_assigned", "task.created", "task.assigned"];

/** A session as the server lists it: the record as synced, with where it is kept. */
export const StoredSession = z.looseObject({
  id: z.string(),
  codebase_id: z.string().nullable().optional(),
  task_id: z.string().nullable().optional(),
  title: z.string().nullable().optional(),
  updated: z.string().nullable().optional(),
  messageCount: z.number().nullable().optional(),
  // usage and tool statistics our workers add when they sync; anything else reads as absent
  cost: z.number().nullable().optional().catch(null),
  tokens: z.object({ input: z.number(), output: z.number() }).nullable().optional().catch(null),
  tools: z
    .array(z.object({ tool: z.string(), calls: z.number(), errors: z.number() }))
    .nullable()
    .optional()
    .catch(null),
});
export type StoredSession = Known<typeof StoredSession>;

export const StoredMessage = z.looseObject({
  id: z.string(),
  role: z.string().nullable().optional(),
  parts: z
    .array(z.looseObject({ type: z.string(), text: z.string().nullable().optional(), tool: z.string().nullable().optional(), state: z.unknown().optional() }))
    .default([]),
});
export type StoredMessage = Known<typeof StoredMessage>;
