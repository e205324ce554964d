// Tasks: create, list, get, cancel, and the legacy PUT status. Also the one place that
// logs a task's state changes and pushes them (announce*), used by every route that
// changes tasks and by the sweeper.
import { CreateTaskBody, isFinal, ListTasksQuery, ROUTES, TaskStatusBody } from "../../protocol/index.ts";
import { log } from "../../util/log.ts";
import { workerIdentity } from "../auth.ts";
import { nowIso, type ServerContext } from "../context.ts";
import { badRequest, json, notFound, parse, queryObject, readObject } from "../http.ts";
import { assertInstance } from "../identity.ts";
import { cancel, setStatus, type Caller } from "../lifecycle.ts";
import { linkHeader } from "../paging.ts";
import type { Req, RouteDef } from "../router.ts";
import { waitingReason } from "../routing.ts";
import { toWireTask } from "../store/rows.ts";
import { decodeCursor, encodeCursor } from "../store/task-list.ts";
import type { TaskChange, TaskRow } from "../store/types.ts";

/** Logs and pushes one task change: finished -> output followers; back to pending -> worker streams. */
export function announce(ctx: ServerContext, { before, after }: TaskChange, why?: string): void {
  if (before.status === after.status) return;
  if (before.status === "running" && why === "lease expired") ctx.metrics.leaseExpired(after);
  if (isFinal(after.status)) {
    ctx.metrics.finished(after);
    log(after.status === "completed" ? "info" : "warn", `task ${after.status}`, {
      task: after.id,
      worker: after.worker_id ?? undefined,
      attempt: after.attempt,
      why: before.status === "running" && why ? why : undefined,
      error: after.status !== "completed" && after.error ? after.error.slice(0, 200) : undefined,
    });
    ctx.hub.final(after.id);
  } else if (after.status === "pending") {
    log("warn", "task requeued", { task: after.id, from: before.worker_id ?? undefined, attempt: after.attempt, of: after.max_attempts, why });
    ctx.hub.taskAvailable(after);
  }
}

export function announceChanges(ctx: ServerContext, changes: TaskChange[], why?: string): void {
  for (const c of changes) announce(ctx, c, why);
}

/**
 * The worker a task-changing call comes from, and the attempt it claims to hold.
 * Either must be present; with a named token the worker id must be (see auth.ts).
 * A process replaced by another instance of that worker is refused (409, ../identity.ts).
 */
export async function callerFor(r: Req, bodyWorkerId: string | null | undefined, attempt: number | null | undefined): Promise<Caller> {
  const id = await workerIdentity(r.ctx.auth, r.principal, r.req, r.url, bodyWorkerId);
  await assertInstance(r.ctx, r.req, id);
  if (id === null && (attempt === null || attempt === undefined)) {
    throw badRequest("worker_id", "required: send worker_id (body or query), the X-Worker-ID header, or the attempt you hold");
  }
  if (id === null && r.principal.name !== null) throw badRequest("worker_id", "required with a named token: send worker_id or X-Worker-ID");
  return { worker_id: id, attempt: attempt ?? null };
}

type NewTask = Pick<
  TaskRow,
  | "codebase_id"
  | "title"
  | "prompt"
  | "agent_type"
  | "model"
  | "priority"
  | "metadata"
  | "target_worker_id"
  | "target_agent_name"
  | "max_attempts"
  | "timeout_s"
> &
  Partial<Pick<TaskRow, "isolation" | "required_capabilities">>;

/** A fresh pending task row; `route` is what claims match on (null and "global" share the "global" route). */
export function newTask(f: NewTask): TaskRow {
  const now = nowIso();
  return {
    ...f,
    isolation: f.isolation ?? null,
    required_capabilities: f.required_capabilities ?? [],
    id: Bun.randomUUIDv7(),
    route: f.codebase_id ?? "global",
    status: "pending",
    worker_id: null,
    session_id: null,
    result: null,
    error: null,
    attempt: 0,
    lease_expires_at: null,
    cancel_requested: false,
    output_bytes: 0,
    output_count: 0,
    output_truncated: false,
    created_at: now,
    updated_at: now,
    started_at: null,
    completed_at: null,
    branch: null,
    commit_sha: null,
    diff_files: null,
    diff_insertions: null,
    diff_deletions: null,
    diff_truncated: null,
  };
}

async function create({ req, principal, ctx }: Req) {
  const b = parse(CreateTaskBody, await readObject(req, ctx.maxBodyBytes));
  const codebaseId = b.codebase_id || null;
  const codebase = codebaseId && codebaseId !== "global" ? await ctx.store.getCodebase(codebaseId) : null;
  if (codebaseId && codebaseId !== "global" && !codebase) throw notFound("codebase", codebaseId, "codebase_id");
  const row = newTask({
    codebase_id: codebaseId,
    title: b.title ?? null,
    prompt: b.prompt,
    agent_type: b.agent_type,
    model: b.model ?? null,
    priority: b.priority,
    metadata: b.metadata,
    target_worker_id: b.target_worker_id ?? null,
    target_agent_name: b.target_agent_name ?? null,
    max_attempts: b.max_attempts,
    timeout_s: b.timeout_s ?? null,
    // The codebase's setting is fixed into the task when it is made: the claim (which lets a
    // worktree task run beside a busy directory) and the worker then read one field.
    isolation: b.isolation ?? codebase?.isolation ?? null,
    required_capabilities: [...new Set(b.required_capabilities ?? [])],
  });
  const task = await ctx.store.insertTask(row);
  ctx.metrics.created(task);
  log("info", "task created", {
    task: task.id,
    codebase: task.codebase_id ?? "global",
    agent: task.agent_type,
    priority: task.priority || undefined,
    target: task.target_worker_id ?? undefined,
    by: principal.name ?? undefined,
  });
  // A worker here can take it: no waiting reason to look for (it reads every worker and codebase).
  if (ctx.hub.taskAvailable(task) > 0) return json(toWireTask(task), 201);
  return json(await withWaitingReason(ctx, task), 201);
}

