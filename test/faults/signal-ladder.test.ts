// The signal ladder of a foreground worker (README): the first SIGTERM/SIGINT stops
// claiming and gives running tasks shutdown_grace, the second releases them now, the
// third exits at once. SIGINT (Ctrl-C) counts like SIGTERM, for the server too.
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { startServerProc, startWorkerProc, waitTask } from "../helpers/cluster.ts";
import { jsonLogs, gatedAgentFixture, logsOf, startCountingProxy } from "../helpers/faults.ts";
import { OPENCODE_BIN, processesUnder } from "../helpers/opencode-env.ts";
import { waitUntil } from "../helpers/proc.ts";
import { spoolDir } from "../../src/worker/spool.ts";

setDefaultTimeout(180_000);

// Tasks never finish by themselves: only the signals end them.
const { tmp, oc } = gatedAgentFixture("ct-signals-", "ladder-task", "never reached");

const wargs = ["--opencode-bin", OPENCODE_BIN, "--log-format", "json", "--shutdown-grace", "600"];
const msgs = (p: Parameters<typeof jsonLogs>[0]) => jsonLogs(p).map((l) => l.msg);

describe("signal ladder", () => {
  test("worker, SIGINT twice: the first keeps the running task (600 s grace), the second releases it now and the worker exits 0", async () => {
    const server = await startServerProc(join(tmp.path, "s1"), { args: ["--log-format", "json"] });
    try {
      const name = "sig-int";
      const w = startWorkerProc(server.url, { name, dataDir: join(tmp.path, name), env: oc.env, args: wargs });
      await w.waitFor(/task stream connected/, 30_000);
      const task = await server.client.createTask({ codebase_id: "global", prompt: "ladder-task one", agent_type: "build", model: oc.model });
      await waitTask(server.client, task.id, (t) => t.status === "running", "running");
      await waitUntil(() => processesUnder(oc.root).length > 0, "the agent running", 30_000, 100);

      w.kill("SIGINT");
      await waitUntil(() => msgs(w).some((m) => m.startsWith("shutting down: no new tasks; 1 running task(s) get 600s")), "first signal taken");
      // Still running: the grace is the task's.
      expect(w.proc.exitCode).toBeNull();
      expect((await server.client.getTask(task.id)).status).toBe("running");
      expect(processesUnder(oc.root).length).toBeGreaterThan(0);
      expect(msgs(w)).not.toContain("second signal: releasing running tasks now");

      w.kill("SIGINT");
      expect(await w.exited).toBe(0);
      expect(msgs(w)).toContain("second signal: releasing running tasks now");
      const t = await server.client.getTask(task.id);
      expect(t).toMatchObject({ status: "pending", attempt: 1 });
      const requeued = logsOf(server.proc, "task requeued", task.id);
      expect(requeued.map((l) => l.why)).toEqual(["released without a final status"]);
      await waitUntil(() => processesUnder(oc.root).length === 0, "the agent stopped", 20_000, 100);
      expect((await server.client.monitorWorkers()).workers.find((x) => x.id === name)?.status).toBe("offline");
      await server.client.cancelTask(task.id);
    } finally {
      await server.stop();
    }
  });

  test("worker, SIGTERM three times: the third exits at once (1) while the release is still hanging; the report stays spooled", async () => {
    const server = await startServerProc(join(tmp.path, "s2"), { args: ["--log-format", "json"] });
    const proxy = startCountingProxy(server.url);
    try {
      const name = "sig-term";
      const dataDir = join(tmp.path, name);
      const w = startWorkerProc(proxy.url, { name, dataDir, env: oc.env, args: wargs });
      await w.waitFor(/task stream connected/, 30_000);
      const task = await server.client.createTask({ codebase_id: "global", prompt: "ladder-task two", agent_type: "build", model: oc.model });
      await waitTask(server.client, task.id, (t) => t.status === "running", "running");
      await waitUntil(() => processesUnder(oc.root).length > 0, "the agent running", 30_000, 100);
      // The server stops answering releases: the second signal's work cannot finish.
      const isRelease = (m: string, p: string) => m === "POST" && p === "/v1/worker/tasks/release";
      proxy.hold = isRelease;

      w.kill("SIGTERM");
      await waitUntil(() => msgs(w).some((m) => m.startsWith("shutting down")), "first signal taken");
      w.kill("SIGTERM");
      await waitUntil(() => proxy.hits.some((h) => isRelease(h.method, h.path) && h.held), "the release hanging", 30_000);
      expect(w.proc.exitCode).toBeNull();

      w.kill("SIGTERM");
      expect(await w.exited).toBe(1);
      // It did not wait for the held call to time out, and the report was not lost.
      expect(proxy.hits.filter((h) => isRelease(h.method, h.path) && h.status !== 0)).toEqual([]);
      expect(readdirSync(spoolDir(dataDir, name)).filter((f) => f.endsWith(".json"))).toHaveLength(1);
      // The exit hook stopped the agent.
      await waitUntil(() => processesUnder(oc.root).length === 0, "the agent stopped", 20_000, 100);
      expect((await server.client.getTask(task.id)).status).toBe("running"); // its lease ends it, or the spooled report on the next start
      await server.client.cancelTask(task.id);
    } finally {
      proxy.hold = null;
      await proxy.stop();
      await server.stop();
    }
  });

  test("server: SIGINT stops it cleanly (exit 0)", async () => {
    const server = await startServerProc(join(tmp.path, "s3"), { args: ["--log-format", "json"] });
    server.proc.kill("SIGINT");
    expect(await server.proc.exited).toBe(0);
    expect(logsOf(server.proc, "stopping server").map((l) => l.signal)).toEqual(["SIGINT"]);
  });
});
