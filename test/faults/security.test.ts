// Security, part one, against a real server process with tokens configured: the auth
// matrix (every route but GET /health x {no token, wrong token, valid token} -> 401 / 403
// / success, on /v1/opencode and the /v1/agent alias), worker isolation (no claiming,
// changing or reporting on another worker's tasks) and the `name:token` binding of
// src/server/auth.ts (a named token cannot act as a worker registered by another name).
// Part two (codebase paths, secrets in every output) is security-secrets.test.ts.
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { startServerProc, type ServerProc } from "../helpers/cluster.ts";
import { FAULT_STORES, faultSkip } from "../helpers/faults.ts";
import { freshDatabase, type TestDatabase } from "../helpers/pg.ts";
import { killAll, tempDir } from "../helpers/proc.ts";
import { createApi, type Api } from "../helpers/server.ts";
import { describeUnless } from "../helpers/skip.ts";

setDefaultTimeout(120_000);

const TOK = { ops: "tok-ops-4f1c9a", w1: "tok-w1-77b2e0", w2: "tok-w2-c3d915", bare: "tok-bare-9e8a41" };
const tmp = tempDir("ct-security-");
afterAll(async () => {
  await killAll();
  tmp.cleanup();
});

interface Call {
  method: string;
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
  /** Reads only the status of a streaming answer, then hangs up. */
  stream?: boolean;
}

async function call(url: string, c: Call, auth: string | null): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = { ...(c.body !== undefined ? { "content-type": "application/json" } : {}), ...c.headers };
  if (auth !== null) headers.authorization = auth;
  const ac = new AbortController();
  const res = await fetch(url + c.path, { method: c.method, headers, body: c.body === undefined ? undefined : JSON.stringify(c.body), signal: ac.signal });
  if (c.stream && res.status === 200) {
    ac.abort();
    return { status: res.status, body: null };
  }
  const text = await res.text();
  return { status: res.status, body: text && res.headers.get("content-type")?.includes("json") ? JSON.parse(text) : text };
}

