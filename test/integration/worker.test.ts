// The worker as a real process against a real server process: dispatch, affinity,
// identity lock, config errors, spool delivery after restart, graceful shutdown.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync, existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { codebaseId, startServerProc, startWorkerProc, waitTask, type ServerProc } from "../helpers/cluster.ts";
import { killAll, runCli, tempDir, waitUntil } from "../helpers/proc.ts";
import { spoolDir, writeReport } from "../../src/worker/spool.ts";

const tmp = tempDir("ct-worker-");
let server: ServerProc;

beforeAll(async () => {
  server = await startServerProc(join(tmp.path, "server"));
});
afterAll(async () => {
  await killAll();
  tmp.cleanup();
});

describe("worker start", () => {
  test("runs echo and noop tasks pushed to it, with output and result", async () => {
    const w = startWorkerProc(server.url, { name: "w-echo", dataDir: join(tmp.path, "w-echo") });
    await w.waitFor(/task stream connected/);
    const echo = await server.client.createTask({ codebase_id: "global", prompt: "hello from the test", agent_type: "echo", target_worker_id: "w-echo" });
    const done = await waitTask(server.client, echo.id, (t) => t.status === "completed", "echo completed");
    expect(done.result).toBe("hello from the test");
    expect(done.worker_id).toBe("w-echo");
    expect(done.attempt).toBe(1);
    const out = await server.client.getOutput(echo.id);
    expect(out.outputs.map((o) => o.line)).toEqual(["hello from the test"]);

    const noop = await server.client.createTask({ codebase_id: null, prompt: "x", agent_type: "noop", target_worker_id: "w-echo" });
    expect((await waitTask(server.client, noop.id, (t) => t.status === "completed", "noop completed")).result).toBe("");
    w.kill("SIGTERM");
    expect(await w.exited).toBe(0);
  });

  test("a second worker with the same id on this host exits 1 naming the running pid", async () => {
    const dataDir = join(tmp.path, "w-dup");
    const first = startWorkerProc(server.url, { name: "w-dup", dataDir });
    await first.waitFor(/worker registered/);
    const second = await runCli(["worker", "start", "--server", server.url, "--name", "w-dup", "--data-dir", dataDir], { env: { A2A_CONFIG: undefined } });
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`worker 'w-dup' is already running (pid ${first.proc.pid})`);
    first.kill("SIGTERM");
    expect(await first.exited).toBe(0);
  });

  test("a restart right after SIGKILL takes the lock over at once", async () => {
    const dataDir = join(tmp.path, "w-killed");
    const a = startWorkerProc(server.url, { name: "w-killed", dataDir });
    await a.waitFor(/worker registered/);
    a.kill("SIGKILL");
    await a.exited;
    const b = startWorkerProc(server.url, { name: "w-killed", dataDir });
    await b.waitFor(/worker registered/);
    b.kill("SIGTERM");
    expect(await b.exited).toBe(0);
  });

  test("codebase path problems are config errors (exit 78, one line)", async () => {
    const file = join(tmp.path, "a-file");
    writeFileSync(file, "x");
    for (const [spec, msg] of [
      [`nope:${join(tmp.path, "missing")}`, "does not exist"],
      [`file:${file}`, "is not a directory"],
    ] as const) {
      const r = await runCli(["worker", "start", "--server", server.url, "--name", "w-bad", "--data-dir", join(tmp.path, "w-bad"), "--codebase", spec], {
        env: { A2A_CONFIG: undefined },
      });
      expect(r.code).toBe(78);
      expect(r.stderr).toContain(msg);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
    }
    const outside = join(tmp.path, "outside");
    mkdirSync(outside, { recursive: true });
    const r = await runCli(
      [
        "worker",
        "start",
        "--server",
        server.url,
        "--name",
        "w-bad",
        "--data-dir",
        join(tmp.path, "w-bad"),
        "--codebase",
        `o:${outside}`,
        "--allowed-path",
        join(tmp.path, "allowed"),
      ],
      { env: { A2A_CONFIG: undefined } },
    );
    expect(r.code).toBe(78);
    expect(r.stderr).toContain("outside allowed_paths");
  });

  test("affinity: a task for a codebase runs only on the worker that registered it", async () => {
    const repoA = join(tmp.path, "repo-a");
    const repoB = join(tmp.path, "repo-b");
    mkdirSync(repoA, { recursive: true });
    mkdirSync(repoB, { recursive: true });
    const a = startWorkerProc(server.url, { name: "w-a", dataDir: join(tmp.path, "w-a"), codebases: [`a:${repoA}`] });
    const b = startWorkerProc(server.url, { name: "w-b", dataDir: join(tmp.path, "w-b"), codebases: [`b:${repoB}`] });
    await Promise.all([a.waitFor(/task stream connected/), b.waitFor(/task stream connected/)]);
    const cbA = await codebaseId(server.client, "w-a", "a");
    const cbB = await codebaseId(server.client, "w-b", "b");
    const ids: [string, string][] = [];
    for (let i = 0; i < 6; i++) {
      const cb = i % 2 ? cbA : cbB;
      const t = await server.client.createTask({ codebase_id: cb, prompt: `p${i}`, agent_type: "echo" });
      ids.push([t.id, cb === cbA ? "w-a" : "w-b"]);
    }
    for (const [id, owner] of ids) {
      const t = await waitTask(server.client, id, (t) => t.status === "completed", `task ${id}`);
      expect(t.worker_id).toBe(owner);
    }
    a.kill("SIGTERM");
    b.kill("SIGTERM");
    expect(await a.exited).toBe(0);
    expect(await b.exited).toBe(0);
  });

  test("--once takes one task and exits 0 when it completed", async () => {
    const t = await server.client.createTask({ codebase_id: "global", prompt: "once", agent_type: "echo", target_worker_id: "w-once" });
    const w = startWorkerProc(server.url, { name: "w-once", dataDir: join(tmp.path, "w-once"), args: ["--once"] });
    expect(await w.exited).toBe(0);
    expect((await server.client.getTask(t.id)).status).toBe("completed");
  });

  test("SIGTERM unregisters the worker (offline on the server)", async () => {
    const w = startWorkerProc(server.url, { name: "w-term", dataDir: join(tmp.path, "w-term") });
    await w.waitFor(/worker registered/);
    w.kill("SIGTERM");
    expect(await w.exited).toBe(0);
    const mon = await server.client.monitorWorkers();
    expect(mon.workers.find((x) => x.id === "w-term")?.status).toBe("offline");
  });

  test("a report spooled by a worker that died before delivering it is delivered once on restart", async () => {
    // The dead worker: registered, claimed the task, finished it, spooled the report, died.
    const dataDir = join(tmp.path, "w-spool");
    await server.client.registerWorker({ worker_id: "w-spool", name: "w-spool", capabilities: [], models: [], codebases: ["global"] });
    await server.client.registerCodebase({ name: "global", path: process.env.HOME ?? "/root", worker_id: "w-spool" });
    await server.client.registerWorker({ worker_id: "w-spool", name: "w-spool", capabilities: [], models: [], codebases: ["global"] });
    const task = await server.client.createTask({ codebase_id: "global", prompt: "spooled", agent_type: "echo", target_worker_id: "w-spool" });
    const claim = await server.client.claim("w-spool", task.id);
    expect(claim?.attempt).toBe(1);
    const dir = spoolDir(dataDir, "w-spool");
    writeReport(dir, {
      task_id: task.id,
      worker_id: "w-spool",
      attempt: 1,
      status: "completed",
      result: "from the spool",
      created_at: new Date().toISOString(),
    });

    const w = startWorkerProc(server.url, { name: "w-spool", dataDir });
    const t = await waitTask(server.client, task.id, (t) => t.status === "completed", "spooled report delivered");
    expect(t.result).toBe("from the spool");
    expect(t.attempt).toBe(1);
    await waitUntil(() => !existsSync(dir) || readdirSync(dir).length === 0, "spool emptied");
    w.kill("SIGTERM");
    expect(await w.exited).toBe(0);
  });
});

