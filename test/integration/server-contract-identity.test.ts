// The server contract of worker identity (issue 19: one worker id, one process) over HTTP, on
// SQLite and PostgreSQL: registration refuses a second live instance, a restart naming the
// instance it replaces or a takeover of a silent one is accepted, and a replaced instance can
// no longer heartbeat, claim, stream, release or unregister. Workers that send no instance id
// are served as before.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { TEST_DATABASE_URL } from "../helpers/pg.ts";
import { waitUntil } from "../helpers/proc.ts";
import { openSse, startTestServer, uid, type Api, type TestServer } from "../helpers/server.ts";

const O = "/v1/opencode";
const W = "/v1/worker/tasks";

interface Proc {
  instance: string;
  host: string;
  pid: number;
  started_at: string;
}
const proc = (host: string, pid: number): Proc => ({ instance: crypto.randomUUID(), host, pid, started_at: new Date().toISOString() });

/** Registers `id` like our worker does: global codebase, then the worker with its instance. */
async function register(api: Api, id: string, p: Proc | null, extra: Record<string, unknown> = {}) {
  const inst = p ? { instance_id: p.instance, pid: p.pid, started_at: p.started_at } : {};
  return api.post(`${O}/workers/register`, { worker_id: id, name: id, hostname: p?.host ?? "legacy-host", codebases: ["global"], ...inst, ...extra });
}
const hdr = (id: string, p: Proc | null): Record<string, string> => ({ "x-worker-id": id, ...(p ? { "x-worker-instance": p.instance } : {}) });

async function workerWithGlobal(api: Api, prefix: string) {
  const id = uid(prefix);
  const g = await api.post(`${O}/codebases`, { name: "global", path: `/home/${id}`, worker_id: id });
  expect(g.status).toBe(200);
  return id;
}
const createGlobalTask = async (api: Api, target: string) =>
  (await api.post(`${O}/tasks`, { prompt: "p", codebase_id: "global", target_worker_id: target })).body;

