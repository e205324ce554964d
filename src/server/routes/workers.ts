// Health, monitoring and the worker registry: register (idempotent upsert), heartbeat,
// unregister (hands its running tasks back at once), list/get.
import { RegisterWorkerBody, type MonitorWorker, type WorkerRecord } from "../../protocol/index.ts";
import { log } from "../../util/log.ts";
import { workerIdentity } from "../auth.ts";
import { nowIso, workerStatus, type ServerContext } from "../context.ts";
import { json, notFound, parse, readObject } from "../http.ts";
import { requeue } from "../lifecycle.ts";
import type { Req, RouteDef } from "../router.ts";
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
  };
}

async function register({ req, url, principal, ctx }: Req) {
  const body = parse(RegisterWorkerBody, await readObject(req, ctx.maxBodyBytes));
  await workerIdentity(ctx.auth, principal, req, url, body.worker_id);
  const { worker, previous } = await ctx.store.upsertWorker(
    {
      worker_id: body.worker_id,
      name: body.name,
      capabilities: body.capabilities,
      hostname: body.hostname ?? null,
      models: body.models,
      codebases: body.codebases,
      global_codebase_id: body.global_codebase_id ?? null,
      max_concurrent_tasks: body.max_concurrent_tasks ?? null,
      version: body.version ?? null,
      owner: principal.name,
    },
    nowIso(),
  );
  ctx.auth.noteOwner(worker.worker_id, worker.owner);
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

async function heartbeat({ params, principal, ctx }: Req) {
  await ctx.auth.authorizeWorker(principal, params.id!);
  if (!(await ctx.store.touchWorker(params.id!, nowIso()))) {
    throw notFound("worker", params.id!);
  }
  return json({ success: true });
}

async function unregister({ params, principal, ctx }: Req) {
  await ctx.auth.authorizeWorker(principal, params.id!);
  const now = nowIso();
  const res = await ctx.store.unregisterWorker(params.id!, now, (t) => requeue(t, now, "worker unregistered"));
  if (!res) throw notFound("worker", params.id!);
  log("info", "worker unregistered", { worker: params.id, released: res.released.length || undefined });
  announceChanges(ctx, res.released, "worker unregistered");
  return json({ success: true, released: res.released.map((c: TaskChange) => c.after.id) });
}

async function list({ ctx }: Req) {
  return json((await ctx.store.listWorkers()).map((w) => workerOut(w, ctx)));
}

async function get({ params, ctx }: Req) {
  const w = await ctx.store.getWorker(params.id!);
  if (!w) throw notFound("worker", params.id!);
  return json(workerOut(w, ctx));
}

async function monitor({ ctx }: Req) {
  const [workers, counts] = await Promise.all([ctx.store.listWorkers(), ctx.store.workerCounts()]);
  const out: MonitorWorker[] = workers.map((w) => {
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
    };
  });
  return json({ workers: out });
}

async function health({ ctx }: Req) {
  return json({ status: "ok", version: ctx.version, store: ctx.store.kind });
}

export const workerRoutes: RouteDef[] = [
  { method: "GET", path: "/health", handler: health },
  { method: "GET", path: "/v1/monitor/workers", handler: monitor },
  { method: "POST", path: "/v1/opencode/workers/register", handler: register },
  { method: "GET", path: "/v1/opencode/workers", handler: list },
  { method: "GET", path: "/v1/opencode/workers/:id", handler: get },
  { method: "POST", path: "/v1/opencode/workers/:id/heartbeat", handler: heartbeat },
  { method: "POST", path: "/v1/opencode/workers/:id/unregister", handler: unregister },
];
