// Registration with the server: first the worker id (so a second process with the same id
// is refused before it touches anything, see src/server/identity.ts), then the `global`
// pseudo-codebase (home dir) and the configured codebases, then the worker again with its
// codebases; adopt the server's timings; keep the registration alive with heartbeats and
// re-register when the server forgot us (404).
import { existsSync, realpathSync, statSync } from "node:fs";
import { homedir, hostname } from "node:os";
import { isAbsolute, relative, resolve } from "node:path";
import { version } from "../../package.json";
import { ApiError } from "../client/index.ts";
import { createWorkerApi } from "../client/worker-api.ts";
import { Settings, WORKER_ID_IN_USE, WORKER_REPLACED, type Isolation } from "../protocol/answers.ts";
import type { RegisterWorkerBody } from "../protocol/index.ts";
import { backoffDelay, POLICIES, sleep } from "../util/backoff.ts";
import { CliError, EXIT, errorMessage } from "../util/errors.ts";
import { log } from "../util/log.ts";
import type { RegisteredCodebase, WorkerContext } from "./context.ts";

/** Refuses relative, missing, non-directory paths and paths outside `allowed_paths`; returns the real absolute path. */
export function checkCodebasePath(name: string, path: string, allowed: string[], exitCode: number = EXIT.CONFIG): string {
  if (!isAbsolute(path)) throw new CliError(`codebase '${name}': path "${path}" is not absolute`, exitCode);
  if (!existsSync(path)) throw new CliError(`codebase '${name}': path ${path} does not exist`, exitCode);
  if (!statSync(path).isDirectory()) throw new CliError(`codebase '${name}': path ${path} is not a directory`, exitCode);
  const real = realpathSync(path);
  if (allowed.length) {
    const ok = allowed.some((a) => {
      const base = existsSync(a) ? realpathSync(a) : resolve(a);
      const rel = relative(base, real);
      return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
    });
    if (!ok) throw new CliError(`codebase '${name}': path ${path} is outside allowed_paths (${allowed.join(", ")})`, exitCode);
  }
  return real;
}

export async function registerLocalCodebase(
  ctx: WorkerContext,
  c: { name: string; path: string; description?: string | null; isolation?: Isolation },
): Promise<RegisteredCodebase> {
  const path = checkCodebasePath(c.name, c.path, ctx.config.allowed_paths, EXIT.FAILURE);
  // This worker's config names its codebases: a name changed there is a rename, not a conflict.
  // No isolation in the config keeps the server's (`codebase register --isolation`).
  const res = await ctx.client.registerCodebase({
    name: c.name,
    path,
    description: c.description ?? null,
    worker_id: ctx.workerId,
    rename: true,
    isolation: c.isolation,
  });
  if (!("codebase" in res)) throw new Error(`server did not register codebase '${c.name}'`);
  // A legacy server keeps no isolation: the config's then.
  const isolation = res.codebase.isolation ?? c.isolation;
  const cb = { id: res.codebase.id, name: c.name, path, ...(isolation ? { isolation } : {}) };
  const known = ctx.codebases.has(cb.id);
  ctx.codebases.set(cb.id, cb);
  if (!known) ctx.routingChanged?.();
  return cb;
}

/** The server's own words from an ApiError ("POST /path: 409 <message>" -> "<message>"). */
const serverMessage = (err: ApiError) => err.message.replace(/^\S+ \S+: \d{3} /, "");

/** A call from this process was refused because another process now holds the worker id. */
export function isReplaced(err: unknown): err is ApiError {
  return err instanceof ApiError && err.status === 409 && (err.code === WORKER_REPLACED || err.message.includes(WORKER_REPLACED));
}

export function registerBody(ctx: WorkerContext): RegisterWorkerBody {
  return {
    worker_id: ctx.workerId,
    name: ctx.config.worker_name,
    capabilities: ctx.config.capabilities,
    hostname: hostname(),
    models: ctx.models, // probed by models.ts; [] until then (unknown: any model)
    codebases: [...ctx.codebases.keys(), "global"],
    global_codebase_id: ctx.globalCodebaseId,
    max_concurrent_tasks: ctx.config.max_concurrent_tasks,
    version,
    instance_id: ctx.instance.id,
    pid: ctx.instance.pid,
    started_at: ctx.instance.started_at,
    replaces: ctx.instance.replaces,
  };
}

