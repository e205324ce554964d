// The store going away under a running server (PostgreSQL): requests that need it are
// answered 503 `store_unavailable` with Retry-After, never 500, and the server serves
// again by itself once the database is back; after PostgreSQL kills the server's
// connections (pg_terminate_backend, what a restart or a failover does), the replicas
// listen again and a task created on one still reaches a worker streaming from the other.
// The machine's PostgreSQL service is never restarted: a forwarder that can be unplugged
// stands in for the restart, and only this test's own backends are terminated.
import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import postgres from "postgres";
import { startServerProc, type ServerProc } from "../helpers/cluster.ts";
import { logsOf, startCable } from "../helpers/faults.ts";
import { freshDatabase, NO_PG, TEST_DATABASE_URL } from "../helpers/pg.ts";
import { killAll, tempDir, waitUntil } from "../helpers/proc.ts";
import { createApi, openSse, registerWorker } from "../helpers/server.ts";
import { describeUnless } from "../helpers/skip.ts";

setDefaultTimeout(120_000);
const O = "/v1/opencode";
const tmp = tempDir("ct-store-outage-");
afterAll(async () => {
  await killAll();
  tmp.cleanup();
});

describeUnless(NO_PG, "store outage [postgres]", () => {
  test("503 store_unavailable with Retry-After while PostgreSQL is unreachable; serves again when it is back", async () => {
    const db = await freshDatabase();
    const pg = new URL(TEST_DATABASE_URL!);
    const cable = await startCable({ host: pg.hostname, port: Number(pg.port || 5432) });
    let server: ServerProc | undefined;
    try {
      server = await startServerProc(join(tmp.path, "one"), { databaseUrl: cable.via(db.url), args: ["--log-format", "json"] });
      const api = createApi(server.url);
      const before = await api.post(`${O}/tasks`, { prompt: "before the outage", target_worker_id: "nobody" });
      expect(before.status).toBe(201);

      await cable.unplug();
      for (const [method, path, body] of [
        ["POST", `${O}/tasks`, { prompt: "during the outage" }],
        ["GET", `${O}/tasks`, undefined],
        ["GET", `${O}/tasks/${before.body.id}`, undefined],
        ["POST", `${O}/workers/register`, { worker_id: "w-outage", name: "w-outage" }],
      ] as const) {
        const r = await api.call(method, path, body);
        expect({ method, path, status: r.status, error: r.body?.error }).toEqual({ method, path, status: 503, error: "store_unavailable" });
        expect(r.headers.get("retry-after")).toBe("1");
      }
      expect(logsOf(server.proc, "store unavailable").length).toBeGreaterThanOrEqual(4);
      expect(logsOf(server.proc, "request failed")).toEqual([]); // the 500 path was never taken
      expect((await api.get("/health")).status).toBe(200); // the process itself is up

      await cable.plug();
      // The pool reconnects on its own: the next requests succeed, nothing was lost or half-written.
      const after = await waitUntil(
        async () => {
          const r = await api.post(`${O}/tasks`, { prompt: "after the outage", target_worker_id: "nobody" });
          return r.status === 201 ? r : null;
        },
        "the server serving again",
        30_000,
        200,
      );
      const prompts = (await api.get(`${O}/tasks`)).body.map((t: { prompt: string }) => t.prompt).sort();
      expect(prompts).toEqual(["after the outage", "before the outage"]);
      expect(after.body.status).toBe("pending");
      expect(server.proc.proc.exitCode).toBeNull();
    } finally {
      await server?.stop();
      await cable.stop();
      await db.drop();
    }
  });

  test("after pg_terminate_backend on every server connection, cross-replica push still works", async () => {
    const db = await freshDatabase();
    const admin = postgres(TEST_DATABASE_URL!, { max: 1, onnotice: () => {} });
    const servers: ServerProc[] = [];
    try {
      for (const n of ["a", "b"]) servers.push(await startServerProc(join(tmp.path, n), { databaseUrl: db.url, args: ["--log-format", "json"] }));
      const [a, b] = servers as [ServerProc, ServerProc];
      const apiA = createApi(a.url);
      const apiB = createApi(b.url);
      const listeners = async () =>
        Number((await admin`SELECT count(*) AS n FROM pg_stat_activity WHERE datname = ${db.name} AND query ILIKE 'listen %'`)[0]!.n);
      await waitUntil(async () => (await listeners()) >= 2, "both replicas listening", 10_000, 100);

      const w = await registerWorker(apiB, "outage");
      const sse = openSse(`${b.url}/v1/worker/tasks/stream?worker_id=${w.id}&agent_name=x`, { "x-codebases": `${w.codebaseId},global` });
      await sse.waitFor((f) => f.event === "connected", "connected on B");

      const killed = await admin`SELECT pid, pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE datname = ${db.name} AND pid <> pg_backend_pid()`;
      expect(killed.length).toBeGreaterThanOrEqual(2); // at least each replica's LISTEN connection
      const pids = killed.map((r) => Number(r.pid));
      await waitUntil(
        async () => Number((await admin`SELECT count(*) AS n FROM pg_stat_activity WHERE pid IN ${admin(pids)}`)[0]!.n) === 0,
        "the killed backends gone",
        10_000,
        50,
      );
      // postgres.js re-listens on a new connection: wait for both LISTENs to be back.
      await waitUntil(async () => (await listeners()) >= 2, "both replicas listening again", 30_000, 100);

      const t = await waitUntil(
        async () => {
          const r = await apiA.post(`${O}/tasks`, { codebase_id: w.codebaseId, prompt: "after the kill" });
          return r.status === 201 ? r.body : null;
        },
        "replica A accepting tasks again",
        30_000,
        200,
      );
      await sse.waitFor((f) => f.event === "task_available" && JSON.parse(f.data).id === t.id, "task from A on B's stream after the kill", 10_000);
      expect(a.proc.proc.exitCode).toBeNull();
      expect(b.proc.proc.exitCode).toBeNull();
      sse.close();
      await sse.ended;
    } finally {
      for (const s of servers) await s.stop();
      await admin.end({ timeout: 2 });
      await db.drop();
    }
  });
});
