// Registration by path, the "no" answer: a worker that sees a register_codebase task on its
// stream but lacks the path declines it (`POST /v1/worker/tasks/decline`). Declines are kept
// in the task's metadata (`declined`), where `task show` and `codebase register --wait` can
// name them; once every active worker has declined, nobody can register the path and the
// task fails at once instead of staying pending forever (issue 17).
import { DeclineBody, ROUTES, type Task } from "../../protocol/index.ts";
import { workerIdentity } from "../auth.ts";
import { nowIso, workerStatus, type ServerContext } from "../context.ts";
import { badRequest, HttpError, json, notFound, parse, readObject } from "../http.ts";
import { finish } from "../lifecycle.ts";
import type { Req, RouteDef } from "../router.ts";
import { toWireTask } from "../store/rows.ts";
import type { TaskRow } from "../store/types.ts";
import { announce } from "./tasks.ts";

export interface Decline {
  worker_id: string;
  reason: string | null;
  at: string;
}

/** The declines recorded on a task (metadata.declined), tolerating anything else stored there. */
export function declinesOf(t: Pick<Task, "metadata">): Decline[] {
  const d = (t.metadata as { declined?: unknown } | null)?.declined;
  return Array.isArray(d) ? d.filter((x): x is Decline => !!x && typeof x.worker_id === "string") : [];
}

/** "no worker has /srv/api: w1 (does not exist), w2 (is outside allowed_paths ...)". */
export function noWorkerMessage(t: Pick<Task, "metadata">, declined: Decline[]): string {
  const path = String((t.metadata as { path?: unknown }).path ?? "the path");
  const who = declined.map((d) => (d.reason ? `${d.worker_id} (${d.reason})` : d.worker_id)).join(", ");
  return `no active worker has ${path}: declined by ${who}`;
}

/**
 * Pure, under the task's row lock: records the decline (one per worker) and fails the task
 * when every active worker has declined. A task already taken or final is left alone.
 */
export function recordDecline(t: TaskRow, d: Decline, active: string[], now: string) {
  if (t.agent_type !== "register_codebase") {
    throw new HttpError(409, "not_declinable", `task ${t.id} is a ${t.agent_type} task; only register_codebase tasks can be declined`);
  }
  if (t.status !== "pending") return { next: null, value: t };
  const declined = [...declinesOf(t).filter((x) => x.worker_id !== d.worker_id), d];
  const recorded = { ...t, metadata: { ...t.metadata, declined }, updated_at: now };
  const next = unanswerable(recorded, active, now) ?? recorded;
  return { next, value: next };
}

/** The task failed, when no active worker is left that has not declined it; else null. */
function unanswerable(t: TaskRow, active: string[], now: string): TaskRow | null {
  const declined = declinesOf(t);
  if (!declined.length) return null;
  const asked = new Set(declined.map((d) => d.worker_id));
  if (!active.every((id) => asked.has(id))) return null;
  return finish(t, "failed", { error: noWorkerMessage(t, declined) }, now);
}

async function activeWorkers(ctx: ServerContext): Promise<string[]> {
  return (await ctx.store.listWorkers()).rows.filter((w) => workerStatus(w, ctx.heartbeatIntervalS) === "active").map((w) => w.worker_id);
}

async function decline(r: Req) {
  const { req, url, ctx } = r;
  const b = parse(DeclineBody, await readObject(req, ctx.maxBodyBytes));
  const workerId = await workerIdentity(ctx.auth, r.principal, req, url, b.worker_id);
  if (!workerId) throw badRequest("worker_id", "required: the declining worker's id (X-Worker-ID header, or worker_id in the body)");
  const active = await activeWorkers(ctx);
  const now = nowIso();
  const res = await ctx.store.mutateTask(b.task_id, (t) => recordDecline(t, { worker_id: workerId, reason: b.reason ?? null, at: now }, active, now));
  if (!res) throw notFound("task", b.task_id, "task_id");
  announce(ctx, res.change);
  return json({ success: true, task: toWireTask(res.change.after) });
}

/**
 * A worker that went stale or offline can no longer answer: pending registrations that
 * every remaining active worker declined fail now (the sweeper calls this).
 */
export async function failUnanswerableRegistrations(ctx: ServerContext): Promise<void> {
  // Registrations are routed "global" and target no worker: what pendingFor("", ["global"]) lists.
  const waiting = (await ctx.store.pendingFor("", ["global"], 1000)).filter((t) => t.agent_type === "register_codebase" && declinesOf(t).length);
  if (!waiting.length) return;
  const active = await activeWorkers(ctx);
  for (const t of waiting) {
    const now = nowIso();
    const res = await ctx.store.mutateTask(t.id, (x) => ({ next: x.status === "pending" ? unanswerable(x, active, now) : null, value: null }));
    if (res) announce(ctx, res.change);
  }
}

export const declineRoutes: RouteDef[] = [{ method: "POST", path: ROUTES.decline, handler: decline }];
