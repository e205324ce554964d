// Codebases (worker affinity). With worker_id: upsert keyed by (worker, normalized
// absolute path), so the same pair always gets the same id. Without: a register_codebase
// task that the first worker having the path answers by registering it itself.
import { posix } from "node:path";
import { CreateCodebaseBody, ROUTES, type Isolation } from "../../protocol/index.ts";
import { log } from "../../util/log.ts";
import { workerIdentity } from "../auth.ts";
import { nowIso } from "../context.ts";
import { badRequest, HttpError, json, notFound, parse, readObject } from "../http.ts";
import { pageHeaders, requestedPage } from "../paging.ts";
import type { Req, RouteDef } from "../router.ts";
import type { CodebaseRow } from "../store/types.ts";
import { newTask } from "./tasks.ts";

/** `/srv/app/./x/` -> `/srv/app/x`; relative paths are refused (the server cannot know the worker's cwd). */
export function normalizePath(p: string): string {
  if (!posix.isAbsolute(p)) throw badRequest("path", `must be an absolute path, got "${p}"`);
  const n = posix.normalize(p);
  return n.length > 1 ? n.replace(/\/+$/, "") : n;
}

/**
 * 409 for a path registered under another name. A silent rename broke every script and
 * task that used the old name (issue 17); renaming is asked for with `rename: true`. A
 * worker's `global` codebase (its home) keeps its name: routing depends on it.
 */
function conflict(path: string, existing: CodebaseRow[], wanted: string): HttpError {
  const names = existing.map((c) => `'${c.name}' (id ${c.id}, worker ${c.worker_id})`).join(", ");
  const global = existing.some((c) => c.name === "global");
  const hint = global
    ? `it is a worker's home directory (its global codebase), which cannot be renamed; use --codebase global`
    : `use that name, or rename it to '${wanted}' with --rename (API: "rename": true)`;
  return new HttpError(409, global ? "codebase_is_global" : "codebase_exists", `path ${path} is already registered as codebase ${names}; ${hint}`, [
    { field: "path", message: `already registered as ${names}` },
  ]);
}

async function register(r: Req) {
  const { req, url, ctx } = r;
  const b = parse(CreateCodebaseBody, await readObject(req, ctx.maxBodyBytes));
  const path = normalizePath(b.path);
  const workerId = await workerIdentity(ctx.auth, r.principal, req, url, b.worker_id);
  if (!workerId) return registerByPath(r, b.name, path, b.description ?? null, !!b.rename, b.isolation ?? null);
  const input = {
    name: b.name,
    path,
    description: b.description ?? null,
    worker_id: workerId,
    agent_config: b.agent_config ?? null,
    isolation: b.isolation ?? null,
  };
  // A worker's home is always (re)registered as "global" (PROTOCOL.md), whatever it was called before.
  let res = await ctx.store.upsertCodebase(input, nowIso(), { rename: b.name === "global" });
  if (!res.ok && b.rename && res.existing.name !== "global") res = await ctx.store.upsertCodebase(input, nowIso(), { rename: true });
  if (!res.ok) throw conflict(path, [res.existing], b.name);
  const { codebase, created, renamed_from } = res;
  if (renamed_from) log("info", "codebase renamed", { codebase: codebase.id, from: renamed_from, to: codebase.name, worker: workerId });
  if (created) {
    log("info", "codebase registered", { codebase: codebase.id, name: codebase.name, path, worker: workerId });
    const routes = codebase.name === "global" ? [codebase.id, "global"] : [codebase.id];
    // Its streams hear about it from now on, and about the tasks already waiting on it that they fit.
    await ctx.hub.addRoutes(workerId, routes);
  }
  return json({ success: true, codebase });
}

/**
 * A path some worker already registered is answered here, not by a task: under the same
 * name the task goes out as before (another worker may have the path too); under another
 * name it is refused, or renamed at once with `rename` (the server knows where it is).
 */
async function registerByPath(r: Req, name: string, path: string, description: string | null, rename: boolean, isolation: Isolation | null) {
  const { ctx } = r;
  const known = (await ctx.store.codebasesAtPath(path)).filter((c) => c.name !== name);
  if (known.length && (!rename || known.some((c) => c.name === "global"))) throw conflict(path, known, name);
  if (known.length) {
    const now = nowIso();
    let codebase: CodebaseRow | null = null;
    for (const c of known) {
      const renamed = await ctx.store.renameCodebase(c.id, name, now);
      if (renamed) log("info", "codebase renamed", { codebase: c.id, from: c.name, to: name, worker: c.worker_id });
      codebase ??= renamed;
    }
    if (codebase) return json({ success: true, codebase });
  }
  return createRegistrationTask(r, name, path, description, isolation);
}

async function createRegistrationTask({ ctx, principal }: Req, name: string, path: string, description: string | null, isolation: Isolation | null) {
  const live = await ctx.store.countLiveWorkers();
  if (!live) throw new HttpError(400, "no_workers", "No workers available", [{ field: "worker_id", message: "no worker is registered to look for the path" }]);
  const row = newTask({
    codebase_id: null,
    title: `Register codebase ${name}`,
    prompt: `Register codebase ${name} at ${path}`,
    agent_type: "register_codebase",
    model: null,
    priority: 0,
    // isolation only when asked, so the metadata of plain registrations stays as before
    metadata: { name, path, description, ...(isolation ? { isolation } : {}) },
    target_worker_id: null,
    target_agent_name: null,
    // Workers without the path hand the task back; give every live worker a turn.
    max_attempts: Math.min(100, Math.max(3, live)),
    timeout_s: null,
  });
  const task = await ctx.store.insertTask(row);
  log("info", "task created", { task: task.id, agent: "register_codebase", path, by: principal.name ?? undefined });
  ctx.hub.taskAvailable(task);
  return json({ success: true, pending: true, task_id: task.id });
}

async function list({ url, ctx }: Req) {
  const page = await ctx.store.listCodebases(requestedPage(url, "codebases"));
  return json(page.rows, 200, pageHeaders(url, "codebases", page.next));
}

async function get({ params, ctx }: Req) {
  const c = await ctx.store.getCodebase(params.id!);
  if (!c) throw notFound("codebase", params.id!);
  return json(c);
}

async function remove({ params, ctx }: Req) {
  if (!(await ctx.store.deleteCodebase(params.id!))) throw notFound("codebase", params.id!);
  log("info", "codebase deleted", { codebase: params.id });
  return json({ success: true });
}

export const codebaseRoutes: RouteDef[] = [
  { method: "POST", path: ROUTES.codebases, handler: register },
  { method: "GET", path: ROUTES.codebases, handler: list },
  { method: "GET", path: ROUTES.codebase, handler: get },
  { method: "DELETE", path: ROUTES.codebase, handler: remove },
];
