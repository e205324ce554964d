// The worker's side of fencing: a worker that was frozen past its lease (a VM pause, a GC
// stall, SIGSTOP) comes back to find its task taken over by another worker. Its next lease
// heartbeat gets 409; it must stop its agent and drop the result, sending no report.
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { startServerProc, startWorkerProc, waitTask } from "../helpers/cluster.ts";
import { gatedAgentFixture, logsOf, startCountingProxy } from "../helpers/faults.ts";
import { OPENCODE_BIN, processesUnder } from "../helpers/opencode-env.ts";
import { waitUntil } from "../helpers/proc.ts";
import { createApi, registerWorker } from "../helpers/server.ts";

setDefaultTimeout(240_000);

// Worker A's agent waits in its model call until the test lets it finish: had A not been
// stopped, it would then report this text.
const { tmp, model, open: openGate, oc } = gatedAgentFixture("ct-lease-lost-", "lease-lost-task", "result of the stale attempt");

describe("worker side of fencing", () => {
  test("a heartbeat answered 409 (task taken over) stops the agent's processes and drops the result: no report is sent", async () => {
    const server = await startServerProc(join(tmp.path, "server"), { args: ["--lease-seconds", "10", "--heartbeat-interval", "1", "--log-format", "json"] });
    const proxy = startCountingProxy(server.url); // what worker A sends
    try {
      const a = startWorkerProc(proxy.url, {
        name: "ll-a",
        dataDir: join(tmp.path, "a"),
        env: oc.env,
        args: ["--opencode-bin", OPENCODE_BIN, "--log-format", "json"],
      });
      await a.waitFor(/task stream connected/, 30_000);
      const task = await server.client.createTask({ codebase_id: "global", prompt: "lease-lost-task: think", agent_type: "build", model: oc.model });
      await waitTask(server.client, task.id, (t) => t.status === "running" && t.worker_id === "ll-a", "running on A");
      await model.waitForChatRequests(1, 60_000); // A's OpenCode is in its model call
      expect(processesUnder(oc.root).length).toBeGreaterThan(0);

      // Freeze A past its lease; the server hands the task to B (attempt 2).
      a.kill("SIGSTOP");
      await waitTask(server.client, task.id, (t) => t.status === "pending", "lease expired while A was frozen", 60_000);
      const api = createApi(server.url);
      const b = await registerWorker(api, "ll-b");
      const claim = await api.post("/v1/worker/tasks/claim", { task_id: task.id }, b.headers);
      expect(claim.status).toBe(200);
      expect(claim.body.attempt).toBe(2);
      const resumedAt = Date.now();
      a.kill("SIGCONT");

      await waitUntil(() => logsOf(a, "task lease lost; result dropped", task.id).length > 0, "A noticed its lease was lost", 30_000);
      const beats = proxy.hits.filter((h) => h.path === "/v1/worker/tasks/heartbeat" && h.at >= resumedAt);
      expect(beats.some((h) => h.status === 409)).toBe(true);
      // The agent's whole process tree is gone.
      await waitUntil(() => processesUnder(oc.root).length === 0, "A's OpenCode processes gone", 30_000, 100);

      // The runner logs "lease lost" only after it decided not to report: nothing was sent.
      openGate();
      expect(proxy.hits.filter((h) => h.path === "/v1/worker/tasks/release" || h.path === `/v1/opencode/tasks/${task.id}/status`)).toEqual([]);
      expect(logsOf(a, "task completed", task.id)).toEqual([]);
      expect(a.proc.exitCode).toBeNull();

      // The task is B's: B's result is the one accepted.
      expect(await server.client.getTask(task.id)).toMatchObject({ status: "running", attempt: 2, worker_id: b.id });
      const rel = await api.post("/v1/worker/tasks/release", { task_id: task.id, attempt: 2, status: "completed", result: "B's result" }, b.headers);
      expect(rel.status).toBe(200);
      expect(await server.client.getTask(task.id)).toMatchObject({ status: "completed", attempt: 2, worker_id: b.id, result: "B's result" });
      a.kill("SIGTERM");
      expect(await a.exited).toBe(0);
    } finally {
      await proxy.stop();
      await server.stop();
    }
  });
});