describe("codebases registered for a running worker", () => {
  test("a codebase registered with --worker-id after the worker started is used by it", async () => {
    const repo = join(tmp.path, "late-repo");
    mkdirSync(repo, { recursive: true });
    // A fake opencode that proves the task ran in the codebase directory.
    const bin = join(tmp.path, "fake-opencode");
    writeFileSync(bin, `#!/bin/sh\necho '{"type":"text","sessionID":"ses_late","part":{"type":"text","text":"cwd='"$(pwd)"'"}}'\n`);
    (await import("node:fs")).chmodSync(bin, 0o755);
    const w = startWorkerProc(server.url, { name: "w-late", dataDir: join(tmp.path, "w-late"), args: ["--opencode-bin", bin] });
    await w.waitFor(/task stream connected/);
    const reg = await server.client.registerCodebase({ name: "late", path: repo, worker_id: "w-late" });
    const id = "codebase" in reg ? reg.codebase.id : "";
    const t = await server.client.createTask({ codebase_id: id, prompt: "where am I", agent_type: "build" });
    const done = await waitTask(server.client, t.id, (x) => x.status !== "pending" && x.status !== "running", "task finished");
    expect(done.error).toBeNull();
    expect(done.result).toBe(`cwd=${(await import("node:fs")).realpathSync(repo)}`);
    w.kill("SIGTERM");
    expect(await w.exited).toBe(0);
  });
});

