// The server contract of capability and model routing (issue 15) on SQLite and PostgreSQL:
// a task's required_capabilities, model and target_agent_name decide which worker may claim
// it (by id and by {}-claim), which streams are woken, and why a pending task waits.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { describeUnless } from "../helpers/skip.ts";
import { openSse, STORE_KINDS, startTestServer, storeSkip, taskEvents, uid, type TestServer } from "../helpers/server.ts";

const O = "/v1/opencode";
const W = "/v1/worker/tasks";

for (const kind of STORE_KINDS) {
  describeUnless(storeSkip(kind), `routing contract [${kind}]`, () => {
    let s: TestServer;
    beforeAll(async () => {
      s = await startTestServer(kind, { leaseSeconds: 60, sweepIntervalMs: 3_600_000 });
    });
    afterAll(() => s?.stop());

    /** A worker with its own codebase `app` at a path shared by the test (so both workers own one). */
    async function worker(prefix: string, reg: Record<string, unknown>) {
      const id = uid(prefix);
      const cb = await s.post(`${O}/codebases`, { name: "app", path: `/srv/${id}`, worker_id: id });
      const g = await s.post(`${O}/codebases`, { name: "global", path: `/home/${id}`, worker_id: id });
      expect(cb.status).toBe(200);
      expect(g.status).toBe(200);
      const r = await s.post(`${O}/workers/register`, { worker_id: id, name: id, codebases: [cb.body.codebase.id, "global"], ...reg });
      expect(r.status).toBe(200);
      return { id, headers: { "x-worker-id": id } };
    }
    const create = async (body: Record<string, unknown>) => {
      const r = await s.post(`${O}/tasks`, { prompt: "p", codebase_id: "global", ...body });
      expect(r.status).toBe(201);
      return r.body;
    };

    test("required_capabilities: only a worker advertising all of them claims; others get 409 naming what is missing", async () => {
      const plain = await worker("plain", { capabilities: ["build"] });
      const gpu = await worker("gpu", { capabilities: ["build", "gpu"] });
      const t = await create({ required_capabilities: ["gpu", "build"], target_worker_id: null });
      expect(t.required_capabilities).toEqual(["gpu", "build"]);
      const no = await s.post(`${W}/claim`, { task_id: t.id }, plain.headers);
      expect(no.status).toBe(409);
      expect(no.body.message).toContain("capabilities gpu, build");
      expect((await s.post(`${W}/claim`, {}, plain.headers)).status).toBe(204);
      const yes = await s.post(`${W}/claim`, {}, gpu.headers);
      expect(yes.status).toBe(200);
      expect(yes.body.task_id).toBe(t.id);
      const done = await s.post(`${W}/release`, { task_id: t.id, status: "completed", result: "ok", attempt: yes.body.attempt }, gpu.headers);
      expect(done.status).toBe(200);
      // A retry asks the same of its worker.
      const again = await s.post(`${O}/tasks/${t.id}/retry`, {});
      expect(again.body.required_capabilities).toEqual(["gpu", "build"]);
      expect((await s.post(`${W}/claim`, { task_id: again.body.id }, plain.headers)).status).toBe(409);
      // A task without requirements is still claimable by anyone.
      const any = await create({});
      expect((await s.post(`${W}/claim`, { task_id: any.id }, plain.headers)).status).toBe(200);
    });

    test("model: goes to a worker that advertises it, or one that advertises no models (unknown)", async () => {
      const a = await worker("ma", { models: ["prov/alpha", "prov/beta"] });
      const b = await worker("mb", { models: [{ provider: "prov", id: "gamma" }] });
      expect((await s.get(`${O}/workers/${b.id}`)).body.models).toEqual(["prov/gamma"]);
      const t = await create({ model: "prov:gamma", target_worker_id: null });
      expect(t.model).toBe("prov/gamma");
      expect((await s.post(`${W}/claim`, { task_id: t.id }, a.headers)).status).toBe(409);
      expect((await s.post(`${W}/claim`, { task_id: t.id }, b.headers)).status).toBe(200);
      const alpha = await create({ model: "prov/alpha" });
      expect((await s.post(`${W}/claim`, { task_id: alpha.id }, b.headers)).body.message).toContain("model prov/alpha");
      const legacy = await worker("legacy", {});
      const delta = await create({ model: "prov/delta" });
      expect((await s.post(`${W}/claim`, { task_id: delta.id }, a.headers)).status).toBe(409);
      expect((await s.post(`${W}/claim`, { task_id: delta.id }, legacy.headers)).status).toBe(200);
    });

    test("target_agent_name restricts claims to the worker of that name", async () => {
      const a = await worker("na", {});
      const b = await worker("nb", {});
      const t = await create({ target_agent_name: b.id });
      expect((await s.post(`${W}/claim`, { task_id: t.id }, a.headers)).status).toBe(409);
      const got = await s.post(`${W}/claim`, { task_id: t.id }, b.headers);
      expect(got.status).toBe(200);
    });

    test("{}-claim skips a head task the worker does not fit and takes the next one", async () => {
      const w = await worker("skip", { capabilities: ["build"] });
      const cb = (await s.get(`${O}/codebases`)).body.find((c: any) => c.worker_id === w.id && c.name === "app");
      const big = await create({ codebase_id: cb.id, priority: 10, required_capabilities: ["gpu"] });
      const small = await create({ codebase_id: cb.id, priority: 1 });
      const got = await s.post(`${W}/claim`, {}, w.headers);
      expect(got.status).toBe(200);
      expect(got.body.task_id).toBe(small.id);
      expect((await s.get(`${O}/tasks/${big.id}`)).body.status).toBe("pending");
    });

    test("only fitting workers are woken; a pending task nobody can take says why", async () => {
      const plain = await worker("wplain", { capabilities: [] });
      const gpu = await worker("wgpu", { capabilities: ["gpu"] });
      const sp = openSse(`${s.url}${W}/stream?worker_id=${plain.id}`);
      const sg = openSse(`${s.url}${W}/stream?worker_id=${gpu.id}`);
      try {
        await sp.waitFor((f) => f.event === "connected", "plain connected");
        await sg.waitFor((f) => f.event === "connected", "gpu connected");
        const cap = uid("cap");
        const t = await create({ required_capabilities: [cap], target_worker_id: null });
        expect(t.waiting_reason).toBe(`no active worker has capability ${cap}`);
        expect((await s.get(`${O}/tasks/${t.id}`)).body.waiting_reason).toBe(`no active worker has capability ${cap}`);
        const g = await create({ required_capabilities: ["gpu"], target_worker_id: gpu.id });
        expect(g.waiting_reason).toBeUndefined();
        await sg.waitFor((f) => f.event === "task_available" && JSON.parse(f.data).id === g.id, "gpu woken");
        const m = await create({ model: `prov/${uid("none")}`, target_worker_id: plain.id });
        // plain advertises no models: it may take any model, so nothing to wait for
        expect(m.waiting_reason).toBeUndefined();
        await sp.waitFor((f) => f.event === "task_available" && JSON.parse(f.data).id === m.id, "plain woken");
        const ids = taskEvents(sp).map((x) => x.id);
        expect(ids).not.toContain(g.id);
        expect(ids).not.toContain(t.id);
        expect(taskEvents(sg).map((x) => x.id)).not.toContain(t.id);
        const named = await create({ target_agent_name: uid("nobody") });
        expect(named.waiting_reason).toContain("no active worker named");
      } finally {
        sp.close();
        sg.close();
      }
    });

    test("a worker that registers again with a new capability is woken for it on its open stream", async () => {
      const w = await worker("grow", { capabilities: [] });
      const st = openSse(`${s.url}${W}/stream?worker_id=${w.id}`);
      try {
        await st.waitFor((f) => f.event === "connected", "connected");
        const cap = uid("cap");
        const before = await create({ required_capabilities: [cap], target_worker_id: w.id });
        const again = await s.post(`${O}/workers/register`, { worker_id: w.id, name: w.id, capabilities: [cap] });
        expect(again.status).toBe(200);
        const after = await create({ required_capabilities: [cap], target_worker_id: w.id });
        expect(after.waiting_reason).toBeUndefined();
        await st.waitFor((f) => f.event === "task_available" && JSON.parse(f.data).id === after.id, "woken after re-register");
        expect(taskEvents(st).map((x) => x.id)).not.toContain(before.id);
        expect((await s.post(`${W}/claim`, { task_id: before.id }, w.headers)).status).toBe(200);
      } finally {
        st.close();
      }
    });
  });
}
