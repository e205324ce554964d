// The server contract, part two, on SQLite and PostgreSQL: output (dedupe, cap, since,
// live stream), the worker push stream, session sync, auth, and bad input per route.
import { afterAll, beforeAll, expect, test } from "bun:test";
import {
  openSse,
  registerWorker,
  startTestServer,
  STORE_KINDS,
  storeSkip,
  taskEvents,
  uid,
  type Api,
  type TestServer,
  type TestWorker,
} from "../helpers/server.ts";
import { describeUnless } from "../helpers/skip.ts";

const O = "/v1/opencode";
const W = "/v1/worker/tasks";

async function runningTask(api: Api, w: TestWorker, extra: Record<string, unknown> = {}) {
  const t = (await api.post(`${O}/tasks`, { codebase_id: w.codebaseId, prompt: "p", ...extra })).body;
  const c = await api.post(`${W}/claim`, { task_id: t.id }, w.headers);
  expect(c.status).toBe(200);
  return c.body.task;
}

for (const kind of STORE_KINDS) {
  describeUnless(storeSkip(kind), `server contract I/O [${kind}]`, () => {
    let s: TestServer;
    beforeAll(async () => {
      s = await startTestServer(kind, { outputCapBytes: 64, maxBodyBytes: 64 * 1024, streamHeartbeatMs: 200, sweepIntervalMs: 3_600_000 });
    });
    afterAll(() => s?.stop());

    test("output: batches deduplicated by (attempt, seq), legacy lines numbered, since pages, per-task cap", async () => {
      const w = await registerWorker(s, "out");
      const t = await runningTask(s, w);
      const post = (b: object) => s.post(`${O}/tasks/${t.id}/output`, b, w.headers);
      expect((await post({ attempt: 1, seq: 0, lines: ["a", "b"] })).body).toMatchObject({ success: true, stored: 2, duplicates: 0, truncated: false });
      // retried batch overlapping the stored one: only the new line is stored
      expect((await post({ attempt: 1, seq: 1, lines: ["b", "c"] })).body).toMatchObject({ stored: 1, duplicates: 1 });
      expect((await post({ worker_id: w.id, output: "legacy", timestamp: 1_700_000_000_000 })).body.stored).toBe(1);
      const page = (await s.get(`${O}/tasks/${t.id}/output`)).body;
      expect(page.task_id).toBe(t.id);
      expect(page.total).toBe(4);
      expect(page.outputs.map((o: any) => [o.seq, o.attempt, o.line])).toEqual([
        [0, 1, "a"],
        [1, 1, "b"],
        [2, 1, "c"],
        [3, 1, "legacy"],
      ]);
      expect(page.outputs[3].timestamp).toBe("2023-11-14T22:13:20.000Z");
      expect((await s.get(`${O}/tasks/${t.id}/output?since=3`)).body.outputs.map((o: any) => o.line)).toEqual(["legacy"]);
      expect((await s.get(`${O}/tasks/${t.id}/output?since=9`)).body.outputs).toEqual([]);

      // the cap is 64 bytes: what fits is kept, the rest dropped, the task marked
      const big = await post({ attempt: 1, seq: 10, lines: ["x".repeat(40), "y".repeat(40), "z"] });
      expect(big.body).toMatchObject({ stored: 1, dropped: 2, truncated: true });
      expect((await s.get(`${O}/tasks/${t.id}`)).body.output_truncated).toBe(true);
      expect((await post({ attempt: 1, seq: 20, lines: ["q"] })).body).toMatchObject({ stored: 0, dropped: 1, truncated: true });
      expect((await s.get(`${O}/tasks/${t.id}/output`)).body).toMatchObject({ total: 5, truncated: true });

      expect((await s.get(`${O}/tasks/nope/output`)).status).toBe(404);
      expect((await s.post(`${O}/tasks/nope/output`, { worker_id: w.id, output: "x" })).status).toBe(404);
      const other = await registerWorker(s, "outo");
      expect((await s.post(`${O}/tasks/${t.id}/output`, { worker_id: other.id, output: "x" })).status).toBe(409);
    });

    test("output stream: persisted lines, then live ones, then one done when final", async () => {
      const w = await registerWorker(s, "ostr");
      const t = await runningTask(s, w);
      await s.post(`${O}/tasks/${t.id}/output`, { attempt: 1, seq: 0, lines: ["one"] }, w.headers);
      const sse = openSse(`${s.url}${O}/tasks/${t.id}/output/stream`);
      await sse.waitFor((f) => f.event === "output" && JSON.parse(f.data).line === "one", "first line");
      await s.post(`${O}/tasks/${t.id}/output`, { attempt: 1, seq: 1, lines: ["two"] }, w.headers);
      await sse.waitFor((f) => f.event === "output" && JSON.parse(f.data).line === "two", "live line");
      await s.post(`${W}/release`, { task_id: t.id, attempt: 1, status: "completed", result: "r" }, w.headers);
      const done = await sse.waitFor((f) => f.event === "done", "done");
      expect(JSON.parse(done.data)).toMatchObject({ task_id: t.id, status: "completed" });
      await sse.ended;
      expect(sse.frames.filter((f) => f.event === "output").map((f) => JSON.parse(f.data).line)).toEqual(["one", "two"]);
      expect(sse.frames.filter((f) => f.event === "done")).toHaveLength(1);
      expect((await s.get(`${O}/tasks/nope/output/stream`)).status).toBe(404);
    });

    test("worker stream: connected, pending eligible tasks, new ones, heartbeat, task_cancel; routing update", async () => {
      const w = await registerWorker(s, "str");
      const other = await registerWorker(s, "stro");
      const before = (await s.post(`${O}/tasks`, { codebase_id: w.codebaseId, prompt: "before" })).body;
      const notMine = (await s.post(`${O}/tasks`, { codebase_id: other.codebaseId, prompt: "other" })).body;
      // no stream yet: one SQLite server knows no other place it could be; PostgreSQL relays the
      // update to whichever replica holds the worker's stream (none here, so nothing happens)
      expect((await s.put(`/v1/worker/codebases?worker_id=${w.id}`, { codebases: [] })).status).toBe(kind === "sqlite" ? 404 : 200);

      const sse = openSse(`${s.url}${W}/stream?worker_id=${w.id}&agent_name=${w.id}`, {
        "x-codebases": `${w.codebaseId},global,${other.codebaseId}`,
        "x-capabilities": "opencode",
      });
      const connected = await sse.waitFor((f) => f.event === "connected", "connected");
      expect(JSON.parse(connected.data)).toMatchObject({ worker_id: w.id, codebases: [w.codebaseId, "global"] }); // not the other's
      await sse.waitFor((f) => f.event === "task_available" && JSON.parse(f.data).id === before.id, "pending task announced");
      const created = (await s.post(`${O}/tasks`, { codebase_id: w.codebaseId, prompt: "after" })).body;
      const ev = await sse.waitFor((f) => f.event === "task_available" && JSON.parse(f.data).id === created.id, "new task pushed");
      expect(JSON.parse(ev.data)).toMatchObject({ id: created.id, prompt: "after", status: "pending" });
      await sse.waitFor((f) => f.event === "heartbeat", "heartbeat");

      const running = await runningTask(s, w);
      await s.post(`${O}/tasks/${running.id}/cancel`);
      const cancel = await sse.waitFor((f) => f.event === "task_cancel", "task_cancel");
      expect(JSON.parse(cancel.data)).toEqual({ task_id: running.id });

      // a codebase registered later reaches the open stream, with what already waits for it
      const late = (await s.post(`${O}/codebases`, { name: "late", path: `/srv/late-${w.id}`, worker_id: w.id })).body.codebase;
      const lateTask = (await s.post(`${O}/tasks`, { codebase_id: late.id, prompt: "late" })).body;
      await sse.waitFor((f) => f.event === "task_available" && JSON.parse(f.data).id === lateTask.id, "task for a new codebase");
      const upd = await s.put(`/v1/worker/codebases?worker_id=${w.id}`, { codebases: [w.codebaseId, late.id, "global"] });
      expect(upd.status).toBe(200);
      expect(upd.body.codebases).toEqual(expect.arrayContaining([w.codebaseId, late.id, "global"]));
      expect(taskEvents(sse).some((t) => t.id === notMine.id)).toBe(false);
      sse.close();
      await sse.ended;
    });

    test("sessions and messages: upsert by id, newest first, task link, 404s", async () => {
      const w = await registerWorker(s, "ses");
      const cb = w.codebaseId;
      const t = await runningTask(s, w);
      await s.put(`${O}/tasks/${t.id}/status`, { status: "completed", worker_id: w.id, session_id: "ses_b" });
      const sync = (sessions: object[]) => s.post(`${O}/codebases/${cb}/sessions/sync`, { worker_id: w.id, sessions });
      expect(
        (await sync([{ id: "ses_a", title: "A", created: "2024-01-01T10:00:00", updated: 1_704_103_200_000, messageCount: 1, extra: "kept" }])).body,
      ).toEqual({
        success: true,
        sessions_count: 1,
      });
      await sync([
        { id: "ses_b", title: "B", updated: "2024-02-01T00:00:00Z" },
        { id: "ses_a", title: "A2", updated: "2024-01-01T10:00:00Z" },
      ]);
      const list = (await s.get(`${O}/codebases/${cb}/sessions`)).body;
      expect(list.map((x: any) => [x.id, x.title])).toEqual([
        ["ses_b", "B"],
        ["ses_a", "A2"],
      ]);
      expect(list[0].task_id).toBe(t.id);
      expect(list[1]).toMatchObject({ updated: "2024-01-01T10:00:00.000Z", codebase_id: cb, worker_id: w.id });

      const msgs = (m: object[]) => s.post(`${O}/codebases/${cb}/sessions/ses_a/messages/sync`, { worker_id: w.id, messages: m });
      const m1 = { id: "msg_1", sessionID: "ses_a", role: "user", time: { created: 1_704_103_200_000 }, parts: [{ id: "p1", type: "text", text: "hi" }] };
      const m2 = { id: "msg_2", sessionID: "ses_a", role: "assistant", time: { created: 1_704_103_260_000 }, cost: 0.1, parts: [] };
      expect((await msgs([m2, m1])).body).toEqual({ success: true, messages_count: 2 });
      await msgs([{ ...m1, parts: [{ id: "p1", type: "text", text: "hello" }] }]);
      const got = (await s.get(`${O}/codebases/${cb}/sessions/ses_a/messages`)).body;
      expect(got.map((m: any) => m.id)).toEqual(["msg_1", "msg_2"]);
      expect(got[0].parts[0].text).toBe("hello");

      expect((await s.get(`${O}/codebases/nope/sessions`)).status).toBe(404);
      expect((await s.post(`${O}/codebases/nope/sessions/sync`, { worker_id: w.id, sessions: [] })).status).toBe(404);
      expect((await s.get(`${O}/codebases/${cb}/sessions/ses_zzz/messages`)).status).toBe(404);
      expect((await s.get(`/v1/agent/codebases/${cb}/sessions`)).body).toHaveLength(2);
    });

    test("bad input: 4xx naming the field, never 5xx, nothing written", async () => {
      const w = await registerWorker(s, "bad");
      const t = await runningTask(s, w);
      const countTasks = async () => (await s.get(`${O}/tasks?limit=10000`)).body.length;
      const tasksBefore = await countTasks();
      const snapshot = JSON.stringify((await s.get(`${O}/tasks/${t.id}`)).body);
      const none = {};
      const cases: [string, string, unknown, number, string, Record<string, string>?][] = [
        ["POST", `${O}/tasks`, "{not json", 400, "body"],
        ["POST", `${O}/tasks`, "[1,2]", 400, "body"],
        ["POST", `${O}/tasks`, { codebase_id: w.codebaseId }, 400, "prompt"],
        ["POST", `${O}/tasks`, { codebase_id: w.codebaseId, prompt: "x", priority: "high" }, 400, "priority"],
        ["POST", `${O}/tasks`, { codebase_id: w.codebaseId, prompt: "x", model: "nomodel" }, 400, "model"],
        ["POST", `${O}/tasks`, { codebase_id: w.codebaseId, prompt: "x", max_attempts: 0 }, 400, "max_attempts"],
        ["POST", `${O}/tasks`, { codebase_id: w.codebaseId, prompt: "x".repeat(70 * 1024) }, 413, "body"],
        ["GET", `${O}/tasks?status=weird`, undefined, 400, "query.status"],
        ["GET", `${O}/tasks?limit=-1`, undefined, 400, "query.limit"],
        ["POST", `${O}/workers/register`, { name: "x" }, 400, "worker_id", none],
        ["POST", `${O}/workers/register`, { worker_id: "bad id!", name: "x" }, 400, "worker_id", none],
        ["POST", `${O}/codebases`, { name: "x", path: 5, worker_id: w.id }, 400, "path"],
        ["POST", `${W}/claim`, { task_id: 7 }, 400, "task_id"],
        ["POST", `${W}/claim`, {}, 400, "X-Worker-ID", none],
        ["POST", `${W}/claim`, {}, 400, "X-Worker-ID", { "x-worker-id": "bad id" }],
        ["POST", `${W}/heartbeat`, { worker_id: w.id, attempt: 1 }, 400, "task_id"],
        ["POST", `${W}/heartbeat`, { task_id: t.id, worker_id: w.id, attempt: "one" }, 400, "attempt"],
        ["POST", `${W}/release`, { task_id: t.id, status: "done" }, 400, "status"],
        ["POST", `${W}/release`, { task_id: t.id }, 400, "worker_id", none],
        ["PUT", `${O}/tasks/${t.id}/status`, { worker_id: w.id }, 400, "status"],
        ["POST", `${O}/tasks/${t.id}/output`, { worker_id: w.id, attempt: 1, lines: ["x"] }, 400, "seq"],
        ["POST", `${O}/tasks/${t.id}/output`, { worker_id: w.id, attempt: 1, seq: -1, lines: ["x"] }, 400, "seq"],
        ["POST", `${O}/tasks/${t.id}/output`, { worker_id: w.id }, 400, "output"],
        ["GET", `${O}/tasks/${t.id}/output?since=abc`, undefined, 400, "query.since"],
        ["GET", `${W}/stream`, undefined, 400, "query.worker_id"],
        ["PUT", `/v1/worker/codebases?worker_id=${w.id}`, { codebases: "x" }, 400, "codebases"],
        ["POST", `${O}/codebases/${w.codebaseId}/sessions/sync`, { sessions: [{ title: "no id" }] }, 400, "sessions.0.id"],
        ["POST", `${O}/codebases/${w.codebaseId}/sessions/sync`, { sessions: [{ id: "s", created: "yesterday" }] }, 400, "sessions.0.created"],
        ["POST", `${O}/codebases/${w.codebaseId}/sessions/s/messages/sync`, { messages: {} }, 400, "messages"],
      ];
      for (const [method, path, body, status, field, headers] of cases) {
        const r = await s.call(method, path, body, headers ?? w.headers);
        const where = `${method} ${path} ${JSON.stringify(body)?.slice(0, 80)}`;
        expect([where, r.status]).toEqual([where, status]);
        expect(r.body.error).toEqual(expect.any(String));
        expect(r.body.message).toEqual(expect.any(String));
        expect([where, r.body.details?.map((d: any) => d.field)]).toEqual([where, expect.arrayContaining([field])]);
      }
      expect(await countTasks()).toBe(tasksBefore);
      expect(JSON.stringify((await s.get(`${O}/tasks/${t.id}`)).body)).toBe(snapshot);
      expect((await s.get(`${O}/tasks/${t.id}/output`)).body.total).toBe(0);
    });

    test("storable text: NUL and lone surrogates do not break either store", async () => {
      const w = await registerWorker(s, "nul");
      const r = await s.post(`${O}/tasks`, `{"codebase_id":"${w.codebaseId}","prompt":"a\\u0000b\\ud800c","metadata":{"k\\u0000":"v"}}`);
      expect(r.status).toBe(201);
      expect(r.body.prompt).toBe("a\uFFFDb\uFFFDc");
      expect(Object.keys(r.body.metadata)).toEqual(["k\uFFFD"]);
    });

    test("routing: unknown route 404, wrong method 405, /v1/agent alias", async () => {
      const nf = await s.get("/v1/nothing");
      expect(nf.status).toBe(404);
      expect(nf.body.error).toBe("not_found");
      const na = await s.del(`${O}/tasks`);
      expect(na.status).toBe(405);
      expect(na.headers.get("allow")).toContain("GET");
      const viaAlias = await s.post("/v1/agent/tasks", { codebase_id: null, prompt: "alias", target_worker_id: uid("nobody") });
      expect(viaAlias.status).toBe(201);
      expect((await s.get(`${O}/tasks/${viaAlias.body.id}`)).body.prompt).toBe("alias");
      await s.post(`/v1/agent/tasks/${viaAlias.body.id}/cancel`);
    });
  });

  describeUnless(storeSkip(kind), `auth [${kind}]`, () => {
    let s: TestServer;
    beforeAll(async () => {
      s = await startTestServer(kind, { authTokens: ["ops:ops-secret", "w1:w1-secret", "workers:fleet-secret", "bare-secret"] });
    });
    afterAll(() => s?.stop());

    test("missing token 401, unknown 403, health open; tokens never echoed", async () => {
      const anon = s.as(undefined);
      expect((await anon.get("/health")).status).toBe(200);
      const missing = await anon.get(`${O}/tasks`);
      expect(missing.status).toBe(401);
      expect(missing.body.error).toBe("unauthorized");
      expect(missing.body.details[0].field).toBe("Authorization");
      const wrong = await s.as("nope").get(`${O}/tasks`);
      expect(wrong.status).toBe(403);
      expect((await anon.call("GET", `${O}/tasks`, undefined, { authorization: "Basic abc" })).status).toBe(401);
      expect((await anon.get("/v1/nothing")).status).toBe(401);
      for (const tok of ["ops-secret", "w1-secret", "fleet-secret", "bare-secret"]) {
        const r = await s.as(tok).get(`${O}/tasks`);
        expect(r.status).toBe(200);
        expect(JSON.stringify(r.body)).not.toContain(tok);
      }
    });

    test("a named token owns the worker ids it registers; a bare token may act as any", async () => {
      const w1 = s.as("w1-secret");
      const ops = s.as("ops-secret");
      const fleet = s.as("fleet-secret");
      const bare = s.as("bare-secret");
      expect((await w1.post(`${O}/workers/register`, { worker_id: "w1", name: "w1" })).status).toBe(200);
      expect((await w1.post(`${O}/codebases`, { name: "global", path: "/home/w1", worker_id: "w1" })).status).toBe(200);
      // another name cannot act as w1
      const imp = await ops.post(`${O}/workers/w1/heartbeat`);
      expect(imp.status).toBe(403);
      expect(imp.body.message).not.toContain("secret");
      expect((await ops.post(`${O}/workers/register`, { worker_id: "w1", name: "evil" })).status).toBe(403);
      expect((await ops.post(`${W}/claim`, {}, { "x-worker-id": "w1" })).status).toBe(403);
      // one shared fleet token serves many workers
      for (const id of ["fleet-a", "fleet-b"]) expect((await fleet.post(`${O}/workers/register`, { worker_id: id, name: id })).status).toBe(200);
      expect((await w1.post(`${O}/workers/fleet-a/heartbeat`)).status).toBe(403);
      // anyone may submit work; the owner runs it; the bare token may act as w1 too
      const t = (await ops.post(`${O}/tasks`, { codebase_id: "global", prompt: "x", target_worker_id: "w1" })).body;
      const c = await w1.post(`${W}/claim`, {}, { "x-worker-id": "w1" });
      expect(c.body.task_id).toBe(t.id);
      // a named token must say which of its workers speaks
      expect((await w1.post(`${W}/heartbeat`, { task_id: t.id, attempt: 1 })).status).toBe(400);
      expect((await bare.post(`${W}/heartbeat`, { task_id: t.id, worker_id: "w1", attempt: 1 })).status).toBe(200);
      expect((await w1.post(`${W}/release`, { task_id: t.id, worker_id: "w1", attempt: 1, status: "completed" })).body.task.status).toBe("completed");
      expect((await bare.post(`${O}/workers/w1/heartbeat`)).status).toBe(200);
    });
  });
}
