// Health, monitoring and the worker registry: register (idempotent upsert; one live process
// per worker id, see ../identity.ts), heartbeat, unregister (hands its running tasks back at
// once), list/get.
import { RegisterWorkerBody, ROUTES, type MonitorWorker, type WorkerRecord } from "../../protocol/index.ts";
import { log } from "../../util/log.ts";
import { workerIdentity } from "../auth.ts";
import { nowIso, workerStatus, type ServerContext } from "../context.ts";
import { json, notFound, parse, readObject } from "../http.ts";
import { admitInstance, instanceOf, replacedError, requestInstance, type Admission } from "../identity.ts";
import { requeue } from "../lifecycle.ts";
import { pageHeaders, requestedPage } from "../paging.ts";
import type { Req, RouteDef } from "../router.ts";
import { normalizeModels } from "../routing.ts";
import type { TaskChange, WorkerRow } from "../store/types.ts";
import { announceChanges } from "./tasks.ts";

export function workerOut(w: WorkerRow, ctx: ServerContext): WorkerRecord {
  return {
    id: w.worker_id,
    worker_id: w.worker_id,
    name: w.name,
    capabilities: w.capabilities,
    hostname: w.hostname,
    models: w.models,
    codebases: w.codebases,
    global_codebase_id: w.global_codebase_id,
    max_concurrent_tasks: w.max_concurrent_tasks,
    version: w.version,
    status: workerStatus(w, ctx.heartbeatIntervalS),
    registered_at: w.registered_at,
    last_seen: w.last_seen,
    instance: instanceOf(w),
  };
}

/** Did what routing looks at change? (Older workers re-register every minute with the same.) */
const routingChanged = (a: WorkerRow | null, b: WorkerRow) =>
  !a ||
  a.name !== b.name ||
  a.max_concurrent_tasks !== b.max_concurrent_tasks ||
  JSON.stringify(a.capabilities) !== JSON.stringify(b.capabilities) ||
  JSON.stringify(a.models) !== JSON.stringify(b.models);

async function register({ req, url, principal, ctx }: Req) {
  const body = parse(RegisterWorkerBody, await readObject(req, ctx.maxBodyBytes));
  await workerIdentity(ctx.auth, principal, req, url, body.worker_id);
  const instanceId = body.instance_id ?? requestInstance(req);
  const incoming = { instance_id: instanceId, hostname: body.hostname ?? null, replaces: body.replaces ?? null };
  let admission = "legacy" as Admission; // set by the store callback below
  const { worker, previous } = await ctx.store.upsertWorker(
    {
      worker_id: body.worker_id,
      name: body.name,
      capabilities: body.capabilities,
      hostname: body.hostname ?? null,
      models: normalizeModels(body.models),
      codebases: body.codebases,
      global_codebase_id: body.global_codebase_id ?? null,
      max_concurrent_tasks: body.max_concurrent_tasks ?? null,
      version: body.version ?? null,
      owner: principal.name,
      instance_id: instanceId,
      instance_pid: instanceId ? (body.pid ?? null) : null,
      instance_started_at: instanceId ? (body.started_at ?? null) : null,
    },
    nowIso(),
    (prev) => {
      try {
        admission = admitInstance(prev, incoming, ctx.heartbeatIntervalS);
      } catch (err) {
        log("warn", "worker registration refused: worker id held by another live process", {
          worker: body.worker_id,
          host: body.hostname ?? undefined,
          pid: body.pid ?? undefined,
          held_by: prev?.instance_id ?? undefined,
          held_on: prev?.hostname ?? undefined,
        });
        throw err;
      }
    },
  );
  ctx.auth.noteOwner(worker.worker_id, worker.owner);
  if (routingChanged(previous, worker)) ctx.hub.workerChanged(worker);
  if (admission === "restart" || admission === "takeover") {
    log("warn", admission === "restart" ? "worker restarted: new process took over its worker id" : "worker id taken over from a silent process", {
      worker: worker.worker_id,
      instance: instanceId ?? undefined,
      pid: body.pid ?? undefined,
      host: worker.hostname ?? undefined,
      replaced: previous?.instance_id ?? undefined,
      replaced_pid: previous?.instance_pid ?? undefined,
      replaced_host: previous?.hostname ?? undefined,
    });
  }
  // Workers re-register every minute: log only when one appears or comes back.
  const was = previous ? workerStatus(previous, ctx.heartbeatIntervalS) : null;
  if (was !== "active") {
    log("info", previous ? "worker registered again" : "worker registered", {
      worker: worker.worker_id,
      name: worker.name,
      host: worker.hostname ?? undefined,
      was: was ?? undefined,
      token: principal.name ?? undefined,
    });
  }
  return json({ success: true, worker: workerOut(worker, ctx), settings: ctx.settings });
}

