// Typed calls of PROTOCOL.md, used by the worker and the operator commands. Paths are the
// protocol's route templates; every answer is checked against its protocol schema
// (tolerantly: see src/protocol/index.ts), so a server that answers something else fails
// here, naming the route and the field, instead of somewhere later.
import type { z } from "zod";
// Answers only: the request schemas are the server's (a worker never builds them); their types come from index.ts.
import * as P from "../protocol/answers.ts";
import { path } from "../protocol/answers.ts";
import type * as Q from "../protocol/index.ts";
import { POLICIES, type PolicyName } from "../util/backoff.ts";
import { answer, ApiError, createHttp, type HttpOptions, type Method, type RequestOptions } from "./http.ts";

export { ApiError, ProtocolError, UnavailableError } from "./http.ts";
export type Client = ReturnType<typeof createClient>;

export type CodebaseRegistration = { success: true; codebase: P.Codebase } | { success: true; pending: true; task_id: string };

/** The worker's calls take the deadline of their retry policy; others the client's default. */
const deadline = (kind?: PolicyName) => (kind ? POLICIES[kind].timeoutMs : undefined);

const R = P.ROUTES;
const Tasks = P.Task.array();

export function createClient(o: HttpOptions & { instanceId?: string | null; shortLived?: boolean }) {
  const http = createHttp(o);
  // A short-lived process (a CLI command) parses a few answers: zod's compiled fast path
  // would cost more to compile than it saves. A worker or a server keeps it.
  const ctx = o.shortLived ? ({ jitless: true } as const) : undefined;
  // ofetch reads its default headers per request, and the worker's stream sends http.headers:
  // every call of a worker process names its instance (old servers ignore the header).
  if (o.instanceId) http.headers[P.INSTANCE_HEADER] = o.instanceId;
  /** `method url` answered with a body of `schema`: the parsed body, and the headers for paging. */
  const call = async <S extends z.ZodType>(schema: S, method: Method, url: string, opts: RequestOptions = {}) => {
    const res = await http.request(method, url, opts);
    return { data: answer(schema, method, url, res.data, http.base, ctx), headers: res.headers };
  };
  const get = async <S extends z.ZodType>(schema: S, url: string, query?: Record<string, unknown>) => (await call(schema, "GET", url, { query })).data;
  const post = async <S extends z.ZodType>(schema: S, url: string, body?: Record<string, unknown>, headers?: Record<string, string>, kind?: PolicyName) =>
    (await call(schema, "POST", url, { body: body ?? {}, headers, timeoutMs: deadline(kind) })).data;

  return {
    http,
    base: http.base,
    health: () => get(P.Health, R.health),

    // workers
    registerWorker: (body: Q.RegisterWorkerBody) => post(P.RegisterWorkerResponse, R.registerWorker, body, undefined, "reconnect"),
    workerHeartbeat: (id: string) => post(P.Ack, path(R.workerHeartbeat, { id }), undefined, undefined, "reconnect"),
    unregisterWorker: (id: string) => post(P.Ack, path(R.unregisterWorker, { id }), undefined, undefined, "reconnect"),
    listWorkers: () => get(P.WorkerRecord.array(), R.workers),
    getWorker: (id: string) => get(P.WorkerRecord, path(R.worker, { id })),
    monitorWorkers: () => get(P.MonitorWorkers, R.monitorWorkers),

    // codebases
    registerCodebase: async (body: {
      name: string;
      path: string;
      description?: string | null;
      worker_id?: string | null;
      rename?: boolean;
      isolation?: P.Isolation | null;
    }): Promise<CodebaseRegistration> => {
      const res = await http.request("POST", R.codebases, { body, timeoutMs: deadline("reconnect") });
      const data = res.data && typeof res.data === "object" ? res.data : {};
      const parse = <S extends z.ZodType>(schema: S) => answer(schema, "POST", R.codebases, res.data, http.base, ctx);
      if ("pending" in data) return parse(P.CodebasePending);
      if ("codebase" in data) return parse(P.CodebaseRegistered);
      // Older servers answer the codebase at the top level instead of under `codebase`.
      return { success: true, codebase: parse(P.Codebase) };
    },
    listCodebases: () => get(P.Codebase.array(), R.codebases),
    getCodebase: (id: string) => get(P.Codebase, path(R.codebase, { id })),
    deleteCodebase: async (id: string) => (await call(P.Ack, "DELETE", path(R.codebase, { id }))).data,

    // tasks
    createTask: (body: Partial<Q.CreateTaskBody> & { prompt: string }) => post(P.Task, R.tasks, body),
    listTasks: (q: Partial<Q.ListTasksQuery> = {}) => get(Tasks, R.tasks, q),
    /** One page of a task list, with the paging headers of PROTOCOL.md "Extensions" when the
     * server sends them: `total` from X-Total-Count, `next` (the query of the next page) from Link. */
    listTasksPage: async (q: Record<string, unknown>): Promise<{ tasks: P.Task[]; total: number | null; next: Record<string, string> | null }> => {
      const res = await call(Tasks, "GET", R.tasks, { query: q });
      const total = Number(res.headers.get("x-total-count"));
      return { tasks: res.data, total: Number.isFinite(total) && res.headers.has("x-total-count") ? total : null, next: nextPage(res.headers.get("link")) };
    },
    getTask: (id: string) => get(P.Task, path(R.task, { id })),
    cancelTask: (id: string) => post(P.TaskAck, path(R.cancelTask, { id })),
    /** A new task with the finished task's fields and `metadata.retry_of` = its id. */
    retryTask: (id: string) => post(P.Task, path(R.retryTask, { id })),
    updateStatus: async (id: string, body: Q.TaskStatusBody) =>
      (await call(P.TaskAck, "PUT", path(R.taskStatus, { id }), { body, timeoutMs: deadline("report") })).data,
    postOutput: (
      id: string,
      body: { worker_id: string; attempt: number; seq: number; lines: string[] } | { worker_id: string; output: string; timestamp: string },
    ) => post(P.OutputAck, path(R.taskOutput, { id }), body, undefined, "output"),
    getOutput: (id: string, since = 0) => get(P.OutputPage, path(R.taskOutput, { id }), { since }),
    getTaskDiff: (id: string) => get(P.TaskDiff, path(R.taskDiff, { id })),

    // dispatch
    /** Claim a task by id, or the best eligible one (`undefined`). null = nothing to claim (204/409).
     * `busy`: codebases whose directory this worker is using (ClaimBody.busy_codebases). */
    claim: async (workerId: string, taskId?: string, o: { busy?: string[] } = {}): Promise<P.ClaimResponse | null> => {
      try {
        const busy = o.busy ? { busy_codebases: o.busy } : {};
        const res = await http.request("POST", R.claim, {
          body: taskId ? { task_id: taskId, worker_id: workerId, ...busy } : { worker_id: workerId, ...busy },
          headers: { "x-worker-id": workerId },
          timeoutMs: deadline("reconnect"),
        });
        if (res.status === 204 || !res.data) return null;
        return answer(P.ClaimResponse, "POST", R.claim, res.data, http.base, ctx);
      } catch (err) {
        // 409: someone else got it, or it is not for us; but a replaced process must hear that it was.
        if (err instanceof ApiError && err.status === 409 && err.code !== P.WORKER_REPLACED) return null;
        throw err;
      }
    },
    taskHeartbeat: (body: { task_id: string; worker_id: string; attempt: number }) => post(P.TaskHeartbeatResponse, R.taskHeartbeat, body, undefined, "lease"),
    release: (workerId: string, body: Q.ReleaseBody) => post(P.ReleaseAnswer, R.release, body, { "x-worker-id": workerId }, "report"),
    decline: (workerId: string, body: Q.DeclineBody) => post(P.TaskAck, R.decline, body, { "x-worker-id": workerId }, "report"),
    updateStreamCodebases: async (workerId: string, codebases: string[]) =>
      (await call(P.Ack, "PUT", R.streamCodebases, { query: { worker_id: workerId }, body: { codebases }, timeoutMs: deadline("reconnect") })).data,

    // sessions
    syncSessions: (codebaseId: string, body: { worker_id: string; sessions: Q.SessionRecord[] }) =>
      post(P.Ack, path(R.sessionsSync, { id: codebaseId }), body, undefined, "sync"),
    syncMessages: (codebaseId: string, sessionId: string, body: { worker_id: string; messages: Q.MessageRecord[] }) =>
      post(P.Ack, path(R.messagesSync, { id: codebaseId, sid: sessionId }), body, undefined, "sync"),
    listSessions: (codebaseId: string) => get(P.StoredSession.array(), path(R.sessions, { id: codebaseId })),
    /** A codebase's newest `limit` sessions, and whether more exist (a Link header; an older server that answers every session: more than `limit` came). */
    listSessionsPage: async (codebaseId: string, limit: number): Promise<{ sessions: P.StoredSession[]; more: boolean }> => {
      const res = await call(P.StoredSession.array(), "GET", path(R.sessions, { id: codebaseId }), { query: { limit } });
      return { sessions: res.data.slice(0, limit), more: !!nextPage(res.headers.get("link")) || res.data.length > limit };
    },
    /** One session by id (extension; an older server answers 404 "no route"). */
    getSession: (sessionId: string) => get(P.StoredSession, path(R.session, { sid: sessionId })),
    listMessages: (codebaseId: string, sessionId: string) => get(P.StoredMessage.array(), path(R.messages, { id: codebaseId, sid: sessionId })),
  };
}

/** The query of `Link: <...?a=b&before=c>; rel="next"`, or null. */
function nextPage(link: string | null): Record<string, string> | null {
  const m = link && /<([^>]*)>\s*;\s*rel="?next"?/.exec(link);
  if (!m) return null;
  const url = new URL(m[1]!, "http://x");
  return Object.fromEntries(url.searchParams.entries());
}
