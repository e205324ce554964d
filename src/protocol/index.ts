// PROTOCOL.md in code: zod schemas and types of every wire object, and (routes.ts) every
// path. The server validates requests with these; the client validates answers with them
// (src/client/). Never duplicate them. What servers answer lives in ./answers.ts (re-exported
// here): the worker imports only that, so it never builds the request schemas below.
import { z } from "zod";
import { DIFF_CAP_BYTES, DiffStat, Isolation, TaskStatus } from "./answers.ts";

export * from "./answers.ts";

// ---------- shared pieces ----------

/** Timestamps arrive as ISO 8601, naive ISO (taken as UTC) or epoch milliseconds; stored as ISO `...Z`. */
const Timestamp = z.union([z.string(), z.number()]).transform((v, ctx) => {
  let d: Date;
  if (typeof v === "number") d = new Date(v);
  else if (/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(v)) d = new Date(v.replace(" ", "T") + "Z");
  else d = new Date(v);
  if (!Number.isFinite(d.getTime()) || Math.abs(d.getTime()) > 8.64e15) {
    ctx.addIssue({ code: "custom", message: "expected an ISO 8601 timestamp or epoch milliseconds" });
    return z.NEVER;
  }
  return d.toISOString();
});

/** Ids travel in URL paths and HTTP headers: keep them printable and bounded. */
export const Id = z
  .string()
  .min(1, "must not be empty")
  .max(200, "at most 200 characters")
  .regex(/^[A-Za-z0-9._:@-]+$/, "only letters, digits and . _ : @ -");

export const ErrorBody = z.object({
  error: z.string(),
  message: z.string(),
  details: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
});
export type ErrorBody = z.infer<typeof ErrorBody>;

export const RegisterWorkerBody = z.object({
  worker_id: Id,
  name: z.string().min(1).max(200),
  capabilities: z.array(z.string().max(100)).max(100).default([]),
  hostname: z.string().max(255).optional().nullable(),
  models: z.array(z.unknown()).max(1000).default([]),
  codebases: z.array(z.string().max(200)).max(10000).default([]),
  global_codebase_id: z.string().max(200).optional().nullable(),
  max_concurrent_tasks: z.number().int().positive().max(10000).optional().nullable(),
  version: z.string().max(100).optional().nullable(),
  // Worker identity (issue 19; old servers ignore these, old workers omit them): the process
  // registering, and the instance it restarts after (same host, same data dir, dead process).
  instance_id: Id.optional().nullable(),
  pid: z.number().int().min(0).max(2_147_483_647).optional().nullable(),
  started_at: Timestamp.optional().nullable(),
  replaces: Id.optional().nullable(),
});
export type RegisterWorkerBody = z.input<typeof RegisterWorkerBody>;

export const CreateCodebaseBody = z.object({
  name: z.string().min(1).max(200),
  path: z.string().min(1).max(4096),
  description: z.string().max(10000).optional().nullable(),
  worker_id: Id.optional().nullable(),
  agent_config: z.record(z.string(), z.unknown()).optional().nullable(),
  /** Extension: a path already registered under another name is renamed instead of refused (409 codebase_exists). */
  rename: z.boolean().optional(),
  /** Extension: absent keeps what the record has (default shared). */
  isolation: Isolation.optional().nullable(),
});
export type CreateCodebaseBody = z.infer<typeof CreateCodebaseBody>;

/** `provider:model` is accepted and stored as `provider/model`. */
const ModelRef = z
  .string()
  .max(200)
  .regex(/^[^/:\s]+[/:].+$/, "expected provider/model")
  .transform((m) => (m.includes("/") ? m : m.replace(":", "/")));

