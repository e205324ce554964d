// Row <-> object mapping and the pieces of storage logic both stores share, so SQLite and
// PostgreSQL cannot drift apart: JSON columns, booleans, output dedupe/cap planning, worker counts.
import type { MessageRecord, SessionRecord, Task } from "../../protocol/index.ts";
import type { AppendResult, CodebaseRow, TaskRow, WorkerCounts, WorkerRow } from "./types.ts";

type Raw = Record<string, any>;

/** SQLite hands JSON columns back as text, postgres.js as parsed jsonb. */
function fromJson<T>(v: unknown, dflt: T): T {
  if (v === null || v === undefined) return dflt;
  return (typeof v === "string" ? JSON.parse(v) : v) as T;
}
const num = (v: unknown) => Number(v);
const numOrNull = (v: unknown) => (v === null || v === undefined ? null : Number(v));

export const TASK_COLUMNS = [
  "id",
  "codebase_id",
  "route",
  "title",
  "prompt",
  "agent_type",
  "model",
  "priority",
  "status",
  "metadata",
  "target_worker_id",
  "target_agent_name",
  "worker_id",
  "session_id",
  "result",
  "error",
  "attempt",
  "max_attempts",
  "timeout_s",
  "lease_expires_at",
  "cancel_requested",
  "output_bytes",
  "output_count",
  "output_truncated",
  "created_at",
  "updated_at",
  "started_at",
  "completed_at",
  "isolation",
  "branch",
  "commit_sha",
  "diff_files",
  "diff_insertions",
  "diff_deletions",
  "diff_truncated",
  "required_capabilities",
] as const;
/** Task columns holding JSON (text in SQLite, jsonb in PostgreSQL). */
export const TASK_JSON_COLUMNS: ReadonlySet<string> = new Set(["metadata", "required_capabilities"]);

/** Columns a transition may change; `mutateTask` writes exactly these. */
export const TASK_MUTABLE = [
  "status",
  "worker_id",
  "session_id",
  "result",
  "error",
  "attempt",
  "lease_expires_at",
  "cancel_requested",
  "updated_at",
  "started_at",
  "completed_at",
  "branch",
  "commit_sha",
  "diff_files",
  "diff_insertions",
  "diff_deletions",
  "diff_truncated",
] as const;
/** Written only when a decision replaced the metadata object (register_codebase declines,
 * routes/decline.ts): rewriting it on every heartbeat would cost as much as the metadata is big. */
export const withMetadata = (before: TaskRow, next: TaskRow) => (next.metadata !== before.metadata ? ([...TASK_MUTABLE, "metadata"] as const) : TASK_MUTABLE);

export function toTaskRow(r: Raw): TaskRow {
  return {
    id: r.id,
    codebase_id: r.codebase_id ?? null,
    route: r.route,
    title: r.title ?? null,
    prompt: r.prompt,
    agent_type: r.agent_type,
    model: r.model ?? null,
    priority: num(r.priority),
    status: r.status,
    metadata: fromJson(r.metadata, {}),
    target_worker_id: r.target_worker_id ?? null,
    target_agent_name: r.target_agent_name ?? null,
    worker_id: r.worker_id ?? null,
    session_id: r.session_id ?? null,
    result: r.result ?? null,
    error: r.error ?? null,
    attempt: num(r.attempt),
    max_attempts: num(r.max_attempts),
    timeout_s: numOrNull(r.timeout_s),
    lease_expires_at: r.lease_expires_at ?? null,
    cancel_requested: !!r.cancel_requested,
    output_bytes: num(r.output_bytes),
    output_count: num(r.output_count),
    output_truncated: !!r.output_truncated,
    created_at: r.created_at,
    updated_at: r.updated_at,
    started_at: r.started_at ?? null,
    completed_at: r.completed_at ?? null,
    isolation: r.isolation ?? null,
    branch: r.branch ?? null,
    commit_sha: r.commit_sha ?? null,
    diff_files: numOrNull(r.diff_files),
    diff_insertions: numOrNull(r.diff_insertions),
    diff_deletions: numOrNull(r.diff_deletions),
    diff_truncated: r.diff_truncated === null || r.diff_truncated === undefined ? null : !!r.diff_truncated,
    required_capabilities: fromJson(r.required_capabilities, []),
  };
}

/** The wire object: bookkeeping columns stay inside the server. */
export function toWireTask(t: TaskRow): Task {
  const { route: _r, output_bytes: _b, output_count: _c, commit_sha, diff_files, diff_insertions, diff_deletions, ...wire } = t;
  const diff_stat = diff_files === null ? null : { files: diff_files, insertions: diff_insertions ?? 0, deletions: diff_deletions ?? 0 };
  return { ...wire, commit: commit_sha, diff_stat };
}