for (const kind of ["sqlite", "postgres"] as const) {
  describe.skipIf(kind === "postgres" && !TEST_DATABASE_URL)(`worker identity contract [${kind}]`, () => {
    let s: TestServer;
    beforeAll(async () => {
      s = await startTestServer(kind, { leaseSeconds: 60, sweepIntervalMs: 3_600_000 });
    });
    afterAll(() => s?.stop());

    test("a second live instance is refused (409 worker_id_in_use naming host and pid); nothing changes", async () => {
      const id = uid("dup");
      const a = proc("host-a", 1111);
      const b = proc("host-b", 2222);
      const first = await register(s, id, a);
      expect(first.status).toBe(200);
      expect(first.body.worker.instance).toEqual({ instance_id: a.instance, hostname: "host-a", pid: 1111, started_at: a.started_at });
      expect((await register(s, id, a, { name: "renamed" })).status).toBe(200); // the same process registers again

      const second = await register(s, id, b, { name: "intruder" });
      expect(second.status).toBe(409);
      expect(second.body.error).toBe("worker_id_in_use");
      expect(second.body.message).toContain("host host-a (pid 1111");
      expect(second.body.message).toContain("A2A_WORKER_NAME");
      const rec = (await s.get(`${O}/workers/${id}`)).body;
      expect(rec).toMatchObject({ name: "renamed", hostname: "host-a", status: "active" });
      expect(rec.instance.instance_id).toBe(a.instance);
      const mon = (await s.get("/v1/monitor/workers")).body.workers.find((w: any) => w.id === id);
      expect(mon.instance).toEqual(rec.instance);

      // A refused process that stops must not unregister (and so release) what the holder runs.
      const un = await s.post(`${O}/workers/${id}/unregister`, {}, hdr(id, b));
      expect(un.status).toBe(409);
      expect(un.body.error).toBe("worker_replaced");
      expect((await s.get(`${O}/workers/${id}`)).body.status).toBe("active");
    });

    test("a restart naming the instance it replaces takes over at once, on the same host only", async () => {
      const id = uid("restart");
      const a = proc("host-a", 1111);
      expect((await register(s, id, a)).status).toBe(200);
      const clone = proc("host-b", 1111);
      const wrongHost = await register(s, id, clone, { replaces: a.instance });
      expect(wrongHost.status).toBe(409);
      expect(wrongHost.body.error).toBe("worker_id_in_use");
      const wrongId = await register(s, id, proc("host-a", 3333), { replaces: crypto.randomUUID() });
      expect(wrongId.status).toBe(409);

      const a2 = proc("host-a", 4444);
      const r = await register(s, id, a2, { replaces: a.instance });
      expect(r.status).toBe(200);
      expect(r.body.worker.instance).toMatchObject({ instance_id: a2.instance, pid: 4444 });
      const hb = await s.post(`${O}/workers/${id}/heartbeat`, {}, hdr(id, a));
      expect(hb.status).toBe(409);
      expect(hb.body.error).toBe("worker_replaced");
      expect(hb.body.message).toContain("pid 4444");
      expect((await s.post(`${O}/workers/${id}/heartbeat`, {}, hdr(id, a2))).status).toBe(200);
    });

    test("after unregister any instance may register at once", async () => {
      const id = uid("unreg");
      const a = proc("host-a", 1);
      expect((await register(s, id, a)).status).toBe(200);
      expect((await s.post(`${O}/workers/${id}/unregister`, {}, hdr(id, a))).status).toBe(200);
      expect((await register(s, id, proc("host-b", 2))).status).toBe(200);
    });

    test("legacy workers (no instance id) are served as before, beside instance-aware ones", async () => {
      const id = await workerWithGlobal(s, "legacy");
      expect((await register(s, id, null)).status).toBe(200);
      expect((await register(s, id, null)).status).toBe(200); // two legacy processes: accepted, as before
      const a = proc("host-a", 7);
      expect((await register(s, id, a)).status).toBe(200); // a record without instance accepts one
      expect((await register(s, id, null)).status).toBe(200); // and a legacy register keeps it
      expect((await s.get(`${O}/workers/${id}`)).body.instance.instance_id).toBe(a.instance);
      // Legacy calls carry no instance: heartbeat, claim, release, unregister work as before.
      expect((await s.post(`${O}/workers/${id}/heartbeat`)).status).toBe(200);
      const t = await createGlobalTask(s, id);
      const c = await s.post(`${W}/claim`, { task_id: t.id }, { "x-worker-id": id });
      expect(c.status).toBe(200);
      const un = await s.post(`${O}/workers/${id}/unregister`);
      expect(un.body.released).toEqual([t.id]);
      expect((await s.get(`${O}/tasks/${t.id}`)).body.status).toBe("pending");
    });

    test("bad X-Worker-Instance -> 400 naming it", async () => {
      const id = uid("bad");
      expect((await register(s, id, proc("h", 1))).status).toBe(200);
      const r = await s.post(`${O}/workers/${id}/heartbeat`, {}, { "x-worker-instance": "no spaces allowed" });
      expect(r.status).toBe(400);
      expect(r.body.details[0].field).toBe("X-Worker-Instance");
      const bad = await register(s, uid("bad"), null, { instance_id: "x y" });
      expect(bad.status).toBe(400);
      expect(bad.body.details[0].field).toBe("instance_id");
    });
  });

  describe.skipIf(kind === "postgres" && !TEST_DATABASE_URL)(`worker identity: takeover of a silent instance [${kind}]`, () => {
    let fast: TestServer;
    beforeAll(async () => {
      // Stale after 3 x 0.2 s without heartbeat; the sweeper is off so leases stay as they are.
      fast = await startTestServer(kind, { leaseSeconds: 600, sweepIntervalMs: 3_600_000, heartbeatIntervalSeconds: 0.2 });
    });
    afterAll(() => fast?.stop());

    test("a new instance takes over a stale one; the old one cannot heartbeat, claim, stream, release or unregister", async () => {
      const id = await workerWithGlobal(fast, "takeover");
      const a = proc("host-a", 100);
      const b = proc("host-b", 200);
      expect((await register(fast, id, a)).status).toBe(200);
      const held = await createGlobalTask(fast, id);
      const ca = await fast.post(`${W}/claim`, { task_id: held.id }, hdr(id, a));
      expect(ca.status).toBe(200);
      expect((await register(fast, id, b)).status).toBe(409); // A is live

      await waitUntil(async () => (await fast.get(`${O}/workers/${id}`)).body.status === "stale", "worker A stale", 15_000);
      const took = await register(fast, id, b);
      expect(took.status).toBe(200);
      expect(took.body.worker.instance.instance_id).toBe(b.instance);

      // B runs a task of its own.
      const mine = await createGlobalTask(fast, id);
      const cb = await fast.post(`${W}/claim`, { task_id: mine.id }, hdr(id, b));
      expect(cb.status).toBe(200);
      const before = (await fast.get(`${O}/tasks/${mine.id}`)).body;

      const replaced = (r: { status: number; body: any }) => {
        expect(r.status).toBe(409);
        expect(r.body.error).toBe("worker_replaced");
        expect(r.body.message).toContain("host host-b (pid 200");
      };
      const other = await createGlobalTask(fast, id);
      replaced(await fast.post(`${O}/workers/${id}/heartbeat`, {}, hdr(id, a)));
      replaced(await fast.post(`${W}/claim`, { task_id: other.id }, hdr(id, a)));
      replaced(await fast.post(`${W}/claim`, {}, hdr(id, a)));
      replaced(await fast.post(`${W}/heartbeat`, { task_id: held.id, worker_id: id, attempt: 1 }, hdr(id, a)));
      replaced(await fast.post(`${W}/release`, { task_id: held.id, worker_id: id, attempt: 1, status: "completed", result: "late" }, hdr(id, a)));
      replaced(await fast.post(`${W}/release`, { task_id: mine.id, worker_id: id }, hdr(id, a)));
      replaced(await fast.call("PUT", `/v1/worker/codebases?worker_id=${id}`, { codebases: [] }, hdr(id, a)));
      replaced(await fast.post(`${O}/tasks/${held.id}/output`, { worker_id: id, attempt: 1, seq: 0, lines: ["late"] }, hdr(id, a)));
      replaced(await fast.put(`${O}/tasks/${held.id}/status`, { status: "completed", worker_id: id, attempt: 1, result: "late" }, hdr(id, a)));
      const stream = openSse(`${fast.url}/v1/worker/tasks/stream?worker_id=${id}`, { "x-worker-instance": a.instance });
      await stream.ended;
      expect(String((stream.error() as Error)?.message)).toContain("409");
      replaced(await fast.post(`${O}/workers/${id}/unregister`, {}, hdr(id, a)));

      // Nothing the old instance sent changed anything.
      expect((await fast.get(`${O}/tasks/${other.id}`)).body.status).toBe("pending");
      expect((await fast.get(`${O}/tasks/${held.id}`)).body).toMatchObject({ status: "running", attempt: 1, result: null });
      expect((await fast.get(`${O}/tasks/${held.id}/output`)).body.outputs).toEqual([]);
      expect((await fast.get(`${O}/tasks/${mine.id}`)).body).toMatchObject({
        status: "running",
        attempt: before.attempt,
        lease_expires_at: before.lease_expires_at,
      });
      expect((await fast.get(`${O}/workers/${id}`)).body.status).not.toBe("offline");

      // The holder still acts normally; its unregister hands back the running tasks of the worker id.
      expect((await fast.post(`${W}/heartbeat`, { task_id: mine.id, worker_id: id, attempt: mine.attempt + 1 }, hdr(id, b))).status).toBe(200);
      const un = await fast.post(`${O}/workers/${id}/unregister`, {}, hdr(id, b));
      expect(un.status).toBe(200);
      expect(un.body.released.sort()).toEqual([held.id, mine.id].sort());
    });
  });
}
