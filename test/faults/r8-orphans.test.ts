// R8: a worker that dies leaves no agent running. The agent here is a stand-in for
// OpenCode (a shell script as opencode_bin) that does what OpenCode's bash tool does:
// starts a command in a session of its own, which no process-group kill reaches.
// Everything is a real process; each check is by pid and start time.
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { reapAgents } from "../../src/opencode/index.ts";
import { startTime } from "../../src/opencode/proctree.ts";
import { codebaseId, startServerProc, startWorkerProc, type ServerProc } from "../helpers/cluster.ts";
import { killAll, tempDir, waitUntil } from "../helpers/proc.ts";

setDefaultTimeout(180_000);
const linux = process.platform === "linux";

const tmp = tempDir("ct-r8-");
const fakeAgent = join(tmp.path, "bin", "fake-opencode");
const started: { pid: number; start: string }[] = [];

/** A pid still running as the process we saw (not gone, not a zombie, not reused). */
function running(p: { pid: number; start: string }): boolean {
  try {
    const stat = readFileSync(`/proc/${p.pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return f[0] !== "Z" && f[19] === p.start;
  } catch {
    return false;
  }
}

/** Agent and tool-child pids the fake agent wrote into its codebase. */
async function agentPids(repo: string) {
  const file = join(repo, "agent.pids");
  await waitUntil(() => existsSync(file) && readFileSync(file, "utf8").endsWith("\n"), "the agent started its child", 60_000, 100);
  const [agent, child] = readFileSync(file, "utf8").trim().split(" ").map(Number);
  const procs = [agent!, child!].map((pid) => ({ pid, start: startTime(pid)! }));
  started.push(...procs);
  return procs;
}

/** The worker's watchdog: `sh -c <script> codetether-watchdog <dataDir>/agents/<id>`. */
function watchdogOf(dataDir: string): number | null {
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const argv = readFileSync(`/proc/${d}/cmdline`, "utf8").split("\0");
      if (argv.includes("codetether-watchdog") && argv.some((a) => a.startsWith(join(dataDir, "agents")))) return Number(d);
    } catch {}
  }
  return null;
}

let server: ServerProc | undefined;

afterAll(async () => {
  await killAll();
  for (const p of started) if (running(p)) process.kill(p.pid, "SIGKILL");
  tmp.cleanup();
});

async function setup(name: string) {
  if (!server) {
    mkdirSync(join(tmp.path, "bin"), { recursive: true });
    // `db path` is the worker's start-up probe; `run` is a task: a tool child in its own session, then wait.
    writeFileSync(fakeAgent, '#!/bin/sh\n[ "$1" = run ] || exit 0\nsetsid sleep 1000 &\necho "$$ $!" > agent.pids\nwait\n');
    chmodSync(fakeAgent, 0o755);
    server = await startServerProc(join(tmp.path, "server"));
  }
  const repo = join(tmp.path, name, "repo");
  const dataDir = join(tmp.path, name, "data");
  mkdirSync(repo, { recursive: true });
  const start = () => startWorkerProc(server!.url, { name, dataDir, codebases: [`repo:${repo}`], args: ["--opencode-bin", fakeAgent] });
  const worker = start();
  await worker.waitFor(/worker registered/, 60_000);
  const id = await codebaseId(server.client, name, "repo");
  await server.client.createTask({ codebase_id: id, prompt: "work", agent_type: "build" });
  return { repo, dataDir, worker, start };
}

describe.skipIf(!linux)("R8 no orphaned agents (Linux: /proc start times)", () => {
  test("a worker SIGKILLed mid-task takes its agent and the agent's setsid'd child with it", async () => {
    const { repo, worker } = await setup("r8-dies");
    const procs = await agentPids(repo);
    expect(procs.every(running)).toBe(true);
    worker.kill("SIGKILL");
    await worker.exited;
    const gone = await waitUntil(() => (procs.some(running) ? null : true), "agent and child gone", 30_000, 100).catch(() => false);
    expect(procs.filter(running)).toEqual([]);
    expect(gone).toBe(true);
  });

  test("a restarted worker stops what its dead predecessor left running, before it claims anything", async () => {
    const { repo, dataDir, worker, start } = await setup("r8-restart");
    const procs = await agentPids(repo);
    // The watchdog dies too (as in an OOM kill of the whole service): only the restart can clean up.
    const dog = watchdogOf(dataDir);
    expect(dog).not.toBeNull();
    process.kill(dog!, "SIGKILL");
    worker.kill("SIGKILL");
    await worker.exited;
    expect(procs.every(running)).toBe(true); // nothing else stops them

    const again = start();
    await again.waitFor(/worker registered/, 60_000);
    const log = again.err() + again.out();
    const reaped = log.match(/stopped (\d+) agent process\(es\) a previous run of this worker left running/);
    expect(reaped).not.toBeNull();
    expect(Number(reaped![1])).toBeGreaterThanOrEqual(2);
    expect(log.indexOf(reaped![0])).toBeLessThan(log.indexOf("worker registered"));
    await waitUntil(() => (procs.some(running) ? null : true), "agent and child gone", 30_000, 100).catch(() => false);
    expect(procs.filter(running)).toEqual([]);
  });

  test("a recorded pid whose start time differs (a reused pid) is never signalled", async () => {
    const dir = join(tmp.path, "records");
    mkdirSync(dir, { recursive: true });
    const bystander = Bun.spawn(["sleep", "1000"]);
    const me = { pid: bystander.pid, start: startTime(bystander.pid)! };
    started.push(me);
    writeFileSync(join(dir, `${me.pid}.pids`), `${me.pid} ${Number(me.start) + 1}\n`);
    expect(reapAgents(dir)).toEqual([]);
    expect(running(me)).toBe(true);
    expect(readdirSync(dir)).toEqual([]); // the stale record is dropped

    writeFileSync(join(dir, `${me.pid}.pids`), `${me.pid} ${me.start}\n`);
    expect(reapAgents(dir)).toEqual([me.pid]);
    expect(await bystander.exited).not.toBe(0);
    expect(running(me)).toBe(false);
  });
});