export function toWorkerRow(r: Raw): WorkerRow {
  return {
    worker_id: r.worker_id,
    name: r.name,
    capabilities: fromJson(r.capabilities, []),
    hostname: r.hostname ?? null,
    models: fromJson(r.models, []),
    codebases: fromJson(r.codebases, []),
    global_codebase_id: r.global_codebase_id ?? null,
    max_concurrent_tasks: numOrNull(r.max_concurrent_tasks),
    version: r.version ?? null,
    registered_at: r.registered_at,
    last_seen: r.last_seen,
    unregistered_at: r.unregistered_at ?? null,
    owner: r.owner ?? null,
    instance_id: r.instance_id ?? null,
    instance_pid: numOrNull(r.instance_pid),
    instance_started_at: r.instance_started_at ?? null,
  };
}

export function toCodebaseRow(r: Raw): CodebaseRow {
  return {
    id: r.id,
    name: r.name,
    path: r.path,
    description: r.description ?? null,
    worker_id: r.worker_id,
    agent_config: fromJson(r.agent_config, null),
    registered_at: r.registered_at,
    status: r.status,
    isolation: r.isolation ?? null,
  };
}

/** Column values of a session record; the whole record is kept in `data` for fields we do not model. */
export function sessionColumns(s: SessionRecord) {
  return {
    id: s.id,
    task_id: s.task_id ?? null,
    title: s.title ?? null,
    directory: s.directory ?? null,
    project_id: s.project_id ?? null,
    created: s.created ?? null,
    updated: s.updated ?? null,
    message_count: s.messageCount ?? null,
    data: JSON.stringify(s),
  };
}

export function sessionOut(r: Raw): Record<string, unknown> {
  return {
    ...fromJson<Record<string, unknown>>(r.data, {}),
    id: r.id,
    codebase_id: r.codebase_id,
    worker_id: r.worker_id ?? null,
    // a session names its task, or is linked through the task that reported it (tasks.session_id)
    task_id: r.linked_task_id ?? r.task_id ?? null,
    title: r.title ?? null,
    directory: r.directory ?? null,
    project_id: r.project_id ?? null,
    created: r.created ?? null,
    updated: r.updated ?? null,
    messageCount: numOrNull(r.message_count),
    synced_at: r.synced_at,
  };
}

export function messageColumns(m: MessageRecord) {
  return { id: m.id, role: m.role ?? null, created: m.time?.created ?? null, data: JSON.stringify(m) };
}

export function messageOut(r: Raw): Record<string, unknown> {
  return { ...fromJson<Record<string, unknown>>(r.data, {}), id: r.id, sessionID: r.session_id, codebase_id: r.codebase_id, synced_at: r.synced_at };
}

export interface OutputPlan {
  rows: { seq: number; line: string }[];
  bytes: number;
  duplicates: number;
  dropped: number;
  truncated: boolean;
}

/**
 * Which lines of a batch to store: lines whose (attempt, seq) is already stored are
 * duplicates (a retried batch); once the task's output reaches `cap` bytes the rest is
 * dropped and the task is marked truncated, so one chatty agent cannot fill the disk.
 */
export function planOutput(lines: string[], firstSeq: number, existing: Set<number>, usedBytes: number, cap: number, truncated: boolean): OutputPlan {
  const plan: OutputPlan = { rows: [], bytes: 0, duplicates: 0, dropped: 0, truncated };
  for (let i = 0; i < lines.length; i++) {
    const seq = firstSeq + i;
    if (existing.has(seq)) {
      plan.duplicates++;
      continue;
    }
    const line = lines[i]!;
    const b = Buffer.byteLength(line);
    if (plan.truncated || usedBytes + plan.bytes + b > cap) {
      plan.truncated = true;
      plan.dropped++;
      continue;
    }
    plan.rows.push({ seq, line });
    plan.bytes += b;
  }
  return plan;
}

/** What appendOutput answers once `plan` is stored and the task holds `count` lines. */
export function appendResult(t: TaskRow, plan: OutputPlan, count: number): AppendResult {
  const task = { ...t, output_bytes: t.output_bytes + plan.bytes, output_count: count, output_truncated: plan.truncated };
  return {
    task,
    stored: plan.rows.length,
    bytes: plan.bytes,
    duplicates: plan.duplicates,
    dropped: plan.dropped,
    newlyTruncated: plan.truncated && !t.output_truncated,
  };
}

export const outputLine = (r: Raw) => ({ seq: num(r.seq), attempt: num(r.attempt), line: r.line as string, timestamp: r.ts as string });

/** workerCounts from two row sets: codebases (worker_id, n) and workers (worker_id, done: completed, run: running). */
export function countsByWorker(codebases: Raw[], tasks: Raw[]): Map<string, WorkerCounts> {
  const out = new Map<string, WorkerCounts>();
  const get = (id: string) => out.get(id) ?? out.set(id, { codebases: 0, completed: 0, running: 0 }).get(id)!;
  for (const r of codebases) get(r.worker_id).codebases = Number(r.n);
  for (const r of tasks) Object.assign(get(r.worker_id), { completed: Number(r.done), running: Number(r.run) });
  return out;
}
