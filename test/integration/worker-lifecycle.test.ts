// Promises the README makes about a worker's life that only show at its edges: a spooled
// report that arrives too late is dropped, a server that forgot the worker gets it back,
// a refused token is a config error, and task_timeout applies to tasks without timeout_s.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { startModelServer } from "../fixtures/model-server.ts";
import { startServerProc, startWorkerProc, waitTask, type ServerProc } from "../helpers/cluster.ts";
import { killOrphans, logsOf, portOf } from "../helpers/faults.ts";
import { createOpencodeEnv, OPENCODE_BIN, processesUnder } from "../helpers/opencode-env.ts";
import { killAll, runCli, tempDir, waitUntil } from "../helpers/proc.ts";
import { spoolDir, writeReport } from "../../src/worker/spool.ts";

const T = 120_000;
const tmp = tempDir("ct-lifecycle-");
let server: ServerProc;
beforeAll(async () => {
  server = await startServerProc(join(tmp.path, "server"), { args: ["--log-format", "json"] });
});
afterAll(async () => {
  await killAll();
  tmp.cleanup();
});

/** Registers `id` with its global codebase, as a worker process would, without running one. */
async function registerAs(id: string) {
  await server.client.registerCodebase({ name: "global", path: process.env.HOME ?? "/root", worker_id: id });
  await server.client.registerWorker({ worker_id: id, name: id, capabilities: [], models: [], codebases: ["global"] });
}

describe("spool", () => {
  test(
    "a spooled report of an attempt that is no longer current is refused (409) and discarded, changing nothing",
    async () => {
      const id = "w-stale";
      const dataDir = join(tmp.path, id);
      await registerAs(id);
      const task = await server.client.createTask({ codebase_id: "global", prompt: "stale", agent_type: "echo", target_worker_id: id });
      expect((await server.client.claim(id, task.id))?.attempt).toBe(1);
      // Attempt 1 ended without a report reaching the server (lease ran out); attempt 2 runs now.
      await server.client.release(id, { task_id: task.id, worker_id: id, attempt: 1 });
      expect((await server.client.claim(id, task.id))?.attempt).toBe(2);
      const dir = spoolDir(dataDir, id);
      writeReport(dir, { task_id: task.id, worker_id: id, attempt: 1, status: "completed", result: "too late", created_at: new Date().toISOString() });

      const w = startWorkerProc(server.url, { name: id, dataDir, args: ["--log-format", "json"] });
      await waitUntil(() => logsOf(w, `report for task ${task.id} rejected as stale (another attempt holds the task)`).length > 0, "the stale report refused");
      await waitUntil(() => !existsSync(dir) || readdirSync(dir).length === 0, "spool emptied");
      expect(await server.client.getTask(task.id)).toMatchObject({ status: "running", attempt: 2, result: null });
      w.kill("SIGTERM");
      expect(await w.exited).toBe(0);
      // Not delivered again on the next start either.
      const again = startWorkerProc(server.url, { name: id, dataDir, args: ["--log-format", "json"] });
      await again.waitFor(/worker registered/);
      expect(logsOf(again, "delivering spooled report")).toEqual([]);
      again.kill("SIGTERM");
      expect(await again.exited).toBe(0);
    },
    T,
  );
});

describe("registration", () => {
  test(
    "a server that forgot the worker (heartbeat 404) gets it back: it registers again and takes tasks",
    async () => {
      const dir = join(tmp.path, "forgetful");
      let s = await startServerProc(join(dir, "one"), { args: ["--heartbeat-interval", "1"] });
      try {
        const w = startWorkerProc(s.url, { name: "w-404", dataDir: join(tmp.path, "w-404"), args: ["--log-format", "json"] });
        await w.waitFor(/"worker registered"/);
        // The same address, a new empty database: the worker's next heartbeat gets 404.
        const port = portOf(s.url);
        await s.stop();
        s = await startServerProc(join(dir, "two"), { port, args: ["--heartbeat-interval", "1"] });
        await waitUntil(() => logsOf(w, "server does not know this worker; registering again").length > 0, "the 404 noticed", 60_000);
        await waitUntil(async () => (await s.client.listWorkers()).some((x) => x.id === "w-404"), "registered on the new server", 30_000);
        const t = await s.client.createTask({ codebase_id: "global", prompt: "back again", agent_type: "echo", target_worker_id: "w-404" });
        expect((await waitTask(s.client, t.id, (x) => x.status === "completed", "task on the re-registered worker", 60_000)).result).toBe("back again");
        w.kill("SIGTERM");
        expect(await w.exited).toBe(0);
      } finally {
        await s.stop();
      }
    },
    T,
  );

  test(
    "a token the server refuses at registration: exit 78, one line naming the server and the setting",
    async () => {
      const s = await startServerProc(join(tmp.path, "auth"), { env: { A2A_AUTH_TOKENS: "ops:right-token" } });
      try {
        const r = await runCli(
          ["worker", "start", "--server", s.url, "--name", "w-bad-token", "--data-dir", join(tmp.path, "w-bad-token"), "--token", "wrong-token"],
          {
            env: { A2A_CONFIG: undefined },
          },
        );
        expect(r.code).toBe(78);
        const lines = r.stderr
          .trim()
          .split("\n")
          .filter((l) => l.includes("refused our token"));
        expect(lines).toHaveLength(1);
        expect(lines[0]).toContain(`server ${s.url} refused our token (403): check auth_token / A2A_AUTH_TOKEN`);
        expect(r.stderr).not.toContain("wrong-token");
        // Missing token: 401, same exit code.
        const none = await runCli(["worker", "start", "--server", s.url, "--name", "w-no-token", "--data-dir", join(tmp.path, "w-no-token")], {
          env: { A2A_CONFIG: undefined, A2A_AUTH_TOKEN: undefined },
        });
        expect(none.code).toBe(78);
        expect(none.stderr).toContain("refused our token (401)");
      } finally {
        await s.stop();
      }
    },
    T,
  );
});

describe("task_timeout", () => {
  test(
    "a task without timeout_s is stopped after the worker's task_timeout",
    async () => {
      const model = startModelServer(() => ({ type: "hang" }));
      const oc = createOpencodeEnv({ modelServerUrl: model.url });
      try {
        const w = startWorkerProc(server.url, {
          name: "w-timeout",
          dataDir: join(tmp.path, "w-timeout"),
          env: oc.env,
          args: ["--opencode-bin", OPENCODE_BIN, "--task-timeout", "3", "--log-format", "json"],
        });
        await w.waitFor(/task stream connected/, 30_000);
        const task = await server.client.createTask({
          codebase_id: "global",
          prompt: "never answered",
          agent_type: "build",
          model: oc.model,
          target_worker_id: "w-timeout",
        });
        expect(task.timeout_s ?? null).toBeNull();
        // The model never answers: only the timeout can end this run (OpenCode may not even reach the model in 3 s).
        const done = await waitTask(server.client, task.id, (t) => t.status !== "running" && t.status !== "pending", "task stopped by task_timeout", 90_000);
        expect(done.status).toBe("failed");
        expect(done.error).toMatch(/^timed out after 3s/);
        await waitUntil(() => processesUnder(oc.root).length === 0, "OpenCode stopped", 20_000, 100);
        w.kill("SIGTERM");
        expect(await w.exited).toBe(0);
      } finally {
        killOrphans(oc.root);
        await model.stop();
        oc.cleanup();
      }
    },
    T,
  );
});
