// Two server replicas on one PostgreSQL database through a real PgBouncer in transaction
// pooling (where LISTEN/NOTIFY cannot work), with `redis_url` to the real redis-server:
// a task created on one replica reaches a worker streaming from the other within 1 s, and
// the worker's codebase update works on either replica. Without Redis the README's caveat
// holds: the other replica's stream hears nothing (workers fall back to polling).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { startServerProc, type ServerProc } from "../helpers/cluster.ts";
import { freshDatabase, NO_PG, type TestDatabase } from "../helpers/pg.ts";
import { PGBOUNCER, startPgBouncer, type PgBouncer } from "../helpers/pgbouncer.ts";
import { killAll, tempDir } from "../helpers/proc.ts";
import { createApi, openSse, registerWorker, type Api, type SseClient, type TestWorker } from "../helpers/server.ts";
import { describeUnless } from "../helpers/skip.ts";

const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

async function redisReachable(): Promise<boolean> {
  try {
    const { RedisClient } = await import("bun");
    const c = new RedisClient(REDIS_URL, { connectionTimeout: 1000, autoReconnect: false });
    await c.connect();
    c.close();
    return true;
  } catch {
    return false;
  }
}

const skip =
  NO_PG ??
  (!PGBOUNCER
    ? "pgbouncer is not installed (apt-get install pgbouncer; .ci/run installs it)"
    : !(await redisReachable())
      ? `no Redis at ${REDIS_URL} (set TEST_REDIS_URL)`
      : undefined);
const O = "/v1/opencode";

describeUnless(skip, "replicas behind PgBouncer (transaction pooling)", () => {
  const tmp = tempDir("ct-redis-");
  let bouncer: PgBouncer;
  let db: TestDatabase;
  beforeAll(async () => {
    bouncer = await startPgBouncer();
    db = await freshDatabase();
  });
  afterAll(async () => {
    await killAll();
    await bouncer?.stop();
    await db?.drop();
    tmp.cleanup();
  });

  /** Two replicas on the bouncer's URL; `redis`: with redis_url. */
  async function replicas(name: string, redis: boolean): Promise<[ServerProc, ServerProc]> {
    const url = `${bouncer.urlFor(db.name)}?pgbouncer=true`;
    const env: Record<string, string> = redis ? { A2A_REDIS_URL: REDIS_URL } : {};
    return Promise.all([
      startServerProc(join(tmp.path, `${name}-a`), { databaseUrl: url, env }),
      startServerProc(join(tmp.path, `${name}-b`), { databaseUrl: url, env }),
    ]);
  }

  /** The worker's task stream on `server`, routed to its codebase (as `worker start` opens it). */
  async function streamOn(server: ServerProc, w: TestWorker, codebases: string[]): Promise<SseClient> {
    const s = openSse(`${server.url}/v1/worker/tasks/stream?worker_id=${w.id}&agent_name=${w.id}`, { "x-worker-id": w.id, "x-codebases": codebases.join(",") });
    await s.waitFor((f) => f.event === "connected", "stream connected");
    return s;
  }

  test("with redis_url: a task created on A is pushed to a worker streaming from B within 1 s; the codebase update works on either replica", async () => {
    const [a, b] = await replicas("redis", true);
    const apiA: Api = createApi(a.url);
    const w = await registerWorker(apiA, "rb");
    const stream = await streamOn(b, w, [w.codebaseId]);

    const t0 = Date.now();
    const t = (await apiA.post(`${O}/tasks`, { codebase_id: w.codebaseId, prompt: "over redis" })).body;
    await stream.waitFor((f) => f.event === "task_available" && JSON.parse(f.data).id === t.id, "the task pushed to B's stream", 1_000);
    const latency = Date.now() - t0;
    console.log(`[redis] create on A -> push on B: ${latency} ms`);

    // A second codebase for the worker, with a task already waiting on it; the worker tells
    // A (which holds no stream of it) that its stream should now route both.
    const cb2 = (await apiA.post(`${O}/codebases`, { name: "second", path: `/srv/${w.id}-2`, worker_id: w.id })).body.codebase.id;
    const waiting = (await apiA.post(`${O}/tasks`, { codebase_id: cb2, prompt: "waiting on cb2" })).body;
    const put = await apiA.put(`/v1/worker/codebases?worker_id=${w.id}`, { codebases: [w.codebaseId, cb2] }, { "x-worker-id": w.id });
    expect(put.status).toBe(200);
    await stream.waitFor((f) => f.event === "task_available" && JSON.parse(f.data).id === waiting.id, "the waiting cb2 task announced on B", 2_000);
    const next = (await apiA.post(`${O}/tasks`, { codebase_id: cb2, prompt: "new on cb2" })).body;
    await stream.waitFor((f) => f.event === "task_available" && JSON.parse(f.data).id === next.id, "a new cb2 task pushed to B", 1_000);
    // and on B itself (the replica holding the stream) too
    expect((await createApi(b.url).put(`/v1/worker/codebases?worker_id=${w.id}`, { codebases: [w.codebaseId] }, { "x-worker-id": w.id })).status).toBe(200);
    stream.close();
    await Promise.all([a.stop(), b.stop()]);
  });

  test("without redis_url (the caveat): B's stream hears nothing of a task created on A, and A warns at start", async () => {
    const [a, b] = await replicas("plain", false);
    expect(a.proc.out() + a.proc.err()).toContain("without redis_url: replicas do not push to each other");
    const apiA = createApi(a.url);
    const w = await registerWorker(apiA, "nb");
    const stream = await streamOn(b, w, [w.codebaseId]);
    const t = (await apiA.post(`${O}/tasks`, { codebase_id: w.codebaseId, prompt: "lost push" })).body;
    await Bun.sleep(2_000);
    expect(stream.frames.filter((f) => f.event === "task_available" && JSON.parse(f.data).id === t.id)).toEqual([]);
    // the task is there for a claim (what a polling worker does)
    const c = await createApi(b.url).post("/v1/worker/tasks/claim", {}, { "x-worker-id": w.id });
    expect(c.body.task_id).toBe(t.id);
    // and a codebase update on the replica without the stream is refused as before
    expect((await apiA.put(`/v1/worker/codebases?worker_id=${w.id}`, { codebases: [w.codebaseId] }, { "x-worker-id": w.id })).status).toBe(404);
    stream.close();
    await Promise.all([a.stop(), b.stop()]);
  });
});
