// Capability and model routing (issue 15) with real processes: a server and two workers, each
// behind its own counting proxy. A task requiring a capability runs only on the worker that
// advertises it, and the other worker is never woken for it (no claim of it ever answers 200
// or 409: its only claims are start-up and safety polls, which find nothing). Models come
// from each worker's real OpenCode (`opencode models`, two isolated OpenCode configs with
// different providers), and a task with a model runs only where that model is.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { opencodeModels } from "../../src/opencode/index.ts";
import { startServerProc, startWorkerProc, waitTask, type ServerProc, type WorkerProc } from "../helpers/cluster.ts";
import { startLegacyServer } from "../fixtures/legacy-server.ts";
import { startCountingProxy, type CountingProxy } from "../helpers/faults.ts";
import { createOpencodeEnv, OPENCODE_BIN, type OpencodeEnv } from "../helpers/opencode-env.ts";
import { killAll, runCli, tempDir } from "../helpers/proc.ts";

const tmp = tempDir("ct-routing-");
let server: ServerProc;
const envs: OpencodeEnv[] = [];
const proxies: CountingProxy[] = [];
let plain: WorkerProc;
let gpu: WorkerProc;
let plainProxy: CountingProxy;

/** A worker with its own OpenCode (provider `provider`, model `m1`) behind its own counting proxy. */
function worker(name: string, provider: string, capabilities: string) {
  const oc = createOpencodeEnv({ modelServerUrl: "http://127.0.0.1:9", providerId: provider, modelId: "m1" });
  envs.push(oc);
  const proxy = startCountingProxy(server.url);
  proxies.push(proxy);
  const w = startWorkerProc(proxy.url, {
    name,
    dataDir: join(tmp.path, name),
    env: oc.env,
    args: ["--capabilities", capabilities, "--opencode-bin", OPENCODE_BIN],
  });
  return { w, proxy };
}

const claimsOf = (p: CountingProxy) => p.hits.filter((h) => h.method === "POST" && h.path === "/v1/worker/tasks/claim");

beforeAll(async () => {
  server = await startServerProc(join(tmp.path, "server"));
  const a = worker("r-plain", "provplain", "build");
  const b = worker("r-gpu", "provgpu", "build,gpu");
  plain = a.w;
  plainProxy = a.proxy;
  gpu = b.w;
  await Promise.all([plain.waitFor(/worker models advertised/, 60_000), gpu.waitFor(/worker models advertised/, 60_000)]);
  await Promise.all([plain.waitFor(/task stream connected/), gpu.waitFor(/task stream connected/)]);
});
afterAll(async () => {
  await killAll();
  for (const p of proxies) await p.stop();
  for (const e of envs) e.cleanup();
  tmp.cleanup();
});

describe("routing across real workers", () => {
  test("the model probe lists the model of OpenCode's configured provider", async () => {
    const oc = createOpencodeEnv({ modelServerUrl: "http://127.0.0.1:9", providerId: "probeprov", modelId: "probemodel" });
    envs.push(oc);
    const probe = await opencodeModels(OPENCODE_BIN, oc.env);
    expect(probe.ok).toBe(true);
    if (probe.ok) expect(probe.models).toContain("probeprov/probemodel");
    const missing = await opencodeModels(join(tmp.path, "no-such-opencode"));
    expect(missing.ok).toBe(false);
  });

  test("each worker advertises its OpenCode's models and its capabilities", async () => {
    const workers = await server.client.listWorkers();
    const p = workers.find((w) => w.worker_id === "r-plain")!;
    const g = workers.find((w) => w.worker_id === "r-gpu")!;
    expect(p.models).toContain("provplain/m1");
    expect(p.models).not.toContain("provgpu/m1");
    expect(g.models).toContain("provgpu/m1");
    expect(g.capabilities).toEqual(["build", "gpu"]);
  });

  test("gpu tasks run only on the gpu worker; the plain worker is never woken for them", async () => {
    const before = claimsOf(plainProxy).length;
    // One at a time, so that a woken worker's claims could not be coalesced into one.
    for (let i = 0; i < 3; i++) {
      const t = await server.client.createTask({ codebase_id: "global", prompt: `gpu ${i}`, agent_type: "echo", required_capabilities: ["gpu"] });
      const done = await waitTask(server.client, t.id, (x) => x.status === "completed", `gpu task ${i}`);
      expect(done.worker_id).toBe("r-gpu");
    }
    const after = claimsOf(plainProxy);
    // Its safety poll (every 30 s) may fall in the window; a woken worker would claim for each task.
    expect(after.length - before).toBeLessThanOrEqual(1);
    expect(after.filter((h) => h.status === 200 || h.status === 409)).toEqual([]);
  });

  test("target_agent_name and model send a task to the one worker that fits", async () => {
    const named = await server.client.createTask({ codebase_id: "global", prompt: "for plain", agent_type: "echo", target_agent_name: "r-plain" });
    expect((await waitTask(server.client, named.id, (t) => t.status === "completed", "named task")).worker_id).toBe("r-plain");
    const m = await server.client.createTask({ codebase_id: "global", prompt: "gpu model", agent_type: "echo", model: "provgpu/m1" });
    expect((await waitTask(server.client, m.id, (t) => t.status === "completed", "model task")).worker_id).toBe("r-gpu");
    const m2 = await server.client.createTask({ codebase_id: "global", prompt: "plain model", agent_type: "echo", model: "provplain/m1" });
    expect((await waitTask(server.client, m2.id, (t) => t.status === "completed", "model task 2")).worker_id).toBe("r-plain");
  });

  test("a task no worker can take waits, and says why", async () => {
    const t = await server.client.createTask({ codebase_id: "global", prompt: "x", agent_type: "echo", model: "nowhere/m" });
    expect(t.waiting_reason).toBe("no active worker has model nowhere/m");
    await Bun.sleep(500);
    const again = await server.client.getTask(t.id);
    expect(again.status).toBe("pending");
    expect(again.waiting_reason).toBe("no active worker has model nowhere/m");
    await server.client.cancelTask(t.id);
  });
});