/** One full registration round; throws when the server is unreachable. */
export async function registerOnce(ctx: WorkerContext): Promise<void> {
  // The worker id first: a refused process must not register its codebases under another's id.
  await ctx.client.registerWorker(registerBody(ctx));
  ctx.registered = true;
  const g = await ctx.client.registerCodebase({ name: "global", path: homedir(), description: "worker home directory", worker_id: ctx.workerId });
  ctx.globalCodebaseId = "codebase" in g ? g.codebase.id : null;
  const keep = new Map<string, RegisteredCodebase>();
  for (const c of ctx.config.codebases) {
    const cb = await registerLocalCodebase(ctx, c);
    keep.set(cb.id, cb);
  }
  // codebases registered later by register_codebase tasks stay registered
  for (const [id, cb] of ctx.codebases) if (!keep.has(id)) keep.set(id, cb);
  ctx.codebases = keep;
  const res = await ctx.client.registerWorker(registerBody(ctx));
  const settings = Settings.safeParse(res.settings);
  // Only servers with our additions send settings; a new api only when the kind changed, so
  // the legacy one keeps the tasks it was told of across a re-registration.
  if (ctx.api.legacy !== !settings.success) ctx.api = createWorkerApi(ctx.client, ctx.workerId, !settings.success);
  if (settings.success) ctx.settings = settings.data;
  ctx.contact();
  log("info", "worker registered", {
    worker: ctx.workerId,
    server: ctx.client.base,
    codebases: [...keep.values()].map((c) => c.name).join(",") || undefined,
    legacy: ctx.api.legacy || undefined,
  });
}

/** Registers, retrying with backoff while the server is unreachable. Config errors (bad paths) are thrown. */
export async function registerWithRetry(ctx: WorkerContext, signal: AbortSignal): Promise<boolean> {
  for (let i = 0; !signal.aborted; i++) {
    try {
      await registerOnce(ctx);
      return true;
    } catch (err) {
      if (err instanceof CliError) throw err; // a config problem (bad path): retrying cannot fix it
      if (err instanceof ApiError && err.status === 409 && err.code === WORKER_ID_IN_USE) {
        // Another live process holds this worker id: retrying cannot fix a configuration problem.
        throw new CliError(`cannot start worker '${ctx.workerId}': ${serverMessage(err)}`, EXIT.CONFIG);
      }
      if (isReplaced(err)) throw new CliError(serverMessage(err), EXIT.CONFIG);
      if (err instanceof ApiError && (err.status === 401 || err.status === 403)) {
        throw new CliError(`server ${ctx.client.base} refused our token (${err.status}): check auth_token / A2A_AUTH_TOKEN`, EXIT.CONFIG);
      }
      const delay = backoffDelay(POLICIES.reconnect, i);
      log("warn", `registration failed, retrying in ${Math.round(delay / 1000)}s: ${errorMessage(err)}`);
      if (!(await sleep(delay, signal))) return false;
    }
  }
  return false;
}

export async function workerHeartbeatLoop(ctx: WorkerContext, signal: AbortSignal, onReregistered: () => void): Promise<void> {
  while (await sleep(ctx.settings.heartbeat_interval_s * 1000, signal)) {
    try {
      await ctx.client.workerHeartbeat(ctx.workerId);
      ctx.contact();
    } catch (err) {
      if (isReplaced(err)) return ctx.replaced(serverMessage(err));
      if (err instanceof ApiError && err.status === 404) {
        log("warn", "server does not know this worker; registering again", { worker: ctx.workerId });
        try {
          if (await registerWithRetry(ctx, signal)) onReregistered();
        } catch (e) {
          // Meanwhile another process registered this worker id: this one stands down.
          return ctx.replaced(errorMessage(e));
        }
      }
    }
  }
}
