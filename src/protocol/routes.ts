// Every path of the HTTP API, written once: the server registers these templates
// (src/server/routes/*), the client and the dashboard fill them in with `path()`
// (src/client/, src/web/). A route that is not here is not served
// (test/unit/routes.test.ts). No zod here: the dashboard's bundle imports this file.

/** The public API prefix; older servers serve the same routes under API_ALIAS. */
export const API = "/v1/opencode";
/** Every route under API is also served under this prefix, by the same handler (PROTOCOL.md). */
export const API_ALIAS = "/v1/agent";

export const ROUTES = {
  health: "/health",
  /** Prometheus metrics (text format); behind auth like the API. */
  metrics: "/metrics",
  monitorWorkers: "/v1/monitor/workers",

  // workers
  workers: "/v1/opencode/workers",
  worker: "/v1/opencode/workers/:id",
  registerWorker: "/v1/opencode/workers/register",
  workerHeartbeat: "/v1/opencode/workers/:id/heartbeat",
  unregisterWorker: "/v1/opencode/workers/:id/unregister",

  // codebases
  codebases: "/v1/opencode/codebases",
  codebase: "/v1/opencode/codebases/:id",

  // tasks and their output
  tasks: "/v1/opencode/tasks",
  task: "/v1/opencode/tasks/:id",
  cancelTask: "/v1/opencode/tasks/:id/cancel",
  retryTask: "/v1/opencode/tasks/:id/retry",
  taskStatus: "/v1/opencode/tasks/:id/status",
  taskOutput: "/v1/opencode/tasks/:id/output",
  taskOutputStream: "/v1/opencode/tasks/:id/output/stream",
  /** A worktree run's stored diff (isolation, issue 15). */
  taskDiff: "/v1/opencode/tasks/:id/diff",

  // dispatch
  stream: "/v1/worker/tasks/stream",
  claim: "/v1/worker/tasks/claim",
  taskHeartbeat: "/v1/worker/tasks/heartbeat",
  release: "/v1/worker/tasks/release",
  decline: "/v1/worker/tasks/decline",
  streamCodebases: "/v1/worker/codebases",

  // sessions
  sessions: "/v1/opencode/codebases/:id/sessions",
  /** One session by id, whatever its codebase (extension): what `sessions show` and the dashboard's session page read. */
  session: "/v1/opencode/sessions/:sid",
  sessionsSync: "/v1/opencode/codebases/:id/sessions/sync",
  messages: "/v1/opencode/codebases/:id/sessions/:sid/messages",
  messagesSync: "/v1/opencode/codebases/:id/sessions/:sid/messages/sync",

  // the web dashboard (src/web/)
  dashboardInfo: "/v1/dashboard/info",
  monitorQueue: "/v1/monitor/queue",
  monitorActivity: "/v1/monitor/activity",
} as const;

/** One of the templates above. */
export type Route = (typeof ROUTES)[keyof typeof ROUTES];

/** The `:name` parameters of a template: `ParamNames<"/a/:id/b/:sid">` is "id" | "sid". */
type ParamNames<T extends string> = T extends `${string}:${infer P}/${infer Rest}` ? P | ParamNames<`/${Rest}`> : T extends `${string}:${infer P}` ? P : never;

/** A template's parameters as an object; templates without any take none. */
export type RouteParams<T extends string> = [ParamNames<T>] extends [never] ? [] : [params: Record<ParamNames<T>, string>];

/**
 * A template filled in: `path(ROUTES.taskOutput, { id })` -> "/v1/opencode/tasks/ab%2F12/output".
 * Each value is percent-encoded, so an id can never reach another route.
 */
export function path<T extends Route>(template: T, ...[params]: RouteParams<T>): string {
  return template.replace(/:([A-Za-z_]+)/g, (_, name: string) => {
    const v = (params as Record<string, string> | undefined)?.[name];
    if (v === undefined) throw new Error(`path ${template}: no value for :${name}`);
    return encodeURIComponent(v);
  });
}
