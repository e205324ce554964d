// The client checks every answer against the protocol's schemas, tolerantly: extra fields
// pass through, fields older servers lack get defaults, and a body that does not fit is one
// clear error naming the route and the field, not a crash later.
import { afterAll, describe, expect, test } from "bun:test";
import { createClient, ProtocolError } from "../../src/client/index.ts";

/** A stand-in server answering each `METHOD /path` with a fixed body. */
const answers = new Map<string, unknown>();
const server = Bun.serve({
  port: 0,
  hostname: "127.0.0.1",
  fetch(req) {
    const key = `${req.method} ${new URL(req.url).pathname}`;
    return answers.has(key) ? Response.json(answers.get(key)) : Response.json({ error: "not_found", message: key }, { status: 404 });
  },
});
afterAll(() => server.stop(true));
const client = createClient({ serverUrl: `http://127.0.0.1:${server.port}` });

const fullTask = {
  id: "ab12",
  codebase_id: "global",
  title: null,
  prompt: "p",
  agent_type: "build",
  model: null,
  priority: 0,
  status: "pending",
  metadata: {},
  target_worker_id: null,
  target_agent_name: null,
  worker_id: null,
  session_id: null,
  result: null,
  error: null,
  attempt: 0,
  max_attempts: 3,
  timeout_s: null,
  lease_expires_at: null,
  cancel_requested: false,
  created_at: "2030-01-01T00:00:00.000Z",
  updated_at: "2030-01-01T00:00:00.000Z",
  started_at: null,
  completed_at: null,
};

async function failure(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected the call to fail");
}

describe("answers", () => {
  test("a task without a required field: a ProtocolError naming the route and the field", async () => {
    const { status: _, ...noStatus } = fullTask;
    answers.set("GET /v1/opencode/tasks/ab12", noStatus);
    const err = await failure(client.getTask("ab12"));
    expect(err).toBeInstanceOf(ProtocolError);
    expect(err.message).toStartWith("server answered GET /v1/opencode/tasks/ab12 with an unexpected body: status: missing (expected one of ");
  });

  test("a field of the wrong type, deep down, is named with its path and what came", async () => {
    answers.set("GET /v1/opencode/tasks/ab12/output", {
      task_id: "ab12",
      outputs: [
        { seq: 0, attempt: 1, line: "x", timestamp: "t" },
        { seq: "1", attempt: 1, line: "y", timestamp: "t" },
      ],
      total: 2,
    });
    const err = await failure(client.getOutput("ab12"));
    expect(err.message).toBe('server answered GET /v1/opencode/tasks/ab12/output with an unexpected body: outputs.1.seq: expected number, got string "1"');
  });

  test("a body that is not JSON at all (a proxy's page) is named as such", async () => {
    const err = await failure(client.listWorkers());
    expect(err.name).toBe("ApiError"); // 404 from the stand-in: not a protocol problem
    answers.set("GET /v1/opencode/workers", "<html>bad gateway</html>");
    const err2 = await failure(client.listWorkers());
    expect(err2.message).toBe('server answered GET /v1/opencode/workers with an unexpected body: body: expected array, got string "<html>bad gateway</html>"');
  });

  test("extra fields pass through, and fields an older server lacks get defaults", async () => {
    answers.set("GET /v1/opencode/tasks/ab12", { ...fullTask, shiny_new_field: { nested: true } });
    const t = await client.getTask("ab12");
    expect((t as Record<string, unknown>).shiny_new_field).toEqual({ nested: true });
    expect(t.status).toBe("pending");
    // What the legacy fixture (test/fixtures/legacy-server.ts) sends for a task.
    answers.set("GET /v1/opencode/tasks/t1", {
      id: "t1",
      codebase_id: "global",
      prompt: "hi",
      agent_type: "echo",
      status: "pending",
      worker_id: null,
      result: null,
      error: null,
      metadata: {},
    });
    const legacy = await client.getTask("t1");
    expect(legacy).toMatchObject({
      id: "t1",
      prompt: "hi",
      agent_type: "echo",
      attempt: 0,
      max_attempts: 3,
      cancel_requested: false,
      title: null,
      model: null,
    });
  });

  test("claim, register and output answers of an older server", async () => {
    answers.set("POST /v1/worker/tasks/claim", { success: true, task_id: "t1", worker_id: "w" });
    expect(await client.claim("w", "t1")).toEqual({ success: true, task_id: "t1", worker_id: "w" });
    answers.set("POST /v1/opencode/workers/register", { success: true, worker: { worker_id: "w", name: "w" } });
    expect((await client.registerWorker({ worker_id: "w", name: "w" })).settings).toBeUndefined();
    // Settings that do not fit mean a legacy server too (the worker keeps its own timings), not a failed registration.
    answers.set("POST /v1/opencode/workers/register", { success: true, worker: {}, settings: { lease_s: "soon" } });
    expect((await client.registerWorker({ worker_id: "w", name: "w" })).settings).toBeUndefined();
    answers.set("POST /v1/opencode/tasks/t1/output", { success: true });
    expect((await client.postOutput("t1", { worker_id: "w", output: "x", timestamp: "t" })).truncated).toBeUndefined();
  });

  test("codebase registration: under `codebase`, at the top level (older servers), or pending", async () => {
    const cb = { id: "cb1", name: "api", path: "/srv/api", worker_id: "w" };
    answers.set("POST /v1/opencode/codebases", { success: true, codebase: cb });
    expect(await client.registerCodebase({ name: "api", path: "/srv/api" })).toMatchObject({
      success: true,
      codebase: { ...cb, description: null, agent_config: null },
    });
    answers.set("POST /v1/opencode/codebases", cb);
    expect(await client.registerCodebase({ name: "api", path: "/srv/api" })).toMatchObject({ success: true, codebase: cb });
    answers.set("POST /v1/opencode/codebases", { success: true, pending: true, task_id: "t9" });
    expect(await client.registerCodebase({ name: "api", path: "/srv/api" })).toEqual({ success: true, pending: true, task_id: "t9" });
    answers.set("POST /v1/opencode/codebases", { success: true, codebase: { id: "cb1", name: "api" } });
    expect((await failure(client.registerCodebase({ name: "api", path: "/srv/api" }))).message).toBe(
      "server answered POST /v1/opencode/codebases with an unexpected body: codebase.path: missing (expected string)",
    );
  });
});
