// src/client/worker-api.ts, the legacy side: against the legacy-only stand-in server it
// claims only tasks it was told of (stream or list), by id; marks running by PUT; sends
// one output line per request; reports by PUT status then a bare release; has no leases.
import { afterAll, describe, expect, test } from "bun:test";
import { createClient } from "../../src/client/index.ts";
import { createWorkerApi } from "../../src/client/worker-api.ts";
import { startLegacyServer } from "../fixtures/legacy-server.ts";

const legacy = startLegacyServer();
afterAll(() => legacy.stop());
const client = createClient({ serverUrl: legacy.url, workerId: "w-api" });

describe("legacy worker api", () => {
  test("claims only announced or listed tasks of its codebases, each by id, once", async () => {
    const api = createWorkerApi(client, "w-api", true);
    expect(api.legacy).toBe(true);
    const announced = legacy.addTask({ prompt: "a", agent_type: "echo" });
    const listed = legacy.addTask({ prompt: "b", agent_type: "echo", codebase_id: "mine" });
    const foreign = legacy.addTask({ prompt: "c", agent_type: "echo", codebase_id: "theirs" });
    expect(await api.claimNext()).toBeNull(); // told of nothing yet; no {}-claim on this server
    api.announced({ id: announced.id, agent_type: "echo" });
    api.announced("not a task"); // ignored
    const c1 = await api.claimNext();
    expect(c1?.task_id).toBe(announced.id);
    await api.poll((id) => id === "mine");
    const c2 = await api.claimNext();
    expect(c2?.task_id).toBe(listed.id);
    expect(await api.claimNext()).toBeNull();
    expect(foreign.status).toBe("pending");
  });

  test("a task of a busy codebase stays a candidate until the codebase is free (the server does not know busy_codebases)", async () => {
    const api = createWorkerApi(client, "w-api", true);
    const t = legacy.addTask({ prompt: "busy", agent_type: "echo", codebase_id: "mine" });
    api.announced({ id: t.id, codebase_id: "mine" });
    expect(await api.claimNext(["mine"])).toBeNull();
    expect(t.status).toBe("pending");
    expect((await api.claimNext(["other"]))?.task_id).toBe(t.id);
  });

  test("running by PUT, output line by line, no lease, final state by PUT then release", async () => {
    const api = createWorkerApi(client, "w-api", true);
    const t = legacy.addTask({ prompt: "d", agent_type: "echo" });
    api.announced({ id: t.id });
    await api.claimNext();
    const before = legacy.requests.length;
    await api.markRunning(t.id);
    expect(await api.taskHeartbeat(t.id, 0)).toBeNull();
    expect(await api.sendOutput(t.id, null, 0, ["one", "two"])).toEqual({ requests: 2, truncated: false });
    expect(legacy.output.get(t.id)).toEqual(["one", "two"]);
    await api.report({ task_id: t.id, worker_id: "w-api", attempt: null, status: "completed", result: "done" });
    expect(t.status).toBe("completed");
    expect(t.result).toBe("done");
    expect(legacy.requests.slice(before)).toEqual([
      `PUT /v1/opencode/tasks/${t.id}/status`,
      `POST /v1/opencode/tasks/${t.id}/output`,
      `POST /v1/opencode/tasks/${t.id}/output`,
      `PUT /v1/opencode/tasks/${t.id}/status`,
      "POST /v1/worker/tasks/release",
    ]);
  });

  test("a release without status sends no PUT", async () => {
    const api = createWorkerApi(client, "w-api", true);
    const before = legacy.requests.length;
    await api.report({ task_id: "t-none", worker_id: "w-api", attempt: null, status: null });
    expect(legacy.requests.slice(before)).toEqual(["POST /v1/worker/tasks/release"]);
  });
});
