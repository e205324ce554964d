// Every API call has a deadline: a server that accepts connections and never answers (an
// overloaded server, a half-open load balancer, a partition without resets) costs one
// deadline per call, then the call is retried under its policy (src/util/backoff.ts).
// At start-up the worker says it is retrying and keeps trying; mid-task a hung lease
// heartbeat or report times out and the task still completes once the server answers.
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { startServerProc, startWorkerProc, waitTask } from "../helpers/cluster.ts";
import { gatedAgentFixture, logsOf, startCountingProxy, startSilentServer } from "../helpers/faults.ts";
import { OPENCODE_BIN } from "../helpers/opencode-env.ts";
import { waitUntil } from "../helpers/proc.ts";
import { POLICIES } from "../../src/util/backoff.ts";

setDefaultTimeout(240_000);

// The task's one model turn waits for the test: the agent runs as long as the test needs.
const { tmp, model, open: openGate, oc } = gatedAgentFixture("ct-deadline-", "deadline-task", "deadline task done");

describe("a server that accepts connections and never answers", () => {
  test("at start-up the worker logs that registration timed out, keeps retrying, and still stops on SIGTERM", async () => {
    const silent = await startSilentServer();
    try {
      const w = startWorkerProc(silent.url, { name: "dl-start", dataDir: join(tmp.path, "start"), args: ["--log-format", "json"] });
      // Two attempts, each given up after its deadline (the client closed the connection).
      await waitUntil(() => silent.connections.filter((c) => c.closedAt).length >= 2, "two registration attempts timed out", 90_000, 100);
      const retries = jsonWarnings(w).filter((m) => m.startsWith("registration failed, retrying in"));
      expect(retries.length).toBeGreaterThanOrEqual(1);
      expect(retries[0]).toContain(`no answer within ${POLICIES.reconnect.timeoutMs / 1000}s`);
      const [first] = silent.connections;
      expect(first!.request).toMatch(/^POST \/v1\/opencode\/(codebases|workers\/register) HTTP/);
      // Each attempt gave up near its deadline, not at once and not never.
      expect(first!.closedAt! - first!.openedAt).toBeGreaterThanOrEqual(POLICIES.reconnect.timeoutMs - 500);
      expect(w.proc.exitCode).toBeNull();

      // SIGTERM: the unregister call on the way out has a deadline too, so the worker exits.
      w.kill("SIGTERM");
      expect(await w.exited).toBe(0);
    } finally {
      await silent.stop();
    }
  });

  test("mid-task: a hung lease heartbeat and a hung report time out and are retried; the task completes once", async () => {
    // A long lease: the held heartbeat must not cost the task its lease (that is R1's subject).
    const server = await startServerProc(join(tmp.path, "server"), { args: ["--lease-seconds", "120", "--log-format", "json"] });
    const proxy = startCountingProxy(server.url);
    try {
      const name = "dl-mid";
      const w = startWorkerProc(proxy.url, {
        name,
        dataDir: join(tmp.path, "mid"),
        env: oc.env,
        args: ["--opencode-bin", OPENCODE_BIN, "--log-format", "json"],
      });
      await w.waitFor(/task stream connected/, 30_000);
      const isBeat = (m: string, p: string) => m === "POST" && p === "/v1/worker/tasks/heartbeat";
      const isReport = (m: string, p: string) => m === "POST" && p === "/v1/worker/tasks/release";
      proxy.hold = isBeat;

      const task = await server.client.createTask({ codebase_id: "global", prompt: "deadline-task: wait", agent_type: "build", model: oc.model });
      await model.waitForChatRequests(1, 60_000); // OpenCode reached the model: the run is under way

      // The first lease heartbeat (lease/3 after the claim) gets no answer; the worker gives up on it.
      const beat = await waitUntil(() => proxy.hits.find((h) => isBeat(h.method, h.path) && h.abandonedAt), "a held lease heartbeat given up", 90_000, 100);
      expect(beat.abandonedAt! - beat.at).toBeGreaterThanOrEqual(POLICIES.lease.timeoutMs - 500);

      // Now the report hangs instead; the agent finishes.
      proxy.hold = isReport;
      openGate();
      await waitUntil(() => proxy.hits.find((h) => isReport(h.method, h.path) && h.abandonedAt), "a held report given up", 90_000, 100);
      await waitUntil(
        () => logsOf(w, `server unreachable; report for task ${task.id} spooled, retrying`).length > 0,
        "the worker says it retries the report",
        10_000,
      );
      expect((await server.client.getTask(task.id)).status).toBe("running");

      proxy.hold = null; // the server answers again
      const done = await waitTask(server.client, task.id, (t) => t.status !== "running", "task finished", 90_000);
      expect(done).toMatchObject({ status: "completed", attempt: 1, worker_id: name, result: "deadline task done" });
      const reports = proxy.hits.filter((h) => isReport(h.method, h.path));
      expect(reports.filter((h) => h.held).length).toBeGreaterThanOrEqual(1);
      expect(reports.at(-1)!.status).toBe(200); // the retry after the hold was the one accepted
      // The worker logs it once the server's answer is back, a moment after the server shows it.
      await waitUntil(() => logsOf(w, "task completed", task.id).length > 0 || null, "the worker logs the completion", 10_000);
      expect(logsOf(w, "task completed", task.id)).toHaveLength(1);
      expect(logsOf(w, "task lease lost; result dropped")).toEqual([]);
      w.kill("SIGTERM");
      expect(await w.exited).toBe(0);
    } finally {
      await proxy.stop();
      await server.stop();
    }
  });
});

/** The `msg` of every warn line a `--log-format json` process printed. */
function jsonWarnings(p: { err(): string }): string[] {
  return p
    .err()
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => {
      try {
        return JSON.parse(l);
      } catch {
        return null;
      }
    })
    .filter((l) => l?.level === "warn")
    .map((l) => String(l.msg));
}
