// The dashboard as the server serves it, without a browser: the page and its bundled
// assets at `/` from `codetether server start` (no CDN, nothing from elsewhere), public
// without a token while the API is not, `--no-ui` turns it off; and the two routes only
// the dashboard uses (info, queue) on both stores.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { startServerProc, type ServerProc } from "../helpers/cluster.ts";
import { killAll, tempDir } from "../helpers/proc.ts";
import { registerWorker, startTestServer, STORE_KINDS, storeSkip, type TestServer } from "../helpers/server.ts";
import { describeUnless } from "../helpers/skip.ts";

const tmp = tempDir("ct-dash-");
afterAll(async () => {
  await killAll();
  tmp.cleanup();
});

/** Same-origin asset paths the page references (scripts, styles, icons). */
function assetPaths(html: string): string[] {
  return [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
}

describe("dashboard served by `codetether server start`", () => {
  let server: ServerProc;
  beforeAll(async () => {
    server = await startServerProc(join(tmp.path, "auth"), { env: { A2A_AUTH_TOKENS: "ops:dash-secret" } });
  });

  test("GET / is the page; every asset it names is served from this server, with no token", async () => {
    const res = await fetch(server.url + "/");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
    const html = await res.text();
    expect(html).toContain("<title>CodeTether</title>");
    const assets = assetPaths(html).filter((p) => !p.startsWith("data:"));
    expect(assets.some((p) => p.endsWith(".js"))).toBe(true);
    expect(assets.some((p) => p.endsWith(".css"))).toBe(true);
    for (const p of assets) {
      expect(p).toStartWith("/"); // same origin: no CDN, works air-gapped
      const a = await fetch(server.url + p);
      expect({ p, status: a.status }).toEqual({ p, status: 200 });
      const body = await a.text();
      expect(body.length).toBeGreaterThan(100);
      expect(body).not.toMatch(/https?:\/\/(unpkg|cdn|fonts\.googleapis)/);
    }
  });

  test("the API still needs the token; /v1/dashboard/info does not and says auth is on", async () => {
    expect((await fetch(server.url + "/v1/monitor/workers")).status).toBe(401);
    expect((await fetch(server.url + "/v1/monitor/queue")).status).toBe(401);
    const info = await fetch(server.url + "/v1/dashboard/info");
    expect(info.status).toBe(200);
    expect(await info.json()).toEqual({ version: expect.any(String), auth: true, exposed: false });
  });

  test("--no-ui: / is a 404 and the API is untouched", async () => {
    const off = await startServerProc(join(tmp.path, "off"), { args: ["--no-ui"] });
    const res = await fetch(off.url + "/");
    expect(res.status).toBe(404);
    expect((await res.json()).error).toBe("not_found");
    expect((await fetch(off.url + "/health")).status).toBe(200);
    await off.stop();
  });

  test("A2A_UI=false turns it off too; a network bind without tokens is reported as exposed", async () => {
    const off = await startServerProc(join(tmp.path, "env-off"), { env: { A2A_UI: "false" } });
    expect((await fetch(off.url + "/")).status).toBe(404);
    await off.stop();
    const open = await startServerProc(join(tmp.path, "open"), { args: ["--host", "0.0.0.0"] });
    expect(await (await fetch(open.url + "/v1/dashboard/info")).json()).toMatchObject({ auth: false, exposed: true });
    await open.stop();
  });
});

for (const kind of STORE_KINDS) {
  describeUnless(storeSkip(kind), `dashboard queue [${kind}]`, () => {
    let s: TestServer;
    beforeAll(async () => {
      s = await startTestServer(kind, { leaseSeconds: 60, sweepIntervalMs: 3_600_000 });
    });
    afterAll(() => s?.stop());

    test("pending tasks per codebase, named, busiest first, with the oldest one's time; running tasks not counted", async () => {
      const a = await registerWorker(s, "qa");
      const b = await registerWorker(s, "qb");
      const made: any[] = [];
      for (const cb of [a.codebaseId, b.codebaseId, b.codebaseId, b.codebaseId])
        made.push((await s.post("/v1/opencode/tasks", { codebase_id: cb, prompt: "x" })).body);
      expect((await s.post("/v1/worker/tasks/claim", {}, b.headers)).status).toBe(200); // one of b's is running now
      const r = await s.get("/v1/monitor/queue");
      expect(r.status).toBe(200);
      const mine = r.body.codebases.filter((q: any) => q.codebase_id === a.codebaseId || q.codebase_id === b.codebaseId);
      expect(mine).toEqual([
        { codebase_id: b.codebaseId, name: "app", worker_id: b.id, pending: 2, oldest_pending_at: made[2].created_at },
        { codebase_id: a.codebaseId, name: "app", worker_id: a.id, pending: 1, oldest_pending_at: made[0].created_at },
      ]);
    });

    test("activity: this hour's finished tasks by status and the queue depth now, from the store", async () => {
      const fresh = await startTestServer(kind, { sweepIntervalMs: 3_600_000 });
      try {
        const w = await registerWorker(fresh, "act");
        const ids: string[] = [];
        for (let i = 0; i < 4; i++) ids.push((await fresh.post("/v1/opencode/tasks", { codebase_id: w.codebaseId, prompt: `a${i}` })).body.id);
        const c = await fresh.post("/v1/worker/tasks/claim", { task_id: ids[0] }, w.headers);
        await fresh.post("/v1/worker/tasks/release", { task_id: ids[0], attempt: c.body.attempt, status: "completed", result: "ok" }, w.headers);
        const f = await fresh.post("/v1/worker/tasks/claim", { task_id: ids[1] }, w.headers);
        await fresh.post("/v1/worker/tasks/release", { task_id: ids[1], attempt: f.body.attempt, status: "failed", error: "x" }, w.headers);
        await fresh.post(`/v1/opencode/tasks/${ids[2]}/cancel`);
        const r = await fresh.get("/v1/monitor/activity");
        expect(r.status).toBe(200);
        const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
        expect(r.body.minutes).toHaveLength(60);
        expect([sum(r.body.completed), sum(r.body.failed), sum(r.body.cancelled)]).toEqual([1, 1, 1]);
        expect(r.body.queued.at(-1)).toBe(1); // ids[3] still waits
      } finally {
        await fresh.stop();
      }
    });
  });
}