/** Why a worker call changed nothing: another instance holds the worker id (409), or it is unknown (404). */
async function refusal(ctx: ServerContext, id: string, instanceId: string | null) {
  const w = instanceId ? await ctx.store.getWorker(id) : null;
  if (w?.instance_id && w.instance_id !== instanceId) return replacedError(w, instanceId!);
  return notFound("worker", id);
}

async function heartbeat({ req, params, principal, ctx }: Req) {
  await ctx.auth.authorizeWorker(principal, params.id!);
  const instanceId = requestInstance(req);
  if (!(await ctx.store.touchWorker(params.id!, nowIso(), instanceId))) throw await refusal(ctx, params.id!, instanceId);
  return json({ success: true });
}

async function unregister({ req, params, principal, ctx }: Req) {
  await ctx.auth.authorizeWorker(principal, params.id!);
  const instanceId = requestInstance(req);
  const now = nowIso();
  // Only the holding instance unregisters: a second process stopping never releases the first one's tasks.
  const res = await ctx.store.unregisterWorker(params.id!, now, (t) => requeue(t, now, "worker unregistered"), instanceId);
  if (!res) throw await refusal(ctx, params.id!, instanceId);
  log("info", "worker unregistered", { worker: params.id, released: res.released.length || undefined });
  announceChanges(ctx, res.released, "worker unregistered");
  await ctx.webhooks.workerOffline(res.worker, "unregistered");
  return json({ success: true, released: res.released.map((c: TaskChange) => c.after.id) });
}

async function list({ url, ctx }: Req) {
  const page = await ctx.store.listWorkers(requestedPage(url, "workers"));
  return json(
    page.rows.map((w) => workerOut(w, ctx)),
    200,
    pageHeaders(url, "workers", page.next),
  );
}

async function get({ params, ctx }: Req) {
  const w = await ctx.store.getWorker(params.id!);
  if (!w) throw notFound("worker", params.id!);
  return json(workerOut(w, ctx));
}

async function monitor({ ctx }: Req) {
  const [workers, counts] = await Promise.all([ctx.store.listWorkers(), ctx.store.workerCounts()]);
  const out: MonitorWorker[] = workers.rows.map((w) => {
    const c = counts.get(w.worker_id);
    return {
      id: w.worker_id,
      name: w.name,
      status: workerStatus(w, ctx.heartbeatIntervalS),
      last_heartbeat: w.last_seen,
      codebases: c?.codebases ?? 0,
      tasks_completed: c?.completed ?? 0,
      tasks_running: c?.running ?? 0,
      hostname: w.hostname,
      capabilities: w.capabilities,
      instance: instanceOf(w),
    };
  });
  return json({ workers: out });
}

async function health({ ctx }: Req) {
  return json({ status: "ok", version: ctx.version, store: ctx.store.kind });
}

export const workerRoutes: RouteDef[] = [
  { method: "GET", path: ROUTES.health, handler: health },
  { method: "GET", path: ROUTES.monitorWorkers, handler: monitor },
  { method: "POST", path: ROUTES.registerWorker, handler: register },
  { method: "GET", path: ROUTES.workers, handler: list },
  { method: "GET", path: ROUTES.worker, handler: get },
  { method: "POST", path: ROUTES.workerHeartbeat, handler: heartbeat },
  { method: "POST", path: ROUTES.unregisterWorker, handler: unregister },
];
