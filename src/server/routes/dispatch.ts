// Dispatch: the worker task stream (push), claims, task heartbeats (leases), release, and
// routing updates of an open stream. Each acts only for the worker instance that holds the
// worker id (../identity.ts; task heartbeat and release through callerFor): a replaced
// process gets 409 worker_replaced.
import { ClaimBody, DIFF_CAP_BYTES, ReleaseBody, ROUTES, StreamQuery, TaskHeartbeatBody, UpdateStreamCodebasesBody } from "../../protocol/index.ts";
import { errorMessage } from "../../util/errors.ts";
import { log } from "../../util/log.ts";
import { workerIdentity } from "../auth.ts";
import { isoIn, nowIso, type ServerContext } from "../context.ts";
import { badRequest, HttpError, json, notFound, parse, queryObject, readObject } from "../http.ts";
import { MAX_INITIAL, type WorkerStream } from "../hub.ts";
import { assertInstance } from "../identity.ts";
import { capDiff, heartbeat, release } from "../lifecycle.ts";
import type { Req, RouteDef } from "../router.ts";
import { fits, type Claimant } from "../routing.ts";
import { sseResponse } from "../sse.ts";
import { toWireTask } from "../store/rows.ts";
import type { ClaimResult, TaskRow } from "../store/types.ts";
import { announce, callerFor } from "./tasks.ts";

/**
 * Routes a stream hears about: those the worker may claim from (codebases it owns, and
 * "global" once it registered its home as "global"), narrowed to the ids it names when it
 * names any. Naming another worker's codebase does not route that codebase's tasks to it.
 */
async function routesFor(ctx: ServerContext, workerId: string, named: string[]): Promise<Set<string>> {
  const owned = new Set<string>();
  for (const c of await ctx.store.workerCodebases(workerId)) {
    owned.add(c.id);
    if (c.name === "global") owned.add("global");
  }
  if (!named.length) return owned;
  return new Set(named.filter((id) => owned.has(id)));
}

