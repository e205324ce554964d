// The server under test: in-process on port 0 over SQLite (:memory:) or a fresh
// PostgreSQL database, or as a real `codetether server start` process; plus a raw HTTP
// helper (status + parsed body, no client-side smarts) and an SSE reader.
import { readSse, type SseFrame } from "../../src/client/sse.ts";
import { startServer, type ServerHandle, type ServerOptions } from "../../src/server/index.ts";
import { freshDatabase, NO_PG, type TestDatabase } from "./pg.ts";
import { spawnCli, waitUntil, type CliProc } from "./proc.ts";

export type StoreKind = "sqlite" | "postgres";

/** Both stores; pass storeSkip(kind) to describeUnless so PostgreSQL is a counted skip without TEST_DATABASE_URL. */
export const STORE_KINDS: readonly StoreKind[] = ["sqlite", "postgres"];

/** Why a suite on `kind` cannot run here (undefined when it can). */
export const storeSkip = (kind: StoreKind): string | undefined => (kind === "postgres" ? NO_PG : undefined);

export interface Res<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

export interface Api {
  url: string;
  call<T = any>(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Res<T>>;
  get<T = any>(path: string, headers?: Record<string, string>): Promise<Res<T>>;
  post<T = any>(path: string, body?: unknown, headers?: Record<string, string>): Promise<Res<T>>;
  put<T = any>(path: string, body?: unknown, headers?: Record<string, string>): Promise<Res<T>>;
  del<T = any>(path: string, headers?: Record<string, string>): Promise<Res<T>>;
}

/** Raw HTTP: a string body is sent as is (for bad JSON), anything else as JSON. */
export function createApi(url: string, token?: string): Api {
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const h: Record<string, string> = { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers };
    let payload: string | undefined;
    if (body !== undefined) {
      payload = typeof body === "string" ? body : JSON.stringify(body);
      h["content-type"] ??= "application/json";
    }
    const res = await fetch(url + path, { method, headers: h, body: payload });
    const text = await res.text();
    let parsed: any = text;
    if ((res.headers.get("content-type") ?? "").includes("json") && text) parsed = JSON.parse(text);
    else if (!text) parsed = null;
    return { status: res.status, body: parsed, headers: res.headers };
  };
  return {
    url,
    call,
    get: (p, h) => call("GET", p, undefined, h),
    post: (p, b, h) => call("POST", p, b ?? {}, h),
    put: (p, b, h) => call("PUT", p, b ?? {}, h),
    del: (p, h) => call("DELETE", p, undefined, h),
  };
}

export interface TestServer extends Api {
  kind: StoreKind;
  handle: ServerHandle;
  db?: TestDatabase;
  /** Same server, another token. */
  as(token?: string): Api;
  stop(): Promise<void>;
}

export async function startTestServer(kind: StoreKind, opts: Partial<ServerOptions> & { token?: string } = {}): Promise<TestServer> {
  const db = kind === "postgres" ? await freshDatabase() : undefined;
  const { token, ...o } = opts;
  const handle = await startServer({
    host: "127.0.0.1",
    port: 0,
    authTokens: [],
    store: db ? { kind: "postgres", url: db.url } : { kind: "sqlite", path: ":memory:" },
    ...o,
  });
  const api = createApi(handle.url, token);
  return {
    ...api,
    kind,
    handle,
    db,
    as: (t) => createApi(handle.url, t),
    async stop() {
      await handle.stop();
      await db?.drop();
    },
  };
}

export interface SseClient {
  frames: SseFrame[];
  /** Resolves with the first frame (already seen or future) matching `pred`. */
  waitFor(pred: (f: SseFrame) => boolean, what: string, timeoutMs?: number): Promise<SseFrame>;
  close(): void;
  /** Resolves when the server ends the stream (or close() is called). */
  ended: Promise<void>;
  error: () => unknown;
}

export function openSse(url: string, headers: Record<string, string> = {}): SseClient {
  const ac = new AbortController();
  const frames: SseFrame[] = [];
  let err: unknown;
  const ended = (async () => {
    try {
      for await (const f of readSse(url, { headers, signal: ac.signal, idleMs: 60_000 })) frames.push(f);
    } catch (e) {
      err = e;
    }
  })();
  return {
    frames,
    ended,
    error: () => err,
    close: () => ac.abort(),
    waitFor: (pred, what, timeoutMs = 10_000) =>
      waitUntil(
        () => {
          if (err) throw err;
          return frames.find(pred);
        },
        what,
        timeoutMs,
        20,
      ),
  };
}

export const taskEvents = (c: SseClient, event = "task_available") => c.frames.filter((f) => f.event === event).map((f) => JSON.parse(f.data));

export interface ServerProcess {
  url: string;
  proc: CliProc;
  stop(sig?: NodeJS.Signals): Promise<number>;
}

/** `codetether server start --port 0 ...` as a real process; resolves once it printed its URL. */
export async function spawnServer(args: string[], env: Record<string, string | undefined> = {}): Promise<ServerProcess> {
  const proc = spawnCli(["server", "start", "--port", "0", ...args], { env: { A2A_CONFIG: undefined, ...env } });
  const m = await proc.waitFor(/listening on (http:\/\/[^\s]+)/, 30_000);
  return {
    url: m[1]!,
    proc,
    async stop(sig = "SIGTERM") {
      proc.kill(sig);
      return proc.exited;
    },
  };
}

let n = 0;
/** A unique id for this test run (workers, paths), so tests sharing a server do not meet. */
export const uid = (prefix: string) => `${prefix}-${process.pid}-${++n}-${Math.random().toString(36).slice(2, 7)}`;

export interface TestWorker {
  id: string;
  codebaseId: string;
  globalId: string;
  path: string;
  headers: Record<string, string>;
}

/** Registers a worker with its global codebase and one codebase of its own, like a real worker does. */
export async function registerWorker(api: Api, prefix = "w", opts: { global?: boolean } = {}): Promise<TestWorker> {
  const id = uid(prefix);
  const path = `/srv/${id}`;
  let globalId = "";
  if (opts.global !== false) {
    const g = await api.post("/v1/opencode/codebases", { name: "global", path: `/home/${id}`, worker_id: id });
    if (g.status !== 200) throw new Error(`global codebase: ${g.status} ${JSON.stringify(g.body)}`);
    globalId = g.body.codebase.id;
  }
  const cb = await api.post("/v1/opencode/codebases", { name: "app", path, worker_id: id });
  if (cb.status !== 200) throw new Error(`codebase: ${cb.status} ${JSON.stringify(cb.body)}`);
  const reg = await api.post("/v1/opencode/workers/register", { worker_id: id, name: id, codebases: [cb.body.codebase.id, "global"] });
  if (reg.status !== 200) throw new Error(`register: ${reg.status} ${JSON.stringify(reg.body)}`);
  return { id, codebaseId: cb.body.codebase.id, globalId, path, headers: { "x-worker-id": id } };
}