describe("registration by path", () => {
  test("a register_codebase task goes only to a worker allowed to serve the path (--allowed-path excludes the other); a path nobody has stays pending", async () => {
    const repo = join(tmp.path, "by-path-repo");
    mkdirSync(repo, { recursive: true });
    // Both workers run on this machine, so the path exists for both: w-lacks is the worker
    // that "lacks" it because its --allowed-path excludes it, which is the same check.
    const has = startWorkerProc(server.url, { name: "w-has", dataDir: join(tmp.path, "w-has") });
    const lacks = startWorkerProc(server.url, { name: "w-lacks", dataDir: join(tmp.path, "w-lacks"), args: ["--allowed-path", join(tmp.path, "nowhere")] });
    await Promise.all([has.waitFor(/task stream connected/), lacks.waitFor(/task stream connected/)]);
    const missing = join(tmp.path, "no-such-dir");
    const r1 = await server.client.registerCodebase({ name: "ghost", path: missing });
    const r2 = await server.client.registerCodebase({ name: "real", path: repo });
    if (!("pending" in r1) || !("pending" in r2)) throw new Error("expected pending registrations");
    const t = await waitTask(server.client, r2.task_id, (x) => x.status === "completed", "registration completed");
    // w-lacks refuses paths outside its allowed_paths, so the one that registered it must be w-has, first try.
    expect(t.worker_id).toBe("w-has");
    expect(t.attempt).toBe(1);
    const cb = await server.client.getCodebase(t.result!);
    expect(cb.worker_id).toBe("w-has");
    // Nobody has the ghost path: both declined it, nobody claimed it, no attempts were burnt.
    const ghost = await waitTask(server.client, r1.task_id, (x) => ((x.metadata as any).declined ?? []).length >= 2, "both workers declined");
    expect(((ghost.metadata as any).declined as { worker_id: string }[]).map((d) => d.worker_id).sort()).toEqual(["w-has", "w-lacks"]);
    expect(ghost.attempt).toBe(0);
    expect(ghost.worker_id).toBeNull();
    has.kill("SIGTERM");
    lacks.kill("SIGTERM");
    await Promise.all([has.exited, lacks.exited]);
  });
});