for (const kind of FAULT_STORES) {
  describeUnless(faultSkip(kind, true), `security [${kind}]`, () => {
    let server: ServerProc;
    let db: TestDatabase | undefined;
    let ops: Api; // the operator's view
    let w1: Api;
    let w2: Api;
    let cb1: string; // codebase of worker w1

    beforeAll(async () => {
      db = kind === "postgres" ? await freshDatabase() : undefined;
      server = await startServerProc(join(tmp.path, kind), {
        databaseUrl: db?.url,
        env: { A2A_AUTH_TOKENS: `ops:${TOK.ops},w1:${TOK.w1},w2:${TOK.w2},${TOK.bare}` },
        args: ["--lease-seconds", "600", "--log-format", "json"],
      });
      ops = createApi(server.url, TOK.ops);
      w1 = createApi(server.url, TOK.w1);
      w2 = createApi(server.url, TOK.w2);
      for (const [api, id] of [
        [w1, "w1"],
        [w2, "w2"],
      ] as const) {
        expect((await api.post("/v1/opencode/codebases", { name: "global", path: `/home/${id}`, worker_id: id })).status).toBe(200);
        expect((await api.post("/v1/opencode/workers/register", { worker_id: id, name: id, codebases: ["global"] })).status).toBe(200);
      }
      cb1 = (await w1.post("/v1/opencode/codebases", { name: "app", path: "/srv/app1", worker_id: "w1" })).body.codebase.id;
      expect((await w2.post("/v1/opencode/codebases", { name: "app", path: "/srv/app2", worker_id: "w2" })).status).toBe(200);
    });
    afterAll(async () => {
      await server?.stop();
      await db?.drop();
    });

    const newTask = async (codebase = cb1) =>
      (await ops.post("/v1/opencode/tasks", { codebase_id: codebase, prompt: "p", agent_type: "noop" })).body.id as string;
    const running = async () => {
      const id = await newTask();
      const c = await w1.post("/v1/worker/tasks/claim", { task_id: id }, { "x-worker-id": "w1" });
      expect(c.status).toBe(200);
      return { id, attempt: c.body.attempt as number };
    };
    const finished = async () => {
      const t = await running();
      await w1.post("/v1/worker/tasks/release", { task_id: t.id, worker_id: "w1", attempt: t.attempt, status: "completed", result: "r" });
      return t.id;
    };

    /** Every route but /health: a fresh valid request (state made through the operator) and the token that may send it. */
    const routes: [string, () => Promise<Call>, keyof typeof TOK][] = [
      ["GET monitor", async () => ({ method: "GET", path: "/v1/monitor/workers" }), "ops"],
      [
        "POST workers/register",
        async () => ({ method: "POST", path: "/v1/opencode/workers/register", body: { worker_id: "w1", name: "w1", codebases: ["global"] } }),
        "w1",
      ],
      ["GET workers", async () => ({ method: "GET", path: "/v1/opencode/workers" }), "ops"],
      ["GET workers/{id}", async () => ({ method: "GET", path: "/v1/opencode/workers/w1" }), "ops"],
      ["POST workers/{id}/heartbeat", async () => ({ method: "POST", path: "/v1/opencode/workers/w1/heartbeat" }), "w1"],
      [
        "POST workers/{id}/unregister",
        async () => {
          const id = `w1-tmp-${Math.random().toString(36).slice(2, 8)}`;
          await w1.post("/v1/opencode/workers/register", { worker_id: id, name: id });
          return { method: "POST", path: `/v1/opencode/workers/${id}/unregister` };
        },
        "w1",
      ],
      ["POST codebases", async () => ({ method: "POST", path: "/v1/opencode/codebases", body: { name: "extra", path: "/srv/extra1", worker_id: "w1" } }), "w1"],
      ["GET codebases", async () => ({ method: "GET", path: "/v1/opencode/codebases" }), "ops"],
      ["GET codebases/{id}", async () => ({ method: "GET", path: `/v1/opencode/codebases/${cb1}` }), "ops"],
      [
        "DELETE codebases/{id}",
        async () => {
          const id = (await ops.post("/v1/opencode/codebases", { name: "tmp", path: `/srv/tmp-${Math.random()}`, worker_id: "w-operator-made" })).body.codebase
            .id;
          return { method: "DELETE", path: `/v1/opencode/codebases/${id}` };
        },
        "ops",
      ],
      ["POST tasks", async () => ({ method: "POST", path: "/v1/opencode/tasks", body: { codebase_id: cb1, prompt: "p", agent_type: "noop" } }), "ops"],
      ["GET tasks", async () => ({ method: "GET", path: "/v1/opencode/tasks?status=pending" }), "ops"],
      ["GET tasks/{id}", async () => ({ method: "GET", path: `/v1/opencode/tasks/${await newTask()}` }), "ops"],
      ["POST tasks/{id}/cancel", async () => ({ method: "POST", path: `/v1/opencode/tasks/${await newTask()}/cancel` }), "ops"],
      [
        "PUT tasks/{id}/status",
        async () => {
          const t = await running();
          return { method: "PUT", path: `/v1/opencode/tasks/${t.id}/status`, body: { status: "completed", worker_id: "w1", attempt: t.attempt, result: "ok" } };
        },
        "w1",
      ],
      [
        "POST tasks/{id}/output",
        async () => {
          const t = await running();
          return { method: "POST", path: `/v1/opencode/tasks/${t.id}/output`, body: { worker_id: "w1", attempt: t.attempt, seq: 0, lines: ["l"] } };
        },
        "w1",
      ],
      ["GET tasks/{id}/output", async () => ({ method: "GET", path: `/v1/opencode/tasks/${await finished()}/output` }), "ops"],
      ["GET tasks/{id}/output/stream", async () => ({ method: "GET", path: `/v1/opencode/tasks/${await finished()}/output/stream` }), "ops"],
      [
        "GET worker/tasks/stream",
        async () => ({ method: "GET", path: "/v1/worker/tasks/stream?worker_id=w1&agent_name=w1", headers: { accept: "text/event-stream" }, stream: true }),
        "w1",
      ],
      [
        "POST worker/tasks/claim",
        async () => ({ method: "POST", path: "/v1/worker/tasks/claim", body: { task_id: await newTask() }, headers: { "x-worker-id": "w1" } }),
        "w1",
      ],
      [
        "POST worker/tasks/heartbeat",
        async () => {
          const t = await running();
          return { method: "POST", path: "/v1/worker/tasks/heartbeat", body: { task_id: t.id, worker_id: "w1", attempt: t.attempt } };
        },
        "w1",
      ],
      [
        "POST worker/tasks/release",
        async () => {
          const t = await running();
          return { method: "POST", path: "/v1/worker/tasks/release", body: { task_id: t.id, worker_id: "w1", attempt: t.attempt, status: "completed" } };
        },
        "w1",
      ],
      [
        "POST codebases/{id}/sessions/sync",
        async () => ({ method: "POST", path: `/v1/opencode/codebases/${cb1}/sessions/sync`, body: { worker_id: "w1", sessions: [{ id: "ses_auth" }] } }),
        "w1",
      ],
      ["GET codebases/{id}/sessions", async () => ({ method: "GET", path: `/v1/opencode/codebases/${cb1}/sessions` }), "ops"],
      [
        "POST sessions/{id}/messages/sync",
        async () => ({
          method: "POST",
          path: `/v1/opencode/codebases/${cb1}/sessions/ses_auth/messages/sync`,
          body: { worker_id: "w1", messages: [{ id: "msg_auth", parts: [] }] },
        }),
        "w1",
      ],
      ["GET sessions/{id}/messages", async () => ({ method: "GET", path: `/v1/opencode/codebases/${cb1}/sessions/ses_auth/messages` }), "ops"],
    ];

    for (const prefix of ["/v1/opencode", "/v1/agent"]) {
      test(`auth matrix on ${prefix}: no token 401, wrong token 403, valid token success; /health open`, async () => {
        expect((await call(server.url, { method: "GET", path: "/health" }, null)).status).toBe(200);
        // The routing update needs an open stream of w1 on this server.
        const sse = await fetch(`${server.url}/v1/worker/tasks/stream?worker_id=w1`, {
          headers: { authorization: `Bearer ${TOK.w1}`, accept: "text/event-stream" },
        });
        expect(sse.status).toBe(200);
        const all: typeof routes = [
          ...routes,
          ["PUT worker/codebases", async () => ({ method: "PUT", path: "/v1/worker/codebases?worker_id=w1", body: { codebases: [cb1, "global"] } }), "w1"],
        ];
        const problems: string[] = [];
        for (const [what, make, who] of all) {
          const c = await make();
          c.path = c.path.replace(/^\/v1\/opencode\//, `${prefix}/`);
          for (const [auth, want] of [
            [null, 401],
            ["Basic dXNlcjpwYXNz", 401],
            ["Bearer", 401],
            [`Bearer ${TOK[who]}x`, 403],
            [`Bearer ${TOK[who].toUpperCase()}`, 403],
          ] as const) {
            const r = await call(server.url, c, auth);
            if (r.status !== want) problems.push(`${what} with ${auth ?? "no Authorization"}: ${r.status}, want ${want}`);
            else if (!r.body?.error || JSON.stringify(r.body).includes(TOK[who])) problems.push(`${what}: error body ${JSON.stringify(r.body)}`);
          }
          // Refused calls changed nothing: the valid one still does its whole job (a claim gets attempt 1, ...).
          const ok = await call(server.url, c, `Bearer ${TOK[who]}`);
          if (ok.status < 200 || ok.status > 299) problems.push(`${what} with the valid token: ${ok.status} ${JSON.stringify(ok.body).slice(0, 200)}`);
          if (what === "POST worker/tasks/claim" && ok.body?.attempt !== 1) problems.push(`claim after refused claims: attempt ${ok.body?.attempt}`);
          // A bare token is an operator token: it may act as any worker.
          const b = await make();
          b.path = b.path.replace(/^\/v1\/opencode\//, `${prefix}/`);
          const bare = await call(server.url, b, `Bearer ${TOK.bare}`);
          if (bare.status < 200 || bare.status > 299) problems.push(`${what} with the bare token: ${bare.status}`);
        }
        await sse.body?.cancel();
        expect(problems).toEqual([]);
      });
    }

    test("a worker cannot claim, change or report on a task of another worker's codebase", async () => {
      const t = await newTask(cb1);
      const as2 = { "x-worker-id": "w2" };
      const c = await w2.post("/v1/worker/tasks/claim", { task_id: t }, as2);
      expect(c.status).toBe(409);
      expect(c.body.message).toContain("did not register");
      expect((await w2.post("/v1/worker/tasks/claim", {}, as2)).status).toBe(204); // nothing of its own pending
      const mine = await w1.post("/v1/worker/tasks/claim", { task_id: t }, { "x-worker-id": "w1" });
      expect(mine.body.attempt).toBe(1);
      const before = (await ops.get(`/v1/opencode/tasks/${t}`)).body;
      // w2, with its own token and identity, knowing the attempt number: all fenced.
      for (const r of [
        await w2.put(`/v1/opencode/tasks/${t}/status`, { status: "completed", worker_id: "w2", attempt: 1, result: "stolen" }),
        await w2.post(`/v1/opencode/tasks/${t}/output`, { worker_id: "w2", attempt: 1, seq: 0, lines: ["injected"] }),
        await w2.post(`/v1/opencode/tasks/${t}/output`, { worker_id: "w2", output: "injected" }),
        await w2.post("/v1/worker/tasks/heartbeat", { task_id: t, worker_id: "w2", attempt: 1 }),
        await w2.post("/v1/worker/tasks/release", { task_id: t, worker_id: "w2", attempt: 1, status: "failed", error: "sabotage" }),
        await w2.post("/v1/worker/tasks/release", { task_id: t, worker_id: "w2" }),
      ]) {
        expect(r.status).toBe(409);
        expect(r.body.error).toBe("stale_attempt");
      }
      expect((await ops.get(`/v1/opencode/tasks/${t}`)).body).toEqual(before);
      expect((await ops.get(`/v1/opencode/tasks/${t}/output`)).body.outputs).toEqual([]);
    });

    test("name:token binding: a named token cannot act as a worker registered by another name", async () => {
      const t = await newTask(cb1);
      const as1 = { "x-worker-id": "w1" };
      const refused = [
        ["register w1", await w2.post("/v1/opencode/workers/register", { worker_id: "w1", name: "evil" })],
        ["register a codebase for w1", await w2.post("/v1/opencode/codebases", { name: "evil", path: "/etc", worker_id: "w1" })],
        ["heartbeat w1", await w2.post("/v1/opencode/workers/w1/heartbeat")],
        ["claim as w1", await w2.post("/v1/worker/tasks/claim", { task_id: t }, as1)],
        ["stream as w1", await w2.get("/v1/worker/tasks/stream?worker_id=w1")],
        ["sync sessions as w1", await w2.post(`/v1/opencode/codebases/${cb1}/sessions/sync`, { worker_id: "w1", sessions: [{ id: "ses_evil" }] })],
        ["the ops token acting as w1", await ops.post("/v1/worker/tasks/claim", { task_id: t }, as1)],
        ["unregister w1", await w2.post("/v1/opencode/workers/w1/unregister")],
      ] as const;
      for (const [what, r] of refused) {
        expect([what, r.status]).toEqual([what, 403]);
        expect(r.body.message).toContain("may not act as worker w1");
      }
      // Nothing happened: w1 is still itself and active, the task still pending, no codebase at /etc.
      const w = (await ops.get("/v1/opencode/workers/w1")).body;
      expect(w).toMatchObject({ name: "w1", status: "active" });
      expect((await ops.get(`/v1/opencode/tasks/${t}`)).body.status).toBe("pending");
      expect((await ops.get("/v1/opencode/codebases")).body.filter((c: any) => c.path === "/etc")).toEqual([]);
      // Its own token (and a bare operator token) may.
      expect((await w1.post("/v1/worker/tasks/claim", { task_id: t }, as1)).status).toBe(200);
      expect((await createApi(server.url, TOK.bare).post("/v1/opencode/workers/w1/heartbeat")).status).toBe(200);
      // A named token may not hide its identity either: task-changing calls need a worker id.
      const noId = await w1.post("/v1/worker/tasks/heartbeat", { task_id: t, attempt: 1 });
      expect(noId.status).toBe(400);
    });
  });
}