export const CreateTaskBody = z.object({
  codebase_id: z.string().max(200).nullable().optional(),
  prompt: z
    .string()
    .min(1, "must not be empty")
    .max(512 * 1024),
  title: z.string().max(500).optional().nullable(),
  agent_type: z
    .string()
    .min(1)
    .max(100)
    .regex(/^[A-Za-z0-9._-]+$/, "only letters, digits and . _ -")
    .default("build"),
  model: ModelRef.optional().nullable(),
  priority: z.number().int().min(-1_000_000).max(1_000_000).default(0),
  metadata: z.record(z.string(), z.unknown()).default({}),
  target_worker_id: Id.optional().nullable(),
  target_agent_name: z.string().max(200).optional().nullable(),
  timeout_s: z
    .number()
    .positive()
    .max(7 * 24 * 3600)
    .optional()
    .nullable(),
  max_attempts: z.number().int().min(1).max(100).default(3),
  /** Extension: overrides the codebase's isolation for this task. */
  isolation: Isolation.optional().nullable(),
  /** Extension (issue 15): only a worker advertising every one of these may claim the task. */
  required_capabilities: z.array(z.string().trim().min(1).max(100)).max(100).optional().nullable(),
});
export type CreateTaskBody = z.infer<typeof CreateTaskBody>;

export const ListTasksQuery = z.object({
  status: TaskStatus.optional(),
  codebase_id: z.string().max(200).optional(),
  worker_id: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(10000).default(100),
  /** "default": priority desc, created_at asc (what workers poll); "newest": created_at desc (people). */
  order: z.enum(["default", "newest"]).default("default"),
  /** Paging cursors from the `Link: <...>; rel="next"` header: `before` for newest, `after` for default. */
  before: z.string().max(200).optional(),
  after: z.string().max(200).optional(),
  /** Tasks whose id starts with this (the CLI accepts a short id prefix wherever an id is). */
  id_prefix: z
    .string()
    .regex(/^[A-Za-z0-9_.:-]{1,200}$/, "letters, digits and _.:- only, at most 200")
    .optional(),
});
export type ListTasksQuery = z.infer<typeof ListTasksQuery>;

/**
 * Keyset paging of the other lists (workers, codebases, sessions, messages; extension): all
 * rows unless `limit` is given, as before; the next page is the `Link: <...>; rel="next"`
 * header's URL, whose cursor is `before` in the newest-first sessions list, `after` elsewhere.
 */
export const PageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(10000).optional(),
  after: z.string().max(1400).optional(),
  before: z.string().max(1400).optional(),
});

/** A final report's result (up to 10 MiB) and error (up to 1 MiB), in both report forms. */
const ResultText = z
  .string()
  .max(10 * 1024 * 1024)
  .optional()
  .nullable();
const ErrorText = z
  .string()
  .max(1024 * 1024)
  .optional()
  .nullable();

export const TaskStatusBody = z.object({
  status: TaskStatus,
  worker_id: z.string().max(200).optional().nullable(),
  session_id: z.string().max(200).optional().nullable(),
  result: ResultText,
  error: ErrorText,
  attempt: z.number().int().min(0).optional().nullable(),
});
export type TaskStatusBody = z.infer<typeof TaskStatusBody>;

export const OutputBatchBody = z.object({
  worker_id: z.string().max(200).optional().nullable(),
  attempt: z.number().int().min(0),
  seq: z.number().int().min(0),
  lines: z.array(z.string()).max(100_000),
});
export const OutputLegacyBody = z.object({
  worker_id: z.string().max(200).optional().nullable(),
  output: z.string(),
  timestamp: Timestamp.optional().nullable(),
  attempt: z.number().int().min(0).optional().nullable(),
});

export const OutputQuery = z.object({ since: z.coerce.number().int().min(0).default(0) });

// ---------- dispatch ----------

export const ClaimBody = z.object({
  task_id: Id.optional().nullable(),
  worker_id: Id.optional().nullable(),
  /**
   * Extension (issue 15): codebases whose directory a task of this worker is using now.
   * Their tasks are not claimable by this worker unless the task's own isolation is
   * `worktree`. Absent (legacy workers): no restriction.
   */
  busy_codebases: z.array(z.string().max(200)).max(10000).optional().nullable(),
});

export const TaskHeartbeatBody = z.object({ task_id: Id, worker_id: Id.optional().nullable(), attempt: z.number().int().min(0).optional().nullable() });

