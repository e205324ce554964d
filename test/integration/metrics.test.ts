// GET /metrics on both stores: what a task's life adds to the counters and histograms,
// the fleet state read at scrape time, labels that stay few (route templates, ids), and
// who may read it (metrics-only tokens).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { waitUntil } from "../helpers/proc.ts";
import { registerWorker, startTestServer, STORE_KINDS, storeSkip, type TestServer } from "../helpers/server.ts";
import { describeUnless } from "../helpers/skip.ts";

const O = "/v1/opencode";
const W = "/v1/worker/tasks";

/** name{labels} -> value, from the Prometheus text format. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const i = line.lastIndexOf(" ");
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

for (const kind of STORE_KINDS) {
  describeUnless(storeSkip(kind), `metrics [${kind}]`, () => {
    let s: TestServer;
    beforeAll(async () => {
      s = await startTestServer(kind, { leaseSeconds: 1, sweepIntervalMs: 3_600_000 });
    });
    afterAll(() => s?.stop());
    const scrape = async () => {
      const r = await s.get("/metrics");
      expect(r.status).toBe(200);
      expect(r.headers.get("content-type")).toStartWith("text/plain");
      return { text: r.body as string, m: samples(r.body as string) };
    };

    test("a task's life: created, claimed (wait, attempt), output, finished (status, duration); fleet gauges; route-template labels", async () => {
      const w = await registerWorker(s, "m");
      const cb = w.codebaseId;
      const done = (await s.post(`${O}/tasks`, { codebase_id: cb, prompt: "one" })).body;
      const waiting = (await s.post(`${O}/tasks`, { codebase_id: cb, prompt: "two", priority: -1 })).body;
      const c = await s.post(`${W}/claim`, { task_id: done.id }, w.headers);
      expect(c.status).toBe(200);
      const out = await s.post(`${O}/tasks/${done.id}/output`, { worker_id: w.id, attempt: c.body.attempt, seq: 0, lines: ["héllo", "world"] }, w.headers);
      expect(out.body.stored).toBe(2);
      expect(
        (await s.post(`${W}/release`, { task_id: done.id, worker_id: w.id, attempt: c.body.attempt, status: "completed", result: "ok" }, w.headers)).status,
      ).toBe(200);

      const { text, m } = await scrape();
      expect(m.get(`codetether_tasks_created_total{codebase_id="${cb}"}`)).toBe(2);
      expect(m.get(`codetether_task_attempts_total{codebase_id="${cb}"}`)).toBe(1);
      expect(m.get(`codetether_tasks_finished_total{codebase_id="${cb}",status="completed"}`)).toBe(1);
      expect(m.get("codetether_task_claim_latency_seconds_count")).toBe(1);
      expect(m.get('codetether_task_duration_seconds_count{status="completed"}')).toBe(1);
      expect(m.get("codetether_output_lines_total")).toBe(2);
      expect(m.get("codetether_output_bytes_total")).toBe(Buffer.byteLength("héllo") + 5);
      // fleet state from the store
      expect(m.get(`codetether_tasks_pending{codebase_id="${cb}"}`)).toBe(1);
      expect(m.get(`codetether_queue_oldest_pending_seconds{codebase_id="${cb}"}`)).toBeGreaterThanOrEqual(0);
      expect(m.get('codetether_workers{status="active"}')).toBeGreaterThanOrEqual(1);
      expect(m.get(`codetether_codebase_info{codebase_id="${cb}",name="app",worker_id="${w.id}"}`)).toBe(1);
      // requests by template: the task id is not a label
      expect(m.get('codetether_http_requests_total{method="POST",route="/v1/opencode/tasks",status="201"}')).toBeGreaterThanOrEqual(2);
      expect(m.get('codetether_http_requests_total{method="POST",route="/v1/opencode/tasks/:id/output",status="200"}')).toBeGreaterThanOrEqual(1);
      expect(text).not.toContain(done.id);
      // every series the shipped Grafana dashboard queries exists (deploy/grafana/codetether.json)
      const dash = JSON.parse(readFileSync(join(import.meta.dir, "../../deploy/grafana/codetether.json"), "utf8"));
      const used = new Set<string>(dash.panels.flatMap((p: any) => p.targets.flatMap((t: any) => t.expr.match(/codetether_[a-z_]+/g) ?? [])));
      expect(used.size).toBeGreaterThan(10);
      for (const name of used)
        expect({ name, exposed: text.includes(`\n${name}`) || text.includes(`# TYPE ${name.replace(/_(bucket|count|sum)$/, "")} `) }).toEqual({
          name,
          exposed: true,
        });
      await s.post(`${O}/tasks/${waiting.id}/cancel`);
    });

    test("a lease that runs out is counted; a store-independent 404 is counted as unmatched", async () => {
      const w = await registerWorker(s, "lease");
      const t = (await s.post(`${O}/tasks`, { codebase_id: w.codebaseId, prompt: "expire", max_attempts: 1 })).body;
      expect((await s.post(`${W}/claim`, { task_id: t.id }, w.headers)).status).toBe(200);
      const before = (await scrape()).m.get("codetether_lease_expiries_total") ?? 0;
      await Bun.sleep(1100); // the lease is 1 s
      await waitUntil(
        async () => {
          await s.handle.sweep();
          return (await s.get(`${O}/tasks/${t.id}`)).body.status === "failed";
        },
        "the sweeper failed the expired task",
        10_000,
      );
      const { m } = await scrape();
      expect(m.get("codetether_lease_expiries_total")).toBe(before + 1);
      expect(m.get(`codetether_tasks_finished_total{codebase_id="${w.codebaseId}",status="failed"}`)).toBe(1);
      expect((await s.get("/no/such/route")).status).toBe(404);
      expect((await scrape()).m.get('codetether_http_requests_total{method="GET",route="unmatched",status="404"}')).toBeGreaterThanOrEqual(1);
    });
  });
}

describeUnless(undefined, "metrics access", () => {
  let s: TestServer;
  let open: TestServer;
  beforeAll(async () => {
    s = await startTestServer("sqlite", { authTokens: ["ops:ops-secret"], metricsTokens: ["prom:scrape-secret"] });
    open = await startTestServer("sqlite", { metricsTokens: ["scrape-only"] });
  });
  afterAll(async () => {
    await s?.stop();
    await open?.stop();
  });

  test("with auth on: no token 401; a metrics token reads /metrics and nothing else; an API token reads it too", async () => {
    expect((await s.get("/metrics")).status).toBe(401);
    expect((await s.as("scrape-secret").get("/metrics")).status).toBe(200);
    const refused = await s.as("scrape-secret").get(`${O}/tasks`);
    expect(refused.status).toBe(403);
    expect(refused.body.message).toBe("Authorization: token 'prom' is a metrics token: it may read /metrics only");
    expect((await s.as("scrape-secret").post(`${O}/tasks`, { prompt: "x" })).status).toBe(403);
    expect((await s.as("ops-secret").get("/metrics")).status).toBe(200);
    expect((await s.as("wrong").get("/metrics")).status).toBe(403);
  });

  test("metrics tokens alone: /metrics needs one, the API stays open as without tokens", async () => {
    expect((await open.get("/metrics")).status).toBe(401);
    expect((await open.as("scrape-only").get("/metrics")).status).toBe(200);
    expect((await open.get(`${O}/tasks`)).status).toBe(200);
  });
});
