// Retry: the route on both stores (same fields, retry_of, only finished tasks) and
// `codetether task retry` as people use it: by id, and every failed task of a period once.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { startServerProc, type ServerProc } from "../helpers/cluster.ts";
import { killAll, runCli, tempDir } from "../helpers/proc.ts";
import { createApi, registerWorker, startTestServer, STORE_KINDS, storeSkip, type Api, type TestServer, type TestWorker } from "../helpers/server.ts";
import { describeUnless } from "../helpers/skip.ts";

const O = "/v1/opencode";
const W = "/v1/worker/tasks";

/** A task taken by `w` and ended with `status` over the worker protocol. */
async function finished(api: Api, w: TestWorker, status: "failed" | "completed" | "cancelled", body: Record<string, unknown> = {}) {
  const t = (await api.post(`${O}/tasks`, { codebase_id: w.codebaseId, prompt: `p-${status}`, ...body })).body;
  const c = await api.post(`${W}/claim`, { task_id: t.id }, w.headers);
  expect(c.status).toBe(200);
  const r = await api.post(
    `${W}/release`,
    { task_id: t.id, worker_id: w.id, attempt: c.body.attempt, status, error: status === "failed" ? "boom" : null },
    w.headers,
  );
  expect(r.status).toBe(200);
  return t;
}

for (const kind of STORE_KINDS) {
  describeUnless(storeSkip(kind), `task retry route [${kind}]`, () => {
    let s: TestServer;
    beforeAll(async () => {
      s = await startTestServer(kind, { leaseSeconds: 60, sweepIntervalMs: 3_600_000 });
    });
    afterAll(() => s?.stop());

    test("a failed task becomes a new pending task with the same fields and retry_of; the original is unchanged", async () => {
      const w = await registerWorker(s, "rt");
      const orig = await finished(s, w, "failed", {
        title: "nightly",
        agent_type: "echo",
        model: "openai/gpt-x",
        priority: 7,
        timeout_s: 90,
        max_attempts: 2,
        target_worker_id: w.id,
        metadata: { ticket: "OPS-1" },
      });
      const r = await s.post(`${O}/tasks/${orig.id}/retry`, {});
      expect(r.status).toBe(201);
      expect(r.body.id).not.toBe(orig.id);
      expect(r.body).toMatchObject({
        status: "pending",
        attempt: 0,
        codebase_id: w.codebaseId,
        title: "nightly",
        prompt: "p-failed",
        agent_type: "echo",
        model: "openai/gpt-x",
        priority: 7,
        timeout_s: 90,
        max_attempts: 2,
        target_worker_id: w.id,
        metadata: { ticket: "OPS-1", retry_of: orig.id },
      });
      expect((await s.get(`${O}/tasks/${orig.id}`)).body).toMatchObject({ status: "failed", error: "boom" });
      // the /v1/agent alias serves it too
      expect((await s.post(`/v1/agent/tasks/${orig.id}/retry`, {})).status).toBe(201);
    });

    test("only finished tasks: pending and running are 409 task_not_final; unknown 404; nothing created", async () => {
      const w = await registerWorker(s, "rt");
      const pending = (await s.post(`${O}/tasks`, { codebase_id: w.codebaseId, prompt: "waiting" })).body;
      const before = (await s.get(`${O}/tasks?codebase_id=${w.codebaseId}&limit=100`)).body.length;
      const p = await s.post(`${O}/tasks/${pending.id}/retry`, {});
      expect(p.status).toBe(409);
      expect(p.body.error).toBe("task_not_final");
      await s.post(`${W}/claim`, { task_id: pending.id }, w.headers);
      expect((await s.post(`${O}/tasks/${pending.id}/retry`, {})).body.error).toBe("task_not_final");
      expect((await s.post(`${O}/tasks/no-such-task/retry`, {})).status).toBe(404);
      expect((await s.get(`${O}/tasks?codebase_id=${w.codebaseId}&limit=100`)).body.length).toBe(before);
    });
  });
}

describeUnless(undefined, "codetether task retry", () => {
  const tmp = tempDir("ct-retry-");
  let server: ServerProc;
  let api: Api;
  let w: TestWorker;
  const env = () => ({ A2A_CONFIG: undefined, A2A_SERVER_URL: server.url, NODE_ENV: undefined });
  beforeAll(async () => {
    server = await startServerProc(join(tmp.path, "server"));
    api = createApi(server.url);
    w = await registerWorker(api, "cli");
  });
  afterAll(async () => {
    await killAll();
    tmp.cleanup();
  });

  test("by id (a short id works): prints the new task's id; --json lists what was made", async () => {
    const orig = await finished(api, w, "cancelled");
    const r = await runCli(["task", "retry", orig.id.slice(-8)], { env: env() });
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    const [newId, , short] = r.stdout.trim().split(/\s+/);
    expect(short).toBe(orig.id.slice(-8));
    expect((await api.get(`${O}/tasks/${newId}`)).body.metadata.retry_of).toBe(orig.id);

    const j = await runCli(["task", "retry", orig.id, "--json"], { env: env() });
    expect(j.code).toBe(0);
    expect(JSON.parse(j.stdout)).toEqual([{ retry_of: orig.id, id: expect.any(String), status: "pending", error: null }]);
  });

  test("--failed retries each failed task once: a second run finds nothing; completed ones are left alone", async () => {
    const mine = await registerWorker(api, "fl");
    const f1 = await finished(api, mine, "failed");
    const f2 = await finished(api, mine, "failed");
    await finished(api, mine, "completed");
    const first = await runCli(["task", "retry", "--failed", "--since", "1h", "--codebase", mine.codebaseId, "--json"], { env: env() });
    expect({ code: first.code, stderr: first.stderr }).toEqual({ code: 0, stderr: "" });
    const made = JSON.parse(first.stdout);
    expect(made.map((m: any) => m.retry_of)).toEqual([f1.id, f2.id]); // oldest first
    const second = await runCli(["task", "retry", "--failed", "--since", "1h", "--codebase", mine.codebaseId], { env: env() });
    expect(second.code).toBe(0);
    expect(second.stdout).toBe("");
    expect(second.stderr).toContain("no failed tasks to retry since");
  });

  test("a task still running is refused by name (exit 1) while the others are retried; usage errors exit 2", async () => {
    const done = await finished(api, w, "failed");
    const running = (await api.post(`${O}/tasks`, { codebase_id: w.codebaseId, prompt: "busy" })).body;
    await api.post(`${W}/claim`, { task_id: running.id }, w.headers);
    const r = await runCli(["task", "retry", running.id, done.id], { env: env() });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`task ${running.id.slice(-8)}: `);
    expect(r.stderr).toContain("only a finished task can be retried");
    expect(r.stdout).toContain(`retries ${done.id.slice(-8)}`);

    for (const [args, text] of [
      [["task", "retry"], "missing task ids"],
      [["task", "retry", done.id, "--failed"], "not both"],
      [["task", "retry", done.id, "--since", "1h"], "go with --failed"],
      [["task", "retry", "--failed", "--since", "soon"], "--since: expected a duration"],
    ] as const) {
      const u = await runCli([...args], { env: env() });
      expect({ args, code: u.code }).toEqual({ args, code: 2 });
      expect(u.stderr).toContain(text);
    }
  });
});
