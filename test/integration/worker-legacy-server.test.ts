// Our worker against a server that has only the legacy routes (PROTOCOL.md
// "Compatibility duties"): it polls, claims by id, reports with PUT status + bare release.
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { startLegacyServer } from "../fixtures/legacy-server.ts";
import { startWorkerProc } from "../helpers/cluster.ts";
import { killAll, tempDir, waitUntil } from "../helpers/proc.ts";

const tmp = tempDir("ct-legacy-");
const legacy = startLegacyServer();
afterAll(async () => {
  await killAll();
  legacy.stop();
  tmp.cleanup();
});

test("the worker runs tasks end to end on a legacy-only server", async () => {
  const w = startWorkerProc(legacy.url, { name: "w-legacy", dataDir: join(tmp.path, "w") });
  await w.waitFor(/worker registered/);
  const a = legacy.addTask({ prompt: "first legacy task", agent_type: "echo" });
  const b = legacy.addTask({ prompt: "second", agent_type: "noop", codebase_id: null });
  await waitUntil(() => a.status === "completed" && b.status === "completed", "both tasks completed");
  expect(a.result).toBe("first legacy task");
  expect(a.worker_id).toBe("w-legacy");
  expect(legacy.output.get(a.id)).toEqual(["first legacy task"]); // one line per request, legacy shape
  // It polled (list pending, claim by id) and reported the legacy way.
  expect(legacy.requests).toContain("GET /v1/opencode/tasks");
  // PUT status twice: running, then the final state; no lease to renew, no batches.
  expect(legacy.requests.filter((r) => r === `PUT /v1/opencode/tasks/${a.id}/status`).length).toBe(2);
  expect(legacy.requests).not.toContain("POST /v1/worker/tasks/heartbeat");
  expect(legacy.requests).toContain("POST /v1/worker/tasks/release");
  expect(legacy.requests.filter((r) => r === "POST /v1/worker/tasks/claim").length).toBeGreaterThanOrEqual(2);
  w.kill("SIGTERM");
  expect(await w.exited).toBe(0);
});
