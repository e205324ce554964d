// Retry: a finished task run again as a new task with the same fields, linked to the one
// it retries by `metadata.retry_of` (the original stays as it ended: final states never
// change). Used by `codetether task retry` and the dashboard's "Run again".
import { isFinal, ROUTES } from "../../protocol/index.ts";
import { log } from "../../util/log.ts";
import { HttpError, json, notFound } from "../http.ts";
import type { Req, RouteDef } from "../router.ts";
import { toWireTask } from "../store/rows.ts";
import type { TaskRow } from "../store/types.ts";
import { newTask } from "./tasks.ts";

/** The fields a retry copies: what the task was asked to do, where, by whom, with which limits. */
function copyOf(t: TaskRow): TaskRow {
  const {
    codebase_id,
    title,
    prompt,
    agent_type,
    model,
    priority,
    metadata,
    target_worker_id,
    target_agent_name,
    max_attempts,
    timeout_s,
    isolation,
    required_capabilities,
  } = t;
  return newTask({
    codebase_id,
    title,
    prompt,
    agent_type,
    model,
    priority,
    metadata: { ...metadata, retry_of: t.id },
    target_worker_id,
    target_agent_name,
    max_attempts,
    timeout_s,
    isolation,
    required_capabilities,
  });
}

async function retry({ params, principal, ctx }: Req) {
  const orig = await ctx.store.getTask(params.id!);
  if (!orig) throw notFound("task", params.id!);
  if (!isFinal(orig.status))
    throw new HttpError(409, "task_not_final", `task ${orig.id} is ${orig.status}: only a finished task can be retried (cancel it first)`);
  if (orig.agent_type === "register_codebase") throw new HttpError(409, "not_retryable", `task ${orig.id} registers a codebase: register it again instead`);
  if (orig.codebase_id && orig.codebase_id !== "global" && !(await ctx.store.getCodebase(orig.codebase_id)))
    throw new HttpError(409, "codebase_gone", `task ${orig.id} ran on codebase ${orig.codebase_id}, which is no longer registered`);
  const task = await ctx.store.insertTask(copyOf(orig));
  ctx.metrics.created(task);
  log("info", "task created", { task: task.id, retry_of: orig.id, codebase: task.codebase_id ?? "global", by: principal.name ?? undefined });
  ctx.hub.taskAvailable(task);
  return json(toWireTask(task), 201);
}

export const retryRoutes: RouteDef[] = [{ method: "POST", path: ROUTES.retryTask, handler: retry }];
