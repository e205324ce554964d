// The server contract (PROTOCOL.md) over HTTP, run against SQLite and PostgreSQL:
// workers, codebases, tasks, claims, affinity, leases, fencing, release, cancel, sweeper.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { waitUntil } from "../helpers/proc.ts";
import { registerWorker, startTestServer, STORE_KINDS, storeSkip, uid, type Api, type TestServer, type TestWorker } from "../helpers/server.ts";
import { describeUnless } from "../helpers/skip.ts";

const O = "/v1/opencode";
const W = "/v1/worker/tasks";

async function createTask(api: Api, body: Record<string, unknown>) {
  const r = await api.post(`${O}/tasks`, { prompt: "do it", ...body });
  expect(r.status).toBe(201);
  return r.body;
}
const claim = (api: Api, w: TestWorker, taskId?: string) => api.post(`${W}/claim`, taskId ? { task_id: taskId } : {}, w.headers);
const getTask = async (api: Api, id: string) => (await api.get(`${O}/tasks/${id}`)).body;

for (const kind of STORE_KINDS) {
  describeUnless(storeSkip(kind), `server contract [${kind}]`, () => {
    let s: TestServer;
    beforeAll(async () => {
      // The sweeper is driven by hand here (s.handle.sweep()); the timing suite below runs it for real.
      s = await startTestServer(kind, { leaseSeconds: 60, sweepIntervalMs: 3_600_000 });
    });
    afterAll(() => s?.stop());

    test("health needs no token and names the store", async () => {
      const r = await s.get("/health");
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ status: "ok", version: expect.any(String), store: kind });
    });

    test("worker register is an idempotent upsert with settings; list, get, heartbeat, monitor, unregister", async () => {
      const id = uid("reg");
      const body = { worker_id: id, name: "Reg", capabilities: ["opencode"], hostname: "h1", codebases: ["global"], max_concurrent_tasks: 2, version: "9" };
      const a = await s.post(`${O}/workers/register`, body);
      expect(a.status).toBe(200);
      expect(a.body.success).toBe(true);
      expect(a.body.settings).toEqual({ heartbeat_interval_s: 15, lease_s: 60, poll_interval_s: 5 });
      expect(a.body.worker).toMatchObject({ id, worker_id: id, name: "Reg", status: "active", hostname: "h1", capabilities: ["opencode"] });
      const b = await s.post(`${O}/workers/register`, { ...body, name: "Reg2" });
      expect(b.body.worker.registered_at).toBe(a.body.worker.registered_at);
      expect(b.body.worker.name).toBe("Reg2");

      const list = await s.get(`${O}/workers`);
      expect(Array.isArray(list.body)).toBe(true);
      expect(list.body.filter((w: any) => w.id === id)).toHaveLength(1);
      expect((await s.get(`${O}/workers/${id}`)).body.name).toBe("Reg2");
      expect((await s.get(`${O}/workers/nope-${id}`)).status).toBe(404);
      expect((await s.get(`/v1/agent/workers/${id}`)).body.name).toBe("Reg2"); // alias

      expect((await s.post(`${O}/workers/${id}/heartbeat`)).body).toEqual({ success: true });
      const unknown = await s.post(`${O}/workers/nope-${id}/heartbeat`);
      expect(unknown.status).toBe(404);
      expect(unknown.body.error).toBe("not_found");

      let mon = (await s.get("/v1/monitor/workers")).body.workers.find((w: any) => w.id === id);
      expect(mon).toMatchObject({
        id,
        name: "Reg2",
        status: "active",
        codebases: 0,
        tasks_completed: 0,
        tasks_running: 0,
        hostname: "h1",
        capabilities: ["opencode"],
      });
      expect((await s.post(`${O}/workers/${id}/unregister`)).body.success).toBe(true);
      mon = (await s.get("/v1/monitor/workers")).body.workers.find((w: any) => w.id === id);
      expect(mon.status).toBe("offline");
      expect((await s.post(`${O}/workers/${id}/heartbeat`)).status).toBe(404); // must register again
      expect((await s.post(`${O}/workers/register`, body)).body.worker.status).toBe("active");
      expect((await s.post(`${O}/workers/nope-${id}/unregister`)).status).toBe(404);
    });

    test("monitor counts a completion once, for the worker that completed it; failures, cancels, hand-backs and repeats do not count", async () => {
      const a = await registerWorker(s, "mca");
      const b = await registerWorker(s, "mcb");
      const counts = async () => {
        const ws = (await s.get("/v1/monitor/workers")).body.workers;
        const of = (w: TestWorker) => ws.find((m: any) => m.id === w.id);
        return [of(a).tasks_completed, of(a).tasks_running, of(b).tasks_completed, of(b).tasks_running];
      };
      const run = async (w: TestWorker) => {
        const t = await createTask(s, { codebase_id: "global", target_worker_id: w.id });
        const c = await claim(s, w, t.id);
        expect(c.status).toBe(200);
        return { t, c: c.body };
      };
      const release = (w: TestWorker, id: string, attempt: number, status?: string) =>
        s.post(`${W}/release`, { task_id: id, attempt, ...(status ? { status, result: "r" } : {}) }, w.headers);

      const one = await run(a);
      expect(await counts()).toEqual([0, 1, 0, 0]);
      expect((await release(a, one.t.id, one.c.attempt, "completed")).status).toBe(200);
      expect((await release(a, one.t.id, one.c.attempt, "completed")).status).toBe(200); // repeated: its answer was lost
      expect(await counts()).toEqual([1, 0, 0, 0]);
      const failed = await run(a);
      await release(a, failed.t.id, failed.c.attempt, "failed");
      const cancelled = await run(a);
      expect((await s.post(`${O}/tasks/${cancelled.t.id}/cancel`)).status).toBe(200);
      await release(a, cancelled.t.id, cancelled.c.attempt, "cancelled");
      expect(await counts()).toEqual([1, 0, 0, 0]);
      // Handed back by a and completed by b: b's.
      const moved = await createTask(s, { codebase_id: "global" });
      const ca = await claim(s, a, moved.id);
      expect((await release(a, moved.id, ca.body.attempt)).status).toBe(200);
      const cb = await claim(s, b, moved.id);
      expect(cb.status).toBe(200);
      await release(b, moved.id, cb.body.attempt, "completed");
      expect(await counts()).toEqual([1, 0, 1, 0]);
    });

    test("codebase upsert: same (worker, normalized path) -> same id; relative path -> 400; get, list, delete", async () => {
      const w = uid("cb");
      const a = await s.post(`${O}/codebases`, { name: "api", path: "/srv/api", worker_id: w, description: "d" });
      expect(a.status).toBe(200);
      expect(a.body.codebase).toMatchObject({ name: "api", path: "/srv/api", description: "d", worker_id: w, status: "active" });
      // Another name for the same pair renames only when asked (codebase-register.test.ts covers the 409).
      const again = await s.post(`${O}/codebases`, { name: "api2", path: "/srv/./api/", worker_id: w, rename: true });
      expect(again.body.codebase.id).toBe(a.body.codebase.id);
      expect(again.body.codebase.name).toBe("api2");
      const other = await s.post(`${O}/codebases`, { name: "api", path: "/srv/api", worker_id: uid("cb") });
      expect(other.body.codebase.id).not.toBe(a.body.codebase.id);

      const rel = await s.post(`${O}/codebases`, { name: "x", path: "srv/api", worker_id: w });
      expect(rel.status).toBe(400);
      expect(rel.body.details[0].field).toBe("path");

      expect((await s.get(`${O}/codebases`)).body.some((c: any) => c.id === a.body.codebase.id)).toBe(true);
      expect((await s.get(`${O}/codebases/${a.body.codebase.id}`)).body.path).toBe("/srv/api");
      expect((await s.del(`${O}/codebases/${a.body.codebase.id}`)).body).toEqual({ success: true });
      expect((await s.get(`${O}/codebases/${a.body.codebase.id}`)).status).toBe(404);
      expect((await s.del(`${O}/codebases/${a.body.codebase.id}`)).status).toBe(404);
    });

    test("registration by path creates a register_codebase task", async () => {
      await registerWorker(s, "rp");
      const r = await s.post(`${O}/codebases`, { name: "site", path: "/var/www/site", description: "web" });
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ success: true, pending: true, task_id: expect.any(String) });
      const t = await getTask(s, r.body.task_id);
      expect(t).toMatchObject({
        agent_type: "register_codebase",
        codebase_id: null,
        status: "pending",
        metadata: { name: "site", path: "/var/www/site", description: "web" },
      });
      await s.post(`${O}/tasks/${t.id}/cancel`); // a pending global task would be claimable by every other test's workers
    });

    test("task create: defaults, model provider:model, unknown codebase 404; list order and filters; get 404", async () => {
      const w = await registerWorker(s, "tc");
      const t = await createTask(s, { codebase_id: w.codebaseId, model: "anthropic:claude-x", metadata: { resume_session_id: "ses_1" } });
      expect(t).toMatchObject({
        codebase_id: w.codebaseId,
        prompt: "do it",
        agent_type: "build",
        model: "anthropic/claude-x",
        priority: 0,
        status: "pending",
        metadata: { resume_session_id: "ses_1" },
        worker_id: null,
        attempt: 0,
        max_attempts: 3,
        cancel_requested: false,
        lease_expires_at: null,
        started_at: null,
        completed_at: null,
      });
      expect(t.created_at).toMatch(/Z$/);
      const bad = await s.post(`${O}/tasks`, { codebase_id: "no-such-codebase", prompt: "x" });
      expect(bad.status).toBe(404);
      expect(bad.body.details[0].field).toBe("codebase_id");

      const low = await createTask(s, { codebase_id: w.codebaseId, priority: -1 });
      const high = await createTask(s, { codebase_id: w.codebaseId, priority: 5 });
      const list = (await s.get(`${O}/tasks?codebase_id=${w.codebaseId}&status=pending&worker_id=&limit=10`)).body;
      expect(list.map((x: any) => x.id)).toEqual([high.id, t.id, low.id]);
      expect((await s.get(`${O}/tasks?codebase_id=${w.codebaseId}&limit=1`)).body).toHaveLength(1);
      expect((await s.get(`${O}/tasks/nope`)).status).toBe(404);
    });

    test("claim by id: 200 with attempt and lease, second claim 409; {}-claim: best first, then 204", async () => {
      const w = await registerWorker(s, "cl", { global: false }); // global tasks of other tests stay out of its way
      const a = await createTask(s, { codebase_id: w.codebaseId, priority: 1 });
      const b = await createTask(s, { codebase_id: w.codebaseId, priority: 1 });
      const c = await createTask(s, { codebase_id: w.codebaseId, priority: 9 });
      const byId = await claim(s, w, b.id);
      expect(byId.status).toBe(200);
      expect(byId.body).toMatchObject({
        success: true,
        task_id: b.id,
        worker_id: w.id,
        attempt: 1,
        task: { id: b.id, status: "running", worker_id: w.id, attempt: 1 },
      });
      expect(Date.parse(byId.body.lease_expires_at)).toBeGreaterThan(Date.now() + 50_000);
      const again = await claim(s, w, b.id);
      expect(again.status).toBe(409);
      expect(again.body.message).toContain("running");

      expect((await claim(s, w)).body.task_id).toBe(c.id); // priority 9
      expect((await claim(s, w)).body.task_id).toBe(a.id);
      const none = await claim(s, w);
      expect(none.status).toBe(204);
      expect(none.body).toBeNull();

      expect((await claim(s, w, "no-such-task")).status).toBe(404);
      const anon = await s.post(`${W}/claim`, {});
      expect(anon.status).toBe(400);
      expect(anon.body.details[0].field).toBe("X-Worker-ID");
      const viaBody = await s.post(`${W}/claim`, { worker_id: w.id });
      expect(viaBody.status).toBe(204);
      const conflict = await s.post(`${W}/claim`, { worker_id: "someone-else" }, w.headers);
      expect(conflict.status).toBe(400);
    });

    test("affinity: codebase owner only, target_worker_id, global/null need a registered global codebase", async () => {
      const a = await registerWorker(s, "affA");
      const b = await registerWorker(s, "affB");
      const noGlobal = await registerWorker(s, "affN", { global: false });
      const ofA = await createTask(s, { codebase_id: a.codebaseId });
      expect((await claim(s, b, ofA.id)).status).toBe(409);
      expect((await claim(s, b)).status).toBe(204);
      expect((await claim(s, a, ofA.id)).status).toBe(200);

      const forB = await createTask(s, { codebase_id: "global", target_worker_id: b.id });
      expect((await claim(s, a, forB.id)).status).toBe(409);
      expect((await claim(s, noGlobal, forB.id)).status).toBe(409);
      expect((await claim(s, b)).body.task_id).toBe(forB.id);

      const nullCb = await createTask(s, { codebase_id: null, target_worker_id: noGlobal.id });
      const r = await claim(s, noGlobal, nullCb.id);
      expect(r.status).toBe(409);
      expect(r.body.message).toContain("global");
      const homeOfA = await createTask(s, { codebase_id: a.globalId });
      expect((await claim(s, b, homeOfA.id)).status).toBe(409);
      expect((await claim(s, a, homeOfA.id)).status).toBe(200);
      // a worker that registers "global" later becomes eligible at once
      await s.post(`${O}/codebases`, { name: "global", path: "/home/late", worker_id: noGlobal.id });
      expect((await claim(s, noGlobal, nullCb.id)).status).toBe(200);
    });

    test("task heartbeat renews the lease; wrong attempt or worker -> 409 stale_attempt", async () => {
      const w = await registerWorker(s, "hb");
      const other = await registerWorker(s, "hbo");
      const t = await createTask(s, { codebase_id: w.codebaseId });
      const c = (await claim(s, w, t.id)).body;
      await Bun.sleep(5);
      const hb = await s.post(`${W}/heartbeat`, { task_id: t.id, worker_id: w.id, attempt: 1 });
      expect(hb.status).toBe(200);
      expect(hb.body).toEqual({ success: true, lease_expires_at: expect.any(String), cancel_requested: false });
      expect(hb.body.lease_expires_at > c.lease_expires_at).toBe(true);
      const wrongAttempt = await s.post(`${W}/heartbeat`, { task_id: t.id, worker_id: w.id, attempt: 2 });
      expect(wrongAttempt.status).toBe(409);
      expect(wrongAttempt.body.error).toBe("stale_attempt");
      expect((await s.post(`${W}/heartbeat`, { task_id: t.id, worker_id: other.id, attempt: 1 })).body.error).toBe("stale_attempt");
      expect((await s.post(`${W}/heartbeat`, { task_id: t.id, attempt: 1 })).status).toBe(200); // attempt alone fences
      expect((await s.post(`${W}/heartbeat`, { task_id: "nope", worker_id: w.id, attempt: 1 })).status).toBe(404);
    });

    test("release without status: running -> pending (next attempt); final status finishes; final stays final", async () => {
      const w = await registerWorker(s, "rel");
      const t = await createTask(s, { codebase_id: w.codebaseId });
      await claim(s, w, t.id);
      const back = await s.post(`${W}/release`, { task_id: t.id, attempt: 1, session_id: "ses_a" }, w.headers);
      expect(back.status).toBe(200);
      expect(back.body.task).toMatchObject({ status: "pending", worker_id: null, attempt: 1, lease_expires_at: null, session_id: "ses_a" });
      const c2 = await claim(s, w);
      expect(c2.body).toMatchObject({ task_id: t.id, attempt: 2 });
      // the first attempt is fenced off now
      const stale = await s.post(`${W}/release`, { task_id: t.id, attempt: 1, status: "completed", result: "old" }, w.headers);
      expect(stale.status).toBe(409);
      expect(stale.body.error).toBe("stale_attempt");
      const done = await s.post(`${W}/release`, { task_id: t.id, attempt: 2, status: "completed", result: "ok" }, w.headers);
      expect(done.body.task).toMatchObject({ status: "completed", result: "ok", lease_expires_at: null });
      expect(done.body.task.completed_at).toBeTruthy();
      // repeats are harmless, changes are refused
      expect((await s.post(`${W}/release`, { task_id: t.id }, w.headers)).body.task.status).toBe("completed");
      expect((await s.post(`${W}/release`, { task_id: t.id, attempt: 2, status: "completed" }, w.headers)).status).toBe(200);
      const flip = await s.post(`${W}/release`, { task_id: t.id, attempt: 2, status: "failed" }, w.headers);
      expect(flip.status).toBe(409);
      expect(flip.body.error).toBe("task_final");
      expect((await s.put(`${O}/tasks/${t.id}/status`, { status: "failed", worker_id: w.id })).status).toBe(409);
      expect((await s.post(`${O}/tasks/${t.id}/cancel`)).status).toBe(409);
      expect((await getTask(s, t.id)).status).toBe("completed");
      // a release never turns a failed task into completed
      const f = await createTask(s, { codebase_id: w.codebaseId });
      await claim(s, w, f.id);
      await s.put(`${O}/tasks/${f.id}/status`, { status: "failed", worker_id: w.id, error: "boom" });
      expect((await s.post(`${W}/release`, { task_id: f.id }, w.headers)).body.task).toMatchObject({ status: "failed", error: "boom" });
      expect((await s.post(`${W}/release`, { task_id: f.id, status: "running" }, w.headers)).status).toBe(400);
    });

    test("max_attempts: the last release without status fails the task", async () => {
      const w = await registerWorker(s, "max");
      const t = await createTask(s, { codebase_id: w.codebaseId, max_attempts: 2 });
      await claim(s, w, t.id);
      expect((await s.post(`${W}/release`, { task_id: t.id, worker_id: w.id })).body.task.status).toBe("pending");
      expect((await claim(s, w, t.id)).body.attempt).toBe(2);
      const last = await s.post(`${W}/release`, { task_id: t.id, worker_id: w.id });
      expect(last.body.task).toMatchObject({ status: "failed", attempt: 2 });
      expect(last.body.task.error).toContain("2 attempt");
      expect((await claim(s, w, t.id)).status).toBe(409);
    });

    test("legacy PUT status (no attempt): running is a no-op that may set session_id; final finishes", async () => {
      const w = await registerWorker(s, "leg");
      const other = await registerWorker(s, "lego");
      const t = await createTask(s, { codebase_id: w.codebaseId });
      await claim(s, w, t.id);
      const run = await s.put(`${O}/tasks/${t.id}/status`, { status: "running", worker_id: w.id });
      expect(run.status).toBe(200);
      expect(run.body.task).toMatchObject({ status: "running", attempt: 1 });
      expect((await s.put(`${O}/tasks/${t.id}/status`, { status: "running", worker_id: w.id, session_id: "ses_9" })).body.task.session_id).toBe("ses_9");
      const foreign = await s.put(`${O}/tasks/${t.id}/status`, { status: "completed", worker_id: other.id });
      expect(foreign.status).toBe(409);
      expect(foreign.body.error).toBe("stale_attempt");
      expect((await s.put(`${O}/tasks/${t.id}/status`, { status: "pending", worker_id: w.id })).status).toBe(409);
      const anon = await s.put(`${O}/tasks/${t.id}/status`, { status: "completed" });
      expect(anon.status).toBe(400);
      expect(anon.body.details[0].field).toBe("worker_id");
      const fin = await s.put(`${O}/tasks/${t.id}/status`, { status: "completed", worker_id: w.id, result: "done" });
      expect(fin.body.task).toMatchObject({ status: "completed", result: "done", session_id: "ses_9" });
      expect((await s.put(`${O}/tasks/${t.id}/status`, { status: "completed", worker_id: w.id })).status).toBe(200);
      expect((await s.put(`${O}/tasks/nope/status`, { status: "completed", worker_id: w.id })).status).toBe(404);
    });

    test("cancel: pending at once; running -> cancel_requested, seen on heartbeat, holder reports cancelled", async () => {
      const w = await registerWorker(s, "can");
      const p = await createTask(s, { codebase_id: w.codebaseId });
      const cp = await s.post(`${O}/tasks/${p.id}/cancel`);
      expect(cp.body.task).toMatchObject({ status: "cancelled" });
      expect((await claim(s, w, p.id)).status).toBe(409);

      const r = await createTask(s, { codebase_id: w.codebaseId });
      await claim(s, w, r.id);
      const cr = await s.post(`${O}/tasks/${r.id}/cancel`);
      expect(cr.body.task).toMatchObject({ status: "running", cancel_requested: true });
      expect((await s.post(`${O}/tasks/${r.id}/cancel`)).status).toBe(200); // asking twice is fine
      expect((await s.post(`${W}/heartbeat`, { task_id: r.id, worker_id: w.id, attempt: 1 })).body.cancel_requested).toBe(true);
      const rep = await s.post(`${W}/release`, { task_id: r.id, worker_id: w.id, attempt: 1, status: "cancelled" });
      expect(rep.body.task.status).toBe("cancelled");

      // released without status while a cancel is pending: cancelled, not re-queued
      const q = await createTask(s, { codebase_id: w.codebaseId });
      await claim(s, w, q.id);
      await s.post(`${O}/tasks/${q.id}/cancel`);
      expect((await s.post(`${W}/release`, { task_id: q.id, worker_id: w.id })).body.task.status).toBe("cancelled");
      expect((await s.post(`${O}/tasks/nope/cancel`)).status).toBe(404);
    });

    test("unregister hands the worker's running tasks back at once", async () => {
      const w = await registerWorker(s, "unr");
      const t = await createTask(s, { codebase_id: w.codebaseId });
      await claim(s, w, t.id);
      const r = await s.post(`${O}/workers/${w.id}/unregister`);
      expect(r.body).toEqual({ success: true, released: [t.id] });
      expect(await getTask(s, t.id)).toMatchObject({ status: "pending", worker_id: null, attempt: 1 });
      expect((await s.post(`${W}/heartbeat`, { task_id: t.id, worker_id: w.id, attempt: 1 })).status).toBe(409);
    });

    test("sweeper: expired lease -> pending, old holder fenced off (nothing changes); after max_attempts -> failed", async () => {
      const short = await startTestServer(kind, { leaseSeconds: 0.2, sweepIntervalMs: 3_600_000 });
      try {
        const w = await registerWorker(short, "sw");
        const t = await createTask(short, { codebase_id: w.codebaseId, max_attempts: 2 });
        const c1 = (await claim(short, w, t.id)).body;
        await waitUntil(() => Date.now() > Date.parse(c1.lease_expires_at) + 5, "lease over");
        await short.handle.sweep();
        const after = await getTask(short, t.id);
        expect(after).toMatchObject({ status: "pending", worker_id: null, attempt: 1 });
        for (const [path, body, method] of [
          [`${W}/heartbeat`, { task_id: t.id, attempt: 1 }, "POST"],
          [`${W}/release`, { task_id: t.id, attempt: 1, status: "completed" }, "POST"],
          [`${O}/tasks/${t.id}/status`, { status: "completed", worker_id: w.id }, "PUT"],
          [`${O}/tasks/${t.id}/output`, { worker_id: w.id, attempt: 1, seq: 0, lines: ["late"] }, "POST"],
          [`${O}/tasks/${t.id}/output`, { worker_id: w.id, output: "late" }, "POST"],
        ] as const) {
          const r = await short.call(method, path, body, w.headers);
          expect(r.status).toBe(409);
          expect(r.body.error).toBe("stale_attempt");
        }
        expect(await getTask(short, t.id)).toEqual(after);
        expect((await short.get(`${O}/tasks/${t.id}/output`)).body.total).toBe(0);

        const c2 = (await claim(short, w, t.id)).body;
        expect(c2.attempt).toBe(2);
        await waitUntil(() => Date.now() > Date.parse(c2.lease_expires_at) + 5, "lease over");
        await short.handle.sweep();
        expect(await getTask(short, t.id)).toMatchObject({ status: "failed", attempt: 2, error: expect.stringContaining("lease expired") });
      } finally {
        await short.stop();
      }
    });

    test("the sweeper runs by itself; workers go stale after 3 missed heartbeats", async () => {
      const fast = await startTestServer(kind, { leaseSeconds: 0.3, sweepIntervalMs: 100, heartbeatIntervalSeconds: 0.2 });
      try {
        const w = await registerWorker(fast, "auto");
        const t = await createTask(fast, { codebase_id: w.codebaseId });
        await claim(fast, w, t.id);
        await waitUntil(async () => (await getTask(fast, t.id)).status === "pending", "task re-queued by the sweeper", 15_000);
        const stale = await waitUntil(
          async () => (await fast.get("/v1/monitor/workers")).body.workers.find((x: any) => x.status === "stale"),
          "worker stale",
          15_000,
        );
        expect(stale.id).toBe(w.id);
        expect((await fast.post(`${O}/workers/${w.id}/heartbeat`)).status).toBe(200);
        const mon = (await fast.get("/v1/monitor/workers")).body.workers[0];
        expect(mon.last_heartbeat > stale.last_heartbeat).toBe(true);
      } finally {
        await fast.stop();
      }
    });

    test("registration by path with no live worker -> 400 No workers available (nothing written)", async () => {
      const empty = await startTestServer(kind);
      try {
        const r = await empty.post(`${O}/codebases`, { name: "x", path: "/srv/x" });
        expect(r.status).toBe(400);
        expect(r.body.message).toBe("No workers available");
        expect((await empty.get(`${O}/tasks`)).body).toEqual([]);
      } finally {
        await empty.stop();
      }
    });
  });
}
