// The isolation additions of the server contract (issue 15), on both stores: a codebase's
// isolation and a task's override, claims that skip a worker's busy codebases, and a
// worktree run's report (branch, commit, diff totals, the capped diff).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { DIFF_CAP_BYTES } from "../../src/protocol/index.ts";
import { registerWorker, startTestServer, STORE_KINDS, storeSkip, type Api, type TestServer, type TestWorker } from "../helpers/server.ts";
import { describeUnless } from "../helpers/skip.ts";

const O = "/v1/opencode";
const W = "/v1/worker/tasks";

async function createTask(api: Api, body: Record<string, unknown>) {
  const r = await api.post(`${O}/tasks`, { prompt: "do it", ...body });
  expect(r.status).toBe(201);
  return r.body;
}
const claim = (api: Api, w: TestWorker, body: Record<string, unknown> = {}) => api.post(`${W}/claim`, body, w.headers);

for (const kind of STORE_KINDS) {
  describeUnless(storeSkip(kind), `server contract: isolation [${kind}]`, () => {
    let s: TestServer;
    beforeAll(async () => {
      s = await startTestServer(kind, { leaseSeconds: 60, sweepIntervalMs: 3_600_000 });
    });
    afterAll(() => s?.stop());

    test("codebase isolation: stored, kept when a registration omits it, inherited by new tasks, overridden per task", async () => {
      const w = await registerWorker(s, "iso", { global: false });
      expect((await s.get(`${O}/codebases/${w.codebaseId}`)).body.isolation).toBeNull();
      const set = await s.post(`${O}/codebases`, { name: "app", path: w.path, worker_id: w.id, isolation: "worktree" });
      expect(set.body.codebase).toMatchObject({ id: w.codebaseId, isolation: "worktree" });
      const again = await s.post(`${O}/codebases`, { name: "app", path: w.path, worker_id: w.id });
      expect(again.body.codebase.isolation).toBe("worktree");
      expect((await s.post(`${O}/codebases`, { name: "app", path: w.path, worker_id: w.id, isolation: "sideways" })).status).toBe(400);

      const inherited = await createTask(s, { codebase_id: w.codebaseId });
      expect(inherited).toMatchObject({ isolation: "worktree", branch: null, commit: null, diff_stat: null, diff_truncated: null });
      expect((await createTask(s, { codebase_id: w.codebaseId, isolation: "shared" })).isolation).toBe("shared");
      expect((await createTask(s, { codebase_id: null })).isolation).toBeNull();
      const bad = await s.post(`${O}/tasks`, { prompt: "x", isolation: "copy" });
      expect(bad.status).toBe(400);
      expect(bad.body.details[0].field).toBe("isolation");
      for (const t of (await s.get(`${O}/tasks?codebase_id=${w.codebaseId}&status=pending`)).body) await s.post(`${O}/tasks/${t.id}/cancel`);
    });

    test("busy_codebases: neither a {}-claim nor a claim by id takes a shared task of a busy codebase; a worktree task it does", async () => {
      const w = await registerWorker(s, "busy", { global: false });
      const first = await createTask(s, { codebase_id: w.codebaseId, priority: 5 });
      const second = await createTask(s, { codebase_id: w.codebaseId, priority: 4 });
      const busy = { busy_codebases: [w.codebaseId] };
      expect((await claim(s, w, busy)).status).toBe(204);
      expect((await claim(s, w, { ...busy, task_id: first.id })).status).toBe(409);
      const wt = await createTask(s, { codebase_id: w.codebaseId, isolation: "worktree", priority: 1 });
      const c = await claim(s, w, busy);
      expect(c.status).toBe(200);
      expect(c.body.task_id).toBe(wt.id);
      // other codebases are not affected, and a worker that names nothing claims as before
      expect((await claim(s, w, { busy_codebases: ["some-other-codebase"] })).body.task_id).toBe(first.id);
      expect((await claim(s, w)).body.task_id).toBe(second.id);
    });

    test("a worktree run's report: branch, commit, diff totals on the task; its diff (capped) at .../diff; a stale run stores nothing", async () => {
      const w = await registerWorker(s, "rep", { global: false });
      const t = await createTask(s, { codebase_id: w.codebaseId, isolation: "worktree" });
      expect((await s.get(`${O}/tasks/${t.id}/diff`)).body).toEqual({ task_id: t.id, diff: null, truncated: false });
      const c = await claim(s, w, { task_id: t.id });
      const stale = await s.post(`${W}/release`, { task_id: t.id, attempt: 7, status: "completed", branch: "x", diff: "nope" }, w.headers);
      expect(stale.status).toBe(409);
      expect((await s.get(`${O}/tasks/${t.id}/diff`)).body.diff).toBeNull();

      const diff = "diff --git a/f b/f\n+one\n";
      const report = {
        branch: `codetether/${t.id}`,
        commit: "0123456789abcdef0123456789abcdef01234567",
        diff_stat: { files: 1, insertions: 1, deletions: 0 },
        diff_truncated: false,
        diff,
      };
      const rel = await s.post(`${W}/release`, { task_id: t.id, attempt: c.body.attempt, status: "completed", result: "ok", ...report }, w.headers);
      expect(rel.status).toBe(200);
      const done = (await s.get(`${O}/tasks/${t.id}`)).body;
      expect(done).toMatchObject({
        status: "completed",
        isolation: "worktree",
        branch: report.branch,
        commit: report.commit,
        diff_stat: report.diff_stat,
        diff_truncated: false,
      });
      expect((await s.get(`/v1/agent/tasks/${t.id}/diff`)).body).toEqual({ task_id: t.id, diff, truncated: false });
      expect((await s.get(`${O}/tasks/nope/diff`)).status).toBe(404);
      // a retry runs the same way, and starts with no outcome of its own
      const again = await s.post(`${O}/tasks/${t.id}/retry`);
      expect(again.status).toBe(201);
      expect(again.body).toMatchObject({ isolation: "worktree", branch: null, commit: null, diff_stat: null });
      await s.post(`${O}/tasks/${again.body.id}/cancel`);

      // a diff over the cap (a worker that did not cut it) is cut by the server and marked
      const big = await createTask(s, { codebase_id: w.codebaseId, isolation: "worktree" });
      const cb = await claim(s, w, { task_id: big.id });
      const line = `+${"x".repeat(99)}\n`;
      const huge = line.repeat(Math.ceil((DIFF_CAP_BYTES * 1.5) / line.length));
      const relBig = await s.post(`${W}/release`, { task_id: big.id, attempt: cb.body.attempt, status: "completed", ...report, diff: huge }, w.headers);
      expect(relBig.status).toBe(200);
      const stored = (await s.get(`${O}/tasks/${big.id}/diff`)).body;
      expect(stored.truncated).toBe(true);
      expect(Buffer.byteLength(stored.diff)).toBeLessThanOrEqual(DIFF_CAP_BYTES);
      expect(stored.diff.endsWith("\n")).toBe(true);
      expect((await s.get(`${O}/tasks/${big.id}`)).body.diff_truncated).toBe(true);
    });
  });
}
