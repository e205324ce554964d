// The deployed Python agent worker, request for request (PROTOCOL.md appendix): no attempt,
// one output line per request, PUT status with the final state, then release {task_id}
// only. It must complete tasks on our server unchanged, auth off.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { homedir } from "node:os";
import { openSse, startTestServer, STORE_KINDS, storeSkip, uid, type TestServer } from "../helpers/server.ts";
import { describeUnless } from "../helpers/skip.ts";

const O = "/v1/opencode";

for (const kind of STORE_KINDS) {
  describeUnless(storeSkip(kind), `Python worker flow [${kind}]`, () => {
    let s: TestServer;
    beforeAll(async () => {
      s = await startTestServer(kind);
    });
    afterAll(() => s?.stop());

    test("register, stream, claim, status running, line-by-line output, status completed, bare release", async () => {
      const workerId = uid("py");
      // start-up: global codebase first (id read from codebase.id), then the worker with codebases ending in "global"
      const g = await s.post(`${O}/codebases`, { name: "global", path: homedir(), description: "Global", worker_id: workerId });
      const globalId = g.body.codebase.id;
      expect(globalId).toEqual(expect.any(String));
      const reg = await s.post(`${O}/workers/register`, {
        worker_id: workerId,
        name: "py-host",
        capabilities: ["opencode", "build"],
        hostname: "py-host",
        models: [],
        codebases: [globalId, "global"],
      });
      expect(reg.status).toBe(200);
      const proj = (await s.post(`${O}/codebases`, { name: "proj", path: "/srv/proj", description: "", worker_id: workerId })).body.codebase;

      const stream = openSse(`${s.url}/v1/worker/tasks/stream?worker_id=${workerId}&agent_name=py-host`, {
        "x-codebases": `${globalId},${proj.id},global`,
        "x-capabilities": "opencode,build",
      });
      await stream.waitFor((f) => f.event === "connected", "connected");

      const task = (await s.post(`${O}/tasks`, { codebase_id: "global", prompt: "say hi", agent_type: "build", title: "hi" })).body;
      const ev = await stream.waitFor((f) => f.event === "task_available" && JSON.parse(f.data).id === task.id, "task event");
      expect(JSON.parse(ev.data).codebase_id).toBe("global");

      // fallback poll: a bare array of pending tasks
      const pending = (await s.get(`${O}/tasks?status=pending`)).body;
      expect(Array.isArray(pending)).toBe(true);
      expect(pending.some((t: any) => t.id === task.id)).toBe(true);

      const claim = await s.post("/v1/worker/tasks/claim", { task_id: task.id }, { "X-Worker-ID": workerId });
      expect(claim.status).toBe(200);
      expect((await s.put(`${O}/tasks/${task.id}/status`, { status: "running", worker_id: workerId })).status).toBe(200);
      expect((await s.put(`${O}/tasks/${task.id}/status`, { status: "running", worker_id: workerId, session_id: "ses_py1" })).status).toBe(200);
      for (const line of ['{"type":"text","text":"hi"}', "second line", "third"]) {
        const r = await s.post(`${O}/tasks/${task.id}/output`, { worker_id: workerId, output: line, timestamp: new Date().toISOString().replace("Z", "") });
        expect(r.status).toBe(200);
      }
      expect((await s.put(`${O}/tasks/${task.id}/status`, { status: "completed", worker_id: workerId, result: "hi" })).status).toBe(200);
      const rel = await s.post("/v1/worker/tasks/release", { task_id: task.id }, { "X-Worker-ID": workerId });
      expect(rel.status).toBe(200);

      const done = (await s.get(`${O}/tasks/${task.id}`)).body;
      expect(done).toMatchObject({ status: "completed", result: "hi", session_id: "ses_py1", worker_id: workerId, attempt: 1 });
      const out = (await s.get(`${O}/tasks/${task.id}/output`)).body;
      expect(out.outputs.map((o: any) => o.line)).toEqual(['{"type":"text","text":"hi"}', "second line", "third"]);
      expect(out.outputs.map((o: any) => o.seq)).toEqual([0, 1, 2]);

      // sessions, naive local timestamps
      const sync = await s.post(`${O}/codebases/${globalId}/sessions/sync`, {
        worker_id: workerId,
        sessions: [
          {
            id: "ses_py1",
            title: "hi",
            directory: homedir(),
            project_id: "p",
            created: "2024-05-01T12:00:00",
            updated: "2024-05-01T12:01:00.123456",
            messageCount: 1,
            summary: null,
            version: "0.1",
          },
        ],
      });
      expect(sync.body).toEqual({ success: true, sessions_count: 1 });
      const sessions = (await s.get(`${O}/codebases/${globalId}/sessions`)).body;
      expect(sessions[0]).toMatchObject({ id: "ses_py1", task_id: task.id });

      // re-registration every minute keeps the same codebase ids
      expect((await s.post(`${O}/codebases`, { name: "global", path: homedir(), description: "Global", worker_id: workerId })).body.codebase.id).toBe(globalId);
      stream.close();
      await stream.ended;
    });

    test("a failed run reported by PUT status stays failed after the bare release", async () => {
      const workerId = uid("pyf");
      await s.post(`${O}/codebases`, { name: "global", path: homedir(), worker_id: workerId });
      await s.post(`${O}/workers/register`, { worker_id: workerId, name: workerId, codebases: ["global"] });
      const task = (await s.post(`${O}/tasks`, { codebase_id: null, prompt: "x", target_worker_id: workerId })).body;
      expect((await s.post("/v1/worker/tasks/claim", { task_id: task.id }, { "X-Worker-ID": workerId })).status).toBe(200);
      await s.put(`${O}/tasks/${task.id}/status`, { status: "failed", worker_id: workerId, error: "opencode exited 1" });
      await s.post("/v1/worker/tasks/release", { task_id: task.id }, { "X-Worker-ID": workerId });
      expect((await s.get(`${O}/tasks/${task.id}`)).body).toMatchObject({ status: "failed", error: "opencode exited 1" });
    });
  });
}