function headerList(req: Request, name: string): string[] {
  const items = (req.headers.get(name) ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (items.length > 10_000 || items.some((s) => s.length > 200)) throw badRequest(name, "at most 10000 comma-separated ids of at most 200 characters");
  return items;
}

async function stream(r: Req) {
  const { req, url, ctx } = r;
  const q = parse(StreamQuery, queryObject(url), "query");
  const workerId = (await workerIdentity(ctx.auth, r.principal, req, url))!;
  await assertInstance(ctx, req, workerId);
  const routes = await routesFor(ctx, workerId, headerList(req, "X-Codebases"));
  const claimant: Claimant | null = await ctx.store.getWorker(workerId);
  return sseResponse(req, r.server, ctx.streamHeartbeatMs, (sink) => {
    const s: WorkerStream = { workerId, agentName: q.agent_name ?? null, routes, claimant, sink, opening: new Set() };
    const off = ctx.hub.addStream(s);
    sink.send("connected", { worker_id: workerId, codebases: [...routes], settings: ctx.settings });
    // What it runs already counts against its slots when tasks are handed out (hub.ts).
    ctx.store
      .listTasks({ worker_id: workerId, status: "running", order: "default", cursor: null, limit: MAX_INITIAL })
      .then((page) =>
        ctx.hub.holding(
          workerId,
          page.tasks.map((t) => t.id),
        ),
      )
      .catch((err) => log("warn", "could not list a stream's running tasks", { worker: workerId, error: errorMessage(err) }));
    ctx.store
      .pendingFor(workerId, [...routes], MAX_INITIAL)
      .then((tasks) => {
        for (const t of tasks) if (!s.opening!.has(t.id) && fits(t, s.claimant)) sink.send("task_available", toWireTask(t));
      })
      .catch((err) => log("warn", "could not list pending tasks for a stream", { worker: workerId, error: errorMessage(err) }))
      .finally(() => {
        s.opening = undefined;
      });
    log("debug", "task stream opened", { worker: workerId, routes: routes.size });
    return () => {
      off();
      log("debug", "task stream closed", { worker: workerId });
    };
  });
}

/** What a task asks of its worker beyond the codebase, in words (a 409's message). */
function needs(t: TaskRow): string {
  const parts: string[] = [];
  if (t.target_agent_name) parts.push(`the name ${t.target_agent_name}`);
  if (t.required_capabilities.length) parts.push(`capabilities ${t.required_capabilities.join(", ")}`);
  if (t.model) parts.push(`model ${t.model}`);
  return parts.join(" and ");
}

function whyNot(t: TaskRow, workerId: string, w: Claimant | null): string {
  if (t.status !== "pending") return `task ${t.id} is ${t.status}${t.worker_id ? ` (held by ${t.worker_id})` : ""}`;
  if (t.target_worker_id && t.target_worker_id !== workerId) return `task ${t.id} is targeted at worker ${t.target_worker_id}`;
  if (!fits(t, w)) return `task ${t.id} needs ${needs(t)}, which worker ${workerId} does not advertise`;
  return t.route === "global"
    ? `task ${t.id} needs a worker that registered its global codebase; ${workerId} did not`
    : `task ${t.id} belongs to codebase ${t.route}, which worker ${workerId} did not register`;
}

async function claim(r: Req) {
  const { req, url, ctx } = r;
  const b = parse(ClaimBody, await readObject(req, ctx.maxBodyBytes));
  const workerId = await workerIdentity(ctx.auth, r.principal, req, url, b.worker_id);
  if (!workerId) throw badRequest("X-Worker-ID", "required: the claiming worker's id (header, or worker_id in the body)");
  await assertInstance(ctx, req, workerId);
  const res = await claimFor(ctx, workerId, b.task_id ?? null, b.busy_codebases ?? []);
  if (res.ok) return json(claimAnswer(workerId, res.task));
  if (res.reason === "none") return new Response(null, { status: 204 });
  if (res.reason === "not_found") throw notFound("task", b.task_id!, "task_id");
  const t = await ctx.store.getTask(b.task_id!);
  throw new HttpError(409, "not_claimable", t ? whyNot(t, workerId, await ctx.store.getWorker(workerId)) : `task ${b.task_id} is not claimable`);
}

/** A claim by a worker whose identity and instance were checked: the store decides, the hub and metrics hear of it. */
async function claimFor(ctx: ServerContext, workerId: string, taskId: string | null, busy: string[]) {
  return claimed(ctx, workerId, await ctx.store.claim(workerId, taskId, nowIso(), isoIn(ctx.leaseMs), { busy }));
}

function claimed(ctx: ServerContext, workerId: string, res: ClaimResult): ClaimResult {
  ctx.hub.claimed(workerId, res.ok ? res.task.id : null);
  if (res.ok) {
    ctx.metrics.claimed(res.task);
    log("info", "task claimed", { task: res.task.id, worker: workerId, attempt: res.task.attempt, of: res.task.max_attempts });
  }
  return res;
}

const claimAnswer = (workerId: string, t: TaskRow) => ({
  success: true,
  task_id: t.id,
  worker_id: workerId,
  attempt: t.attempt,
  lease_expires_at: t.lease_expires_at,
  task: toWireTask(t),
});

async function taskHeartbeat(r: Req) {
  const b = parse(TaskHeartbeatBody, await readObject(r.req, r.ctx.maxBodyBytes));
  const caller = await callerFor(r, b.worker_id, b.attempt);
  const res = await r.ctx.store.mutateTask(b.task_id, (t) => heartbeat(t, caller, nowIso(), isoIn(r.ctx.leaseMs)));
  if (!res) throw notFound("task", b.task_id, "task_id");
  return json(res.value);
}

/** A release may carry a worktree run's diff (up to DIFF_CAP_BYTES, more once JSON-escaped) besides the usual body. */
const RELEASE_DIFF_ALLOWANCE = 4 * DIFF_CAP_BYTES;

async function releaseTask(r: Req) {
  const b = parse(ReleaseBody, await readObject(r.req, r.ctx.maxBodyBytes + RELEASE_DIFF_ALLOWANCE));
  const caller = await callerFor(r, b.worker_id, b.attempt);
  const diff = b.diff != null ? capDiff(b.diff, !!b.diff_truncated) : null;
  const report = diff ? { ...b, diff_truncated: diff.truncated } : b;
  // The worker's next task in the same answer (extension, issue 13), claimed in the same
  // transaction, only after a final report that changed something: a repeated one (its
  // answer was lost) may already have claimed one, and the worker then claims as usual; a
  // hand-back (no final status) claims nothing, or it could take the same task again.
  const worker = b.claim_next && b.status && b.status !== "pending" ? caller.worker_id : null;
  // One clock reading for both: the next task never starts before this one ended.
  const now = nowIso();
  const then = worker ? { workerId: worker, now, leaseUntil: isoIn(r.ctx.leaseMs), limits: { busy: b.busy_codebases ?? [] } } : undefined;
  const res = await r.ctx.store.mutateTask(b.task_id, (t) => release(t, caller, report, now), then);
  if (!res) throw notFound("task", b.task_id, "task_id");
  // After the release was accepted (fencing passed): a stale run's diff is never stored.
  // A retried release stores the same diff again.
  if (diff) await r.ctx.store.putTaskDiff(b.task_id, diff.diff, diff.truncated, nowIso());
  announce(r.ctx, res.change, b.status && b.status !== "pending" ? undefined : "released without a final status");
  const answer = { success: true, task: toWireTask(res.change.after) };
  if (!worker || !res.claimed) return json(answer);
  const next = claimed(r.ctx, worker, res.claimed);
  return json({ ...answer, next: next.ok ? claimAnswer(worker, next.task) : null });
}

async function updateRouting(r: Req) {
  const { req, url, ctx } = r;
  const workerId = await workerIdentity(ctx.auth, r.principal, req, url);
  if (!workerId) throw badRequest("query.worker_id", "required: the worker whose stream to update");
  await assertInstance(ctx, req, workerId);
  const b = parse(UpdateStreamCodebasesBody, await readObject(req, ctx.maxBodyBytes));
  // Without a bus between replicas (one SQLite server), only a stream here can be updated.
  if (!ctx.crossReplica && !ctx.hub.streamsOf(workerId).length)
    throw new HttpError(404, "no_stream", `worker ${workerId} has no open task stream on this server`);
  const routes = await routesFor(ctx, workerId, b.codebases);
  // Applied here, and by whichever replica holds the worker's stream (hub.setRoutes publishes it).
  await ctx.hub.setRoutes(workerId, [...routes]);
  return json({ success: true, codebases: [...routes] });
}

export const dispatchRoutes: RouteDef[] = [
  { method: "GET", path: ROUTES.stream, handler: stream },
  { method: "POST", path: ROUTES.claim, handler: claim },
  { method: "POST", path: ROUTES.taskHeartbeat, handler: taskHeartbeat },
  { method: "POST", path: ROUTES.release, handler: releaseTask },
  { method: "PUT", path: ROUTES.streamCodebases, handler: updateRouting },
];