describe("routing from the command line", () => {
  const env = () => ({ A2A_CONFIG: undefined, A2A_SERVER_URL: server.url });

  test("task create --require (repeatable, comma list) runs on the worker that has them all", async () => {
    const r = await runCli(
      ["task", "create", "--codebase", "global", "--agent", "echo", "--prompt", "cli gpu", "--require", "gpu", "--require", "build,gpu", "--wait", "--json"],
      { env: env() },
    );
    expect({ code: r.code, stderr: r.stderr }).toMatchObject({ code: 0 });
    const t = JSON.parse(r.stdout);
    expect(t.required_capabilities).toEqual(["gpu", "build"]);
    expect(t.worker_id).toBe("r-gpu");
    expect(r.stderr).not.toContain("waits:");
  });

  test("a task nobody can take: create warns on stderr why, task show prints it", async () => {
    const r = await runCli(["task", "create", "--codebase", "global", "--agent", "echo", "--prompt", "x", "--require", "tpu"], { env: env() });
    expect(r.code).toBe(0);
    const id = r.stdout.trim();
    expect(r.stderr).toContain(`task ${id} waits: no active worker has capability tpu`);
    const show = await runCli(["task", "show", id], { env: env() });
    expect(show.stdout).toMatch(/waiting:\s+no active worker has capability tpu/);
    expect(show.stdout).toMatch(/requires:\s+tpu/);
    await server.client.cancelTask(id);
  });

  test("codetether models lists each model with the workers that have it (table and --json)", async () => {
    const j = await runCli(["models", "--json"], { env: env() });
    expect(j.code).toBe(0);
    const fleet = JSON.parse(j.stdout);
    expect(fleet.models).toContainEqual({ model: "provgpu/m1", workers: ["r-gpu"] });
    expect(fleet.models).toContainEqual({ model: "provplain/m1", workers: ["r-plain"] });
    expect(fleet.unknown).toEqual([]);
    const t = await runCli(["models"], { env: env() });
    expect(t.code).toBe(0);
    expect(t.stdout.split("\n")[0]).toMatch(/^MODEL\s+WORKERS$/);
    expect(t.stdout).toMatch(/provgpu\/m1\s+r-gpu/);
  });

  test("--require against an older server that drops the field: a warning says the task may run anywhere", async () => {
    const legacy = startLegacyServer();
    try {
      const r = await runCli(["task", "create", "--codebase", "global", "--agent", "echo", "--prompt", "x", "--require", "gpu"], {
        env: { A2A_CONFIG: undefined, A2A_SERVER_URL: legacy.url },
      });
      expect(r.code).toBe(0);
      expect(r.stderr).toContain("does not know --require (an older server)");
    } finally {
      legacy.stop();
    }
  });
});
