// One worker id, one process (issue 19). Each worker process registers with an instance id
// of its own; the server records which instance holds the worker id, and from then on
// heartbeats, claims, task heartbeats, releases, unregister and the task stream act only for
// that instance. A second live instance is refused at registration (the usual cause: cloned
// machines or a copied config sharing one worker name). It takes over only when the holder
// is gone: unregistered, silent for 3 heartbeat intervals, or named in `replaces` by a restart
// on the same host (the worker's lock in its data dir says the previous process is dead).
// Workers that send no instance id (the Python worker, older versions) are served as before.
import { Id, INSTANCE_HEADER, WORKER_ID_IN_USE, WORKER_REPLACED, type WorkerInstance } from "../protocol/index.ts";
import { workerStatus, type ServerContext } from "./context.ts";
import { badRequest, HttpError } from "./http.ts";
import type { WorkerRow } from "./store/types.ts";

export interface Incoming {
  instance_id: string | null;
  hostname: string | null;
  replaces: string | null;
}

export function instanceOf(w: WorkerRow): WorkerInstance | null {
  if (!w.instance_id) return null;
  return { instance_id: w.instance_id, hostname: w.hostname, pid: w.instance_pid, started_at: w.instance_started_at };
}

/** "host build-1 (pid 4242, started 2026-...)", for messages that must name the live process. */
function describe(w: WorkerRow): string {
  const host = w.hostname ? `host ${w.hostname}` : "an unknown host";
  const pid = w.instance_pid !== null ? `pid ${w.instance_pid}` : "unknown pid";
  return `${host} (${pid}${w.instance_started_at ? `, started ${w.instance_started_at}` : ""}, instance ${w.instance_id})`;
}

export type Admission = "new" | "same" | "legacy" | "restart" | "takeover";

/**
 * Whether `incoming` may hold the worker id that `previous` records; throws 409
 * worker_id_in_use when another live instance holds it. Runs under the worker row's lock.
 */
export function admitInstance(previous: WorkerRow | null, incoming: Incoming, heartbeatIntervalS: number, now = Date.now()): Admission {
  if (!incoming.instance_id) return "legacy";
  if (!previous) return "new";
  if (!previous.instance_id) return "legacy"; // registered by a legacy worker: nothing to compare with
  if (previous.instance_id === incoming.instance_id) return "same";
  // A restart names the instance it follows; the host must match so a cloned data dir cannot displace a live worker.
  if (incoming.replaces === previous.instance_id && (!previous.hostname || previous.hostname === incoming.hostname)) return "restart";
  if (workerStatus(previous, heartbeatIntervalS, now) !== "active") return "takeover";
  throw new HttpError(
    409,
    WORKER_ID_IN_USE,
    `worker id '${previous.worker_id}' is already held by a live process on ${describe(previous)}, last heartbeat ${previous.last_seen}; ` +
      `give each machine its own worker name (A2A_WORKER_NAME / worker_id) or stop that process`,
    [{ field: "worker_id", message: `held by ${describe(previous)}` }],
  );
}

/** The instance a request names (X-Worker-Instance), or null for a legacy worker. */
export function requestInstance(req: Request): string | null {
  const v = req.headers.get(INSTANCE_HEADER);
  if (v === null || v === "") return null;
  if (!Id.safeParse(v).success) throw badRequest("X-Worker-Instance", "only letters, digits and . _ : @ - (1-200 characters)");
  return v;
}

export function replacedError(w: WorkerRow, instanceId: string): HttpError {
  return new HttpError(
    409,
    WORKER_REPLACED,
    `worker ${w.worker_id}: this process (instance ${instanceId}) was replaced by the process on ${describe(w)}; it must stop claiming and exit`,
    [{ field: "X-Worker-Instance", message: `not the instance holding worker ${w.worker_id}` }],
  );
}

/** Refuses (409 worker_replaced) a call from an instance that no longer holds `workerId`. Legacy calls pass. */
export async function assertInstance(ctx: ServerContext, req: Request, workerId: string | null): Promise<string | null> {
  const instanceId = requestInstance(req);
  if (!instanceId || !workerId) return instanceId;
  const w = await ctx.store.getWorker(workerId);
  if (w?.instance_id && w.instance_id !== instanceId) throw replacedError(w, instanceId);
  return instanceId;
}
