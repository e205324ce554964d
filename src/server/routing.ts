// Capability and model routing (issue 15), as plain functions: which worker a task fits,
// and, for a pending task no live worker can take, why. The claim SQL of each store
// (store/*/claims.ts, `FITS`) is what enforces the rule; these mirror it for wake-ups (only
// fitting workers are woken) and for the waiting reason people see.
import { activeForMs, isoIn, workerStatus, type ServerContext } from "./context.ts";
import type { TaskRow, WorkerRow } from "./store/types.ts";

/** What a worker advertised that routing looks at (and its slots, which wake-ups look at). */
export type Claimant = Pick<WorkerRow, "worker_id" | "name" | "capabilities" | "models"> & Partial<Pick<WorkerRow, "max_concurrent_tasks">>;

/**
 * Models as the server stores them: "provider/model" strings. A worker may send objects
 * (`{provider, id}` or `{providerID, modelID}`); anything else is dropped. An empty list
 * means "unknown": that worker may take a task with any model.
 */
export function normalizeModels(models: unknown[]): string[] {
  const out = new Set<string>();
  for (const m of models) {
    if (typeof m === "string") {
      if (m.trim()) out.add(m.trim());
      continue;
    }
    if (!m || typeof m !== "object") continue;
    const o = m as Record<string, unknown>;
    const provider = o.provider ?? o.providerID;
    const id = o.id ?? o.modelID ?? o.model;
    if (typeof provider === "string" && typeof id === "string") out.add(id.startsWith(`${provider}/`) ? id : `${provider}/${id}`);
  }
  return [...out];
}

type Needs = Pick<TaskRow, "target_agent_name" | "required_capabilities" | "model">;

/** The same rule as the claim SQL's FITS, for a worker already known to have the task's route. */
export function fits(t: Needs, w: Claimant | null): boolean {
  if (t.target_agent_name && t.target_agent_name !== w?.name) return false;
  const caps = new Set(w?.capabilities ?? []);
  if (t.required_capabilities.some((c) => !caps.has(c))) return false;
  const models = (w?.models ?? []).filter((m): m is string => typeof m === "string");
  return !t.model || !w?.models.length || models.includes(t.model);
}

/**
 * Why no live worker can take this pending task, or null when one can (or it is not
 * pending). Narrows the active workers step by step and names the first step that leaves
 * none, so the reason is the one thing to fix (register the codebase, start a gpu worker...).
 */
export async function waitingReason(ctx: ServerContext, t: TaskRow): Promise<string | null> {
  if (t.status !== "pending" || t.agent_type === "register_codebase") return null;
  // The usual answer first, by index: an active owner of the route fits, so there is nothing
  // to explain. Only a task that really waits reads the whole fleet, to say why.
  const since = isoIn(-activeForMs(ctx.heartbeatIntervalS));
  const quick = await ctx.store.routeOwners(t.route, since, 200);
  if (quick.some((w) => (!t.target_worker_id || w.worker_id === t.target_worker_id) && fits(t, w))) return null;
  const all = (await ctx.store.listWorkers()).rows;
  let pool = all.filter((w) => workerStatus(w, ctx.heartbeatIntervalS) === "active");
  if (!pool.length) return all.length ? "no worker is active" : "no worker has registered";
  const owners = new Set(
    (await ctx.store.listCodebases()).rows.filter((c) => (t.route === "global" ? c.name === "global" : c.id === t.route)).map((c) => c.worker_id),
  );
  pool = pool.filter((w) => owners.has(w.worker_id));
  if (!pool.length) return t.route === "global" ? "no active worker registered its global codebase" : `no active worker has codebase ${t.route}`;
  if (t.target_worker_id) {
    pool = pool.filter((w) => w.worker_id === t.target_worker_id);
    if (!pool.length) return `target worker ${t.target_worker_id} is not active or does not have this codebase`;
  }
  if (t.target_agent_name) {
    pool = pool.filter((w) => w.name === t.target_agent_name);
    if (!pool.length) return `no active worker named ${t.target_agent_name} has this codebase`;
  }
  if (t.required_capabilities.length) {
    const absent = t.required_capabilities.filter((c) => !pool.some((w) => w.capabilities.includes(c)));
    if (absent.length) return `no active worker has capability ${absent.join(", ")}`;
    pool = pool.filter((w) => fits({ ...t, model: null, target_agent_name: null }, w));
    if (!pool.length) return `no active worker has all of capabilities ${t.required_capabilities.join(", ")}`;
  }
  if (t.model && !pool.some((w) => fits({ ...t, target_agent_name: null, required_capabilities: [] }, w))) {
    return `no active worker has model ${t.model}`;
  }
  return null;
}
