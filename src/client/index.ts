// Typed calls of PROTOCOL.md, used by the worker and the operator commands.
import * as P from "../protocol/index.ts";
import { POLICIES, type PolicyName } from "../util/backoff.ts";
import { ApiError, createHttp, type HttpOptions } from "./http.ts";

export { ApiError, UnavailableError } from "./http.ts";
export type Client = ReturnType<typeof createClient>;

export type CodebaseRegistration = { success: true; codebase: P.Codebase } | { success: true; pending: true; task_id: string };

/** The worker's calls take the deadline of their retry policy; others the client's default. */
const deadline = (kind?: PolicyName) => (kind ? POLICIES[kind].timeoutMs : undefined);

export function createClient(o: HttpOptions & { instanceId?: string | null }) {
  const http = createHttp(o);
  // ofetch reads its default headers per request, and the worker's stream sends http.headers:
  // every call of a worker process names its instance (old servers ignore the header).
  if (o.instanceId) http.headers[P.INSTANCE_HEADER] = o.instanceId;
  const r = P.routes;
  const get = async <T>(path: string, query?: Record<string, unknown>) => (await http.request<T>("GET", path, { query })).data;
  const post = async <T>(path: string, body?: unknown, headers?: Record<string, string>, kind?: PolicyName) =>
    (await http.request<T>("POST", path, { body: body ?? {}, headers, timeoutMs: deadline(kind) })).data;

  return {
    http,
    base: http.base,
    health: () => get<P.Health>(r.health),

    // workers
    registerWorker: (body: P.RegisterWorkerBody) => post<P.RegisterWorkerResponse>(r.registerWorker, body, undefined, "reconnect"),
    workerHeartbeat: (id: string) => post<{ success: boolean }>(r.workerHeartbeat(id), undefined, undefined, "reconnect"),
    unregisterWorker: (id: string) => post<{ success: boolean }>(r.unregisterWorker(id), undefined, undefined, "reconnect"),
    listWorkers: () => get<P.WorkerRecord[]>(r.workers),
    getWorker: (id: string) => get<P.WorkerRecord>(r.worker(id)),
    monitorWorkers: () => get<{ workers: P.MonitorWorker[] }>(r.monitorWorkers),

    // codebases
    registerCodebase: async (body: { name: string; path: string; description?: string | null; worker_id?: string | null; rename?: boolean; isolation?: P.Isolation | null }) => {
      const data = await post<any>(r.codebases, body, undefined, "reconnect");
      // Older servers answer the codebase at the top level instead of under `codebase`.
      if (data && !data.codebase && !data.pending && data.id) return { success: true, codebase: data } as CodebaseRegistration;
      return data as CodebaseRegistration;
    },
    listCodebases: () => get<P.Codebase[]>(r.codebases),
    getCodebase: (id: string) => get<P.Codebase>(r.codebase(id)),
    deleteCodebase: (id: string) => http.request("DELETE", r.codebase(id)),

    // tasks
    createTask: (body: Partial<P.CreateTaskBody> & { prompt: string }) => post<P.Task>(r.tasks, body),
    listTasks: (q: Partial<P.ListTasksQuery> = {}) => get<P.Task[]>(r.tasks, q),
    /** One page of a task list, with the paging headers of PROTOCOL.md "Extensions" when the
     * server sends them: `total` from X-Total-Count, `next` (the query of the next page) from Link. */
    listTasksPage: async (q: Record<string, unknown>): Promise<{ tasks: P.Task[]; total: number | null; next: Record<string, string> | null }> => {
      const res = await http.request<P.Task[]>("GET", r.tasks, { query: q });
      const total = Number(res.headers.get("x-total-count"));
      return { tasks: Array.isArray(res.data) ? res.data : [], total: Number.isFinite(total) && res.headers.has("x-total-count") ? total : null, next: nextPage(res.headers.get("link")) };
    },
    getTask: (id: string) => get<P.Task>(r.task(id)),
    cancelTask: (id: string) => post<any>(r.cancelTask(id)),
    updateStatus: (id: string, body: P.TaskStatusBody) => http.request<any>("PUT", r.taskStatus(id), { body, timeoutMs: deadline("report") }).then((x) => x.data),
    postOutput: (id: string, body: { worker_id: string; attempt: number; seq: number; lines: string[] } | { worker_id: string; output: string; timestamp: string }) =>
      post<any>(r.taskOutput(id), body, undefined, "output"),
    getOutput: (id: string, since = 0) => get<P.OutputPage>(r.taskOutput(id), { since }),
    getTaskDiff: (id: string) => get<P.TaskDiff>(r.taskDiff(id)),

    // dispatch
    /** Claim a task by id, or the best eligible one (`undefined`). null = nothing to claim (204/409).
     * `busy`: codebases whose directory this worker is using (ClaimBody.busy_codebases). */
    claim: async (workerId: string, taskId?: string, o: { busy?: string[] } = {}): Promise<P.ClaimResponse | null> => {
      try {
        const busy = o.busy ? { busy_codebases: o.busy } : {};
        const res = await http.request<P.ClaimResponse>("POST", r.claim, {
          body: taskId ? { task_id: taskId, worker_id: workerId, ...busy } : { worker_id: workerId, ...busy },
          headers: { "x-worker-id": workerId },
          timeoutMs: deadline("reconnect"),
        });
        if (res.status === 204 || !res.data) return null;
        return res.data;
      } catch (err) {
        // 409: someone else got it, or it is not for us; but a replaced process must hear that it was.
        if (err instanceof ApiError && err.status === 409 && err.code !== P.WORKER_REPLACED) return null;
        throw err;
      }
    },
    taskHeartbeat: (body: { task_id: string; worker_id: string; attempt: number }) => post<P.TaskHeartbeatResponse>(r.taskHeartbeat, body, undefined, "lease"),
    release: (workerId: string, body: P.ReleaseBody) => post<any>(r.release, body, { "x-worker-id": workerId }, "report"),
    decline: (workerId: string, body: P.DeclineBody) => post<any>(r.decline, body, { "x-worker-id": workerId }, "report"),
    updateStreamCodebases: (workerId: string, codebases: string[]) =>
      http.request<any>("PUT", r.streamCodebases, { query: { worker_id: workerId }, body: { codebases }, timeoutMs: deadline("reconnect") }),

    // sessions
    syncSessions: (codebaseId: string, body: { worker_id: string; sessions: P.SessionRecord[] }) => post<any>(r.sessionsSync(codebaseId), body, undefined, "sync"),
    syncMessages: (codebaseId: string, sessionId: string, body: { worker_id: string; messages: P.MessageRecord[] }) =>
      post<any>(r.messagesSync(codebaseId, sessionId), body, undefined, "sync"),
    listSessions: (codebaseId: string) => get<any[]>(r.sessions(codebaseId)),
    listMessages: (codebaseId: string, sessionId: string) => get<any[]>(r.messages(codebaseId, sessionId)),
  };
}

/** The query of `Link: <...?a=b&before=c>; rel="next"`, or null. */
export function nextPage(link: string | null): Record<string, string> | null {
  const m = link && /<([^>]*)>\s*;\s*rel="?next"?/.exec(link);
  if (!m) return null;
  const url = new URL(m[1]!, "http://x");
  return Object.fromEntries(url.searchParams.entries());
}