/**
 * A page of tasks as a bare array (what every existing client expects); the way to the next
 * page is the `Link` header and the number of matching tasks is `X-Total-Count`, counted up to
 * ctx.listCountCap: an exact count reads every matching index entry (40 ms at 100,000 tasks on
 * PostgreSQL), while "more than 10,000" is all a person needs at that size. Past the cap
 * X-Total-Count is left out and X-Total-Count-At-Least gives the cap.
 */
async function list({ url, ctx }: Req) {
  const q = parse(ListTasksQuery, queryObject(url), "query");
  const cursorField = q.order === "newest" ? "before" : "after";
  const wrongField = q.order === "newest" ? "after" : "before";
  if (q[wrongField]) throw badRequest(`query.${wrongField}`, `not used with order=${q.order}: its next page comes from ?${cursorField}=`);
  const raw = q[cursorField];
  const cursor = raw ? decodeCursor(q.order, raw) : null;
  if (raw && !cursor) throw badRequest(`query.${cursorField}`, `not a cursor for order=${q.order}: take it from the Link header of the previous page`);
  const filter = { status: q.status, codebase_id: q.codebase_id, worker_id: q.worker_id, id_prefix: q.id_prefix };
  const t0 = performance.now();
  const [page, counted] = await Promise.all([
    ctx.store.listTasks({ ...filter, order: q.order, cursor, limit: q.limit }),
    ctx.store.countTasks(filter, ctx.listCountCap + 1),
  ]);
  // Server-Timing: the store's share of the answer, visible in browser devtools and to the benchmark.
  const headers: Record<string, string> = { "server-timing": `db;dur=${(performance.now() - t0).toFixed(2)}` };
  if (counted > ctx.listCountCap) headers["x-total-count-at-least"] = String(ctx.listCountCap);
  else headers["x-total-count"] = String(counted);
  if (page.next) headers.link = linkHeader(url, cursorField, encodeCursor(q.order, page.next));
  return json(page.tasks.map(toWireTask), 200, headers);
}

/** A single task as people read it: a pending one says why it waits when no live worker can take it. */
async function withWaitingReason(ctx: ServerContext, t: TaskRow) {
  const reason = await waitingReason(ctx, t);
  return reason ? { ...toWireTask(t), waiting_reason: reason } : toWireTask(t);
}

async function get({ params, ctx }: Req) {
  const t = await ctx.store.getTask(params.id!);
  if (!t) throw notFound("task", params.id!);
  return json(await withWaitingReason(ctx, t));
}

/** A worktree run's diff (extension), as stored: `diff` null when the task reported none. */
async function diff({ params, ctx }: Req) {
  const t = await ctx.store.getTask(params.id!);
  if (!t) throw notFound("task", params.id!);
  const d = await ctx.store.getTaskDiff(t.id);
  return json({ task_id: t.id, diff: d?.diff ?? null, truncated: d?.truncated ?? false });
}

async function cancelTask({ params, principal, ctx }: Req) {
  const now = nowIso();
  const res = await ctx.store.mutateTask(params.id!, (t) => cancel(t, now));
  if (!res) throw notFound("task", params.id!);
  const { before, after } = res.change;
  if (after.cancel_requested && !before.cancel_requested) {
    log("info", "task cancel requested", { task: after.id, worker: after.worker_id ?? undefined, by: principal.name ?? undefined });
    ctx.hub.cancelRequested(after);
  }
  announce(ctx, res.change);
  return json({ success: true, task: toWireTask(after) });
}

async function putStatus(r: Req) {
  const b = parse(TaskStatusBody, await readObject(r.req, r.ctx.maxBodyBytes));
  const caller = await callerFor(r, b.worker_id, b.attempt);
  const res = await r.ctx.store.mutateTask(r.params.id!, (t) => setStatus(t, caller, b, nowIso()));
  if (!res) throw notFound("task", r.params.id!);
  announce(r.ctx, res.change);
  return json({ success: true, task: toWireTask(res.change.after) });
}

export const taskRoutes: RouteDef[] = [
  { method: "POST", path: ROUTES.tasks, handler: create },
  { method: "GET", path: ROUTES.tasks, handler: list },
  { method: "GET", path: ROUTES.task, handler: get },
  { method: "GET", path: ROUTES.taskDiff, handler: diff },
  { method: "POST", path: ROUTES.cancelTask, handler: cancelTask },
  { method: "PUT", path: ROUTES.taskStatus, handler: putStatus },
];