/** Extension: what a worktree run reports with its final state (see Task). */
export const WorktreeReport = z.object({
  branch: z.string().max(500).optional().nullable(),
  commit: z.string().max(100).optional().nullable(),
  diff_stat: DiffStat.optional().nullable(),
  diff_truncated: z.boolean().optional().nullable(),
  /** The change as `git diff`, cut by the worker at DIFF_CAP_BYTES (the server cuts there too). */
  diff: z
    .string()
    .max(4 * DIFF_CAP_BYTES)
    .optional()
    .nullable(),
});
export type WorktreeReport = z.infer<typeof WorktreeReport>;

export const ReleaseBody = z.object({
  task_id: Id,
  worker_id: Id.optional().nullable(),
  status: TaskStatus.optional().nullable(),
  result: ResultText,
  error: ErrorText,
  session_id: z.string().max(200).optional().nullable(),
  attempt: z.number().int().min(0).optional().nullable(),
  ...WorktreeReport.shape,
  /**
   * Extension (issue 13): after a release that changed the task, claim this worker's next
   * task in the same request (as a `{}`-claim with these `busy_codebases` would) and answer
   * it as `next` (null: nothing to claim). Saves a worker with a backlog one request per task.
   */
  claim_next: z.boolean().optional().nullable(),
  busy_codebases: ClaimBody.shape.busy_codebases,
});
export type ReleaseBody = z.infer<typeof ReleaseBody>;

/** Extension: a worker that lacks a register_codebase task's path says so (see PROTOCOL.md). */
export const DeclineBody = z.object({ task_id: Id, worker_id: Id.optional().nullable(), reason: z.string().max(1000).optional().nullable() });
export type DeclineBody = z.infer<typeof DeclineBody>;

export const StreamQuery = z.object({ worker_id: Id, agent_name: z.string().max(200).optional() });
export const UpdateStreamCodebasesBody = z.object({ codebases: z.array(z.string().max(200)).max(10000) });

// ---------- sessions ----------

export const SessionRecord = z
  .object({
    id: z.string().min(1).max(200),
    title: z.string().max(10000).optional().nullable(),
    directory: z.string().max(4096).optional().nullable(),
    project_id: z.string().max(200).optional().nullable(),
    created: Timestamp.optional().nullable(),
    updated: Timestamp.optional().nullable(),
    messageCount: z.number().int().min(0).max(2_147_483_647).optional().nullable(), // an INTEGER column in PostgreSQL
    summary: z.unknown().optional(),
    version: z.string().max(100).optional().nullable(),
    task_id: z.string().max(200).optional().nullable(),
    // Totals over the session's messages, where OpenCode recorded them (added by our workers).
    cost: z.number().min(0).optional().nullable(),
    tokens: z
      .object({ input: z.number().min(0), output: z.number().min(0) })
      .passthrough()
      .optional()
      .nullable(),
    tools: z
      .array(z.object({ tool: z.string().max(200), calls: z.number().int().min(0), errors: z.number().int().min(0) }))
      .max(1000)
      .optional()
      .nullable(),
  })
  .passthrough();
export type SessionRecord = z.infer<typeof SessionRecord>;

export const SessionsSyncBody = z.object({
  worker_id: z.string().max(200).optional().nullable(),
  sessions: z.array(SessionRecord).max(10000),
});

const MessagePart = z
  .object({
    id: z.string().max(200),
    type: z.string().max(100),
    text: z.string().optional().nullable(),
    tool: z.string().max(200).optional().nullable(),
    state: z.unknown().optional(),
  })
  .passthrough();

export const MessageRecord = z
  .object({
    id: z.string().min(1).max(200),
    sessionID: z.string().max(200).optional(),
    role: z.string().max(50).optional().nullable(),
    time: z.object({ created: Timestamp.optional().nullable() }).passthrough().optional().nullable(),
    agent: z.string().max(200).optional().nullable(),
    model: z.unknown().optional(),
    cost: z.number().optional().nullable(),
    tokens: z.unknown().optional(),
    parts: z.array(MessagePart).max(100000).default([]),
  })
  .passthrough();
export type MessageRecord = z.infer<typeof MessageRecord>;

export const MessagesSyncBody = z.object({
  worker_id: z.string().max(200).optional().nullable(),
  messages: z.array(MessageRecord).max(10000),
});
