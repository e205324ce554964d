// The operator commands as people and scripts run them: real `codetether` processes
// against a real server process and real workers (agent `echo`, no model needed).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PROVIDER_ENV_KEYS } from "../../src/opencode/index.ts";
import { Task } from "../../src/protocol/index.ts";
import { codebaseId, startServerProc, startWorkerProc, type ServerProc, type WorkerProc } from "../helpers/cluster.ts";
import { BUN, CLI, killAll, ROOT, runCli, spawnCli, tempDir, waitUntil } from "../helpers/proc.ts";
import { missingTools, testUnless } from "../helpers/skip.ts";

const T = 120_000; // per-test budget: the machine is shared, nothing here is a timing assertion
const tmp = tempDir("ct-operator-");
const home = join(tmp.path, "home");
const repo = join(tmp.path, "repo");
const failingOpencode = join(tmp.path, "bin", "opencode-fails");
let server: ServerProc;
let worker: WorkerProc;

/** Env of every CLI call: our server, a temp HOME, no config file or provider keys from the machine. */
function env(extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  const noKeys = Object.fromEntries(PROVIDER_ENV_KEYS.map((k) => [k, undefined]));
  return {
    ...noKeys,
    A2A_CONFIG: undefined,
    A2A_AUTH_TOKEN: undefined,
    HOME: home,
    XDG_CONFIG_HOME: undefined,
    XDG_DATA_HOME: undefined,
    XDG_STATE_HOME: undefined,
    OPENCODE_CONFIG: undefined,
    OPENCODE_CONFIG_CONTENT: undefined,
    A2A_SERVER_URL: server?.url,
    ...extra,
  };
}
const ct = (args: string[], o: { env?: Record<string, string | undefined>; cwd?: string; timeoutMs?: number } = {}) =>
  runCli(args, { cwd: o.cwd ?? tmp.path, env: env(o.env), timeoutMs: o.timeoutMs ?? 60_000 });
const json = (s: string) => JSON.parse(s);
const oneLine = (stderr: string) =>
  stderr
    .trim()
    .split("\n")
    .filter((l) => l.trim());
const TASK_KEYS = Object.keys(Task.shape).sort();

beforeAll(async () => {
  mkdirSync(home, { recursive: true });
  mkdirSync(repo, { recursive: true });
  mkdirSync(join(tmp.path, "bin"), { recursive: true });
  // An "OpenCode" that always fails, so a build task fails fast and for real.
  writeFileSync(failingOpencode, "#!/bin/sh\necho 'opencode: model exploded' >&2\nexit 1\n");
  chmodSync(failingOpencode, 0o755);
  server = await startServerProc(join(tmp.path, "server"));
  worker = startWorkerProc(server.url, {
    name: "w-op",
    dataDir: join(tmp.path, "w-op"),
    codebases: [`demo:${repo}`],
    env: { HOME: home, A2A_OPENCODE_BIN: failingOpencode },
  });
  await worker.waitFor(/worker registered/, 60_000);
}, T);

afterAll(async () => {
  await killAll();
  tmp.cleanup();
});

describe("worker status", () => {
  const args = ["worker", "status", "--name", "w-op", "--data-dir", join(tmp.path, "w-op")];

  test(
    "a running worker: exit 0, local and server view, human and --json",
    async () => {
      const r = await waitUntil(
        async () => {
          const x = await ct([...args, "--json"]);
          return x.code === 0 ? x : null;
        },
        "worker status exit 0",
        60_000,
        500,
      );
      const s = json(r.stdout);
      expect(Object.keys(s).sort()).toEqual(["healthy", "local", "running", "server", "worker_id"]);
      expect(s).toMatchObject({ worker_id: "w-op", running: true, healthy: true });
      expect(s.local.pid).toBe(worker.proc.pid);
      expect(s.local.uptime_s).toBeGreaterThanOrEqual(0);
      expect(s.local.running_tasks).toEqual([]);
      // codebases: demo and the worker's global (home directory)
      expect(s.server).toMatchObject({ url: server.url, reachable: true, registered: true, status: "active", codebases: 2 });
      expect(s.server.last_heartbeat).toBeString();

      const h = await ct(args);
      expect(h.code).toBe(0);
      expect(h.stdout).toContain("worker w-op");
      expect(h.stdout).toMatch(/local:\s+running/);
      expect(h.stdout).toMatch(new RegExp(`pid:\\s+${worker.proc.pid}`));
      expect(h.stdout).toMatch(/status:\s+active/);
      expect(h.stdout).not.toContain("\x1b["); // not a TTY: no colour

      const l = await ct([...args, "--local", "--json"]);
      expect(l.code).toBe(0);
      expect(json(l.stdout)).toMatchObject({ running: true, healthy: true, server: null });
    },
    T,
  );

  test(
    "no worker here: exit 3 (with and without --local), one error line",
    async () => {
      const none = ["worker", "status", "--name", "w-none", "--data-dir", join(tmp.path, "w-none")];
      const h = await ct(none);
      expect(h.code).toBe(3);
      expect(h.stdout).toMatch(/local:\s+not running/);
      expect(oneLine(h.stderr)).toHaveLength(1);
      expect(h.stderr).toContain("worker 'w-none' is not running on this machine");
      const j = await ct([...none, "--json"]);
      expect(j.code).toBe(3);
      expect(json(j.stdout)).toMatchObject({ worker_id: "w-none", running: false, healthy: false, local: null, server: { registered: false } });
      expect((await ct([...none, "--local"])).code).toBe(3);
    },
    T,
  );
});

describe("codebase", () => {
  test(
    "register with --worker-id: relative path made absolute and checked here, id printed, listed",
    async () => {
      mkdirSync(join(tmp.path, "repo2"));
      const r = await ct(["codebase", "register", "second", "repo2", "--worker-id", "w-op", "--description", "second repo"]);
      expect(r.code).toBe(0);
      const id = r.stdout.trim();
      expect(id).toMatch(/^\S+$/);
      const j = await ct(["codebase", "register", "second", "repo2", "--worker-id", "w-op", "--json"]);
      expect(j.code).toBe(0);
      const reg = json(j.stdout);
      expect(Object.keys(reg).sort()).toEqual(["description", "id", "name", "path", "path_checked", "pending", "task_id", "worker_id"]);
      expect(reg).toMatchObject({ pending: false, id, task_id: null, name: "second", path: join(tmp.path, "repo2"), worker_id: "w-op", path_checked: true });

      const list = json((await ct(["codebase", "list", "--json"])).stdout);
      const row = list.codebases.find((c: { id: string }) => c.id === id);
      expect(Object.keys(row).sort()).toEqual(["description", "id", "isolation", "name", "path", "registered_at", "status", "worker_id"]);
      expect(row).toMatchObject({ name: "second", path: join(tmp.path, "repo2"), worker_id: "w-op", isolation: "shared" });
      const human = await ct(["codebase", "list"]);
      expect(human.code).toBe(0);
      expect(human.stdout.split("\n")[0]).toMatch(/^ID\s+NAME\s+WORKER\s+STATUS\s+ISOLATION\s+PATH$/);
      expect(human.stdout).toContain(id);
    },
    T,
  );

  test(
    "register with --worker-id of this machine and a missing path: exit 2, one line",
    async () => {
      const r = await ct(["codebase", "register", "ghost", join(tmp.path, "nope"), "--worker-id", "w-op"]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`path ${join(tmp.path, "nope")} does not exist on this machine`);
      expect(oneLine(r.stderr)).toHaveLength(1);
    },
    T,
  );

  test(
    "register for a worker the server does not know: says the path was not checked",
    async () => {
      const r = await ct(["codebase", "register", "elsewhere", "/srv/not-here", "--worker-id", "w-remote", "--json"]);
      expect(r.code).toBe(0);
      expect(r.stderr).toContain("cannot tell whether worker 'w-remote' runs on this machine");
      expect(json(r.stdout)).toMatchObject({ pending: false, worker_id: "w-remote", path: "/srv/not-here", path_checked: false });
    },
    T,
  );

  test(
    "register by path: pending task id; --wait gives the id the worker registered",
    async () => {
      mkdirSync(join(tmp.path, "repo3"));
      const p = await ct(["codebase", "register", "third", join(tmp.path, "repo3")]);
      expect(p.code).toBe(0);
      const taskId = p.stdout.trim();
      expect(p.stderr).toContain(`registration pending: task ${taskId}`);
      const t = await server.client.getTask(taskId);
      expect(t.agent_type).toBe("register_codebase");

      const w = await ct(["codebase", "register", "third", join(tmp.path, "repo3"), "--wait", "--json"]);
      expect(w.code).toBe(0);
      const reg = json(w.stdout);
      expect(reg).toMatchObject({ pending: false, name: "third", worker_id: "w-op" });
      expect(reg.task_id).toBeString();
      expect(reg.id).toBe(await codebaseId(server.client, "w-op", "third"));
    },
    T,
  );
});

describe("task", () => {
  test(
    "create --wait (echo): output live, exit 0; --json prints the final task with fixed keys",
    async () => {
      const h = await ct(["task", "create", "--codebase", "demo", "--agent", "echo", "--prompt", "hello operator", "--wait"]);
      expect(h.code).toBe(0);
      expect(h.stdout.trim()).toBe("hello operator");
      expect(h.stderr).toMatch(/task \S+ completed in/);

      const j = await ct([
        "task",
        "create",
        "--codebase",
        "demo",
        "--agent",
        "echo",
        "--prompt",
        "hello json",
        "--title",
        "t1",
        "--priority",
        "5",
        "--wait",
        "--json",
      ]);
      expect(j.code).toBe(0);
      const t = json(j.stdout);
      expect(Object.keys(t).sort()).toEqual(TASK_KEYS);
      expect(t).toMatchObject({ status: "completed", result: "hello json", title: "t1", priority: 5, worker_id: "w-op", agent_type: "echo" });
      expect(t.codebase_id).toBe(await codebaseId(server.client, "w-op", "demo"));
    },
    T,
  );

  test(
    "create without --wait prints the id; --json the task; global is accepted",
    async () => {
      const r = await ct(["task", "create", "--codebase", "global", "--agent", "echo", "--prompt", "g", "--target-worker", "w-op", "--max-attempts", "2"]);
      expect(r.code).toBe(0);
      const id = r.stdout.trim();
      const t = await server.client.getTask(id);
      expect(t).toMatchObject({ codebase_id: "global", target_worker_id: "w-op", max_attempts: 2 });
      const j = await ct(["task", "create", "--codebase", "global", "--agent", "noop", "--prompt", "g2", "--json", "--timeout", "30"]);
      expect(j.code).toBe(0);
      expect(json(j.stdout)).toMatchObject({ prompt: "g2", timeout_s: 30, agent_type: "noop" });
    },
    T,
  );

  test(
    "create --wait of a failing task: exit 1 with the error; --json still prints the task",
    async () => {
      const h = await ct(["task", "create", "--codebase", "demo", "--prompt", "fail please", "--max-attempts", "1", "--wait"]);
      expect(h.code).toBe(1);
      expect(oneLine(h.stderr).at(-1)).toMatch(/task \S+ failed/);
      const j = await ct(["task", "create", "--codebase", "demo", "--prompt", "fail again", "--max-attempts", "1", "--wait", "--json"]);
      expect(j.code).toBe(1);
      expect(json(j.stdout).status).toBe("failed");
    },
    T,
  );

  test(
    "create --wait of a task cancelled meanwhile: exit 130",
    async () => {
      const p = spawnCli(["task", "create", "--codebase", "global", "--agent", "echo", "--prompt", "never", "--target-worker", "w-nobody", "--wait"], {
        env: env(),
        cwd: tmp.path,
      });
      const m = await p.waitFor(/task (\S+) created/, 60_000);
      const c = await ct(["task", "cancel", m[1]!]);
      expect(c.code).toBe(0);
      expect(c.stdout).toContain(`task ${m[1]} cancelled`);
      expect(await p.exited).toBe(130);
      expect(p.err()).toContain(`task ${m[1]} was cancelled`);
    },
    T,
  );

  test(
    "cancel --json; cancelling a final task fails with exit 1",
    async () => {
      const id = (await ct(["task", "create", "--codebase", "global", "--agent", "echo", "--prompt", "x", "--target-worker", "w-nobody"])).stdout.trim();
      const c = await ct(["task", "cancel", id, "--json"]);
      expect(c.code).toBe(0);
      expect(json(c.stdout)).toEqual({ id, status: "cancelled", cancel_requested: expect.any(Boolean), worker_id: null });
      const again = await ct(["task", "cancel", id]);
      expect(again.code).toBe(1);
      expect(oneLine(again.stderr)).toHaveLength(1);
    },
    T,
  );

  test(
    "bad input: ambiguous name lists the ids (exit 2), unknown codebase exit 1, bad numbers exit 2",
    async () => {
      mkdirSync(join(tmp.path, "dupA"));
      const a = (await ct(["codebase", "register", "dup", join(tmp.path, "dupA"), "--worker-id", "w-op"])).stdout.trim();
      const b = (await ct(["codebase", "register", "dup", "/srv/dupB", "--worker-id", "w-remote"])).stdout.trim();
      const amb = await ct(["task", "create", "--codebase", "dup", "--prompt", "x"]);
      expect(amb.code).toBe(2);
      expect(amb.stderr).toContain("codebase name 'dup' is ambiguous");
      expect(amb.stderr).toContain(a);
      expect(amb.stderr).toContain(b);
      expect(oneLine(amb.stderr)).toHaveLength(1);

      const none = await ct(["task", "create", "--codebase", "no-such", "--prompt", "x"]);
      expect(none.code).toBe(1);
      expect(none.stderr).toContain("no codebase with id or name 'no-such'");
      const pr = await ct(["task", "create", "--codebase", "global", "--prompt", "x", "--priority", "high"]);
      expect(pr.code).toBe(2);
      expect(pr.stderr).toContain("--priority: expected an integer");
      const missing = await ct(["task", "create", "--codebase", "global"]);
      expect(missing.code).toBe(2);
    },
    T,
  );

  test(
    "list, show and logs, human and --json",
    async () => {
      const t = json(
        (await ct(["task", "create", "--codebase", "demo", "--agent", "echo", "--prompt", "line for logs", "--title", "logs-title", "--wait", "--json"]))
          .stdout,
      );

      const list = await ct(["task", "list", "--codebase", "demo", "--status", "completed", "--json"]);
      expect(list.code).toBe(0);
      const tasks = json(list.stdout).tasks;
      expect(tasks.map((x: { id: string }) => x.id)).toContain(t.id);
      expect(tasks.every((x: { status: string; codebase_id: string }) => x.status === "completed" && x.codebase_id === t.codebase_id)).toBe(true);
      expect(Object.keys(tasks[0]).sort()).toEqual(TASK_KEYS);
      expect(json((await ct(["task", "list", "--limit", "1", "--json"])).stdout).tasks).toHaveLength(1);
      const humanList = await ct(["task", "list"]);
      expect(humanList.stdout.split("\n")[0]).toMatch(/^ID\s+STATUS\s+CODEBASE\s+AGENT\s+WORKER\s+CREATED\s+TITLE$/);
      expect(humanList.stdout).toContain("logs-title");
      expect((await ct(["task", "list", "--status", "done"])).code).toBe(2);

      const show = await ct(["task", "show", t.id]);
      expect(show.code).toBe(0);
      expect(show.stdout).toMatch(/status:\s+completed/);
      expect(show.stdout).toMatch(/worker:\s+w-op/);
      expect(show.stdout).toContain("result:\nline for logs");
      expect(json((await ct(["task", "show", t.id, "--json"])).stdout)).toMatchObject({ id: t.id, result: "line for logs" });
      const missing = await ct(["task", "show", "no-such-task"]);
      expect(missing.code).toBe(1);
      expect(oneLine(missing.stderr)).toHaveLength(1);

      const logs = await ct(["task", "logs", t.id]);
      expect(logs.code).toBe(0);
      expect(logs.stdout).toBe("line for logs\n");
      const lj = json((await ct(["task", "logs", t.id, "--json"])).stdout);
      expect(lj).toMatchObject({ task_id: t.id, status: "completed" });
      expect(lj.lines.map((l: { line: string }) => l.line)).toEqual(["line for logs"]);
      expect(Object.keys(lj.lines[0]).sort()).toEqual(["attempt", "line", "seq", "timestamp"]);
      const f = await ct(["task", "logs", t.id, "--follow"]);
      expect(f.code).toBe(0);
      expect(f.stdout).toBe("line for logs\n");
    },
    T,
  );

  test(
    "logs --follow of a pending task prints lines as they come and exits with the outcome",
    async () => {
      const id = (await ct(["task", "create", "--codebase", "global", "--agent", "echo", "--prompt", "later", "--target-worker", "w-late"])).stdout.trim();
      const f = spawnCli(["task", "logs", id, "--follow"], { env: env(), cwd: tmp.path });
      const late = startWorkerProc(server.url, { name: "w-late", dataDir: join(tmp.path, "w-late"), env: { HOME: home } });
      expect(await f.exited).toBe(0);
      expect(f.out()).toBe("later\n");
      late.kill("SIGTERM");
      expect(await late.exited).toBe(0);
    },
    T,
  );
});

describe("doctor", () => {
  const opencode = join(ROOT, "node_modules/.bin/opencode");

  test(
    "everything in place: all ✓, exit 0; --json shape",
    async () => {
      const args = ["doctor", "--opencode-bin", opencode, "--codebase", `demo:${repo}`, "--data-dir", join(tmp.path, "doc-data")];
      const r = await ct([...args, "--json"], { env: { ANTHROPIC_API_KEY: "sk-test" } });
      const d = json(r.stdout);
      expect(d.checks.filter((c: { ok: boolean }) => !c.ok)).toEqual([]);
      expect(r.code).toBe(0);
      expect(d.ok).toBe(true);
      expect(d.checks.map((c: { name: string }) => c.name)).toEqual([
        "config",
        "server",
        "auth",
        "clock",
        "opencode",
        "opencode_provider",
        "codebase:demo",
        "data_dir",
      ]);
      for (const c of d.checks) expect(Object.keys(c).sort()).toEqual(["detail", "fix", "name", "ok"]);
      expect(d.checks.find((c: { name: string }) => c.name === "opencode").detail).toMatch(/version \d+\.\d+/);
      expect(d.checks.find((c: { name: string }) => c.name === "opencode_provider").detail).toContain("env ANTHROPIC_API_KEY");

      const h = await ct(args, { env: { ANTHROPIC_API_KEY: "sk-test" } });
      expect(h.code).toBe(0);
      const lines = h.stdout.trim().split("\n");
      expect(lines).toHaveLength(8);
      expect(lines.every((l) => l.startsWith("✓ "))).toBe(true);
    },
    T,
  );

  test(
    "a provider from opencode.jsonc or auth.json under the XDG dirs counts",
    async () => {
      const cfg = join(tmp.path, "xdg-config", "opencode");
      mkdirSync(cfg, { recursive: true });
      writeFileSync(
        join(cfg, "opencode.jsonc"),
        '{\n  // local model\n  "provider": { "local": { "npm": "@ai-sdk/openai-compatible", "options": { "baseURL": "http://x/v1" } } },\n}\n',
      );
      const r = await ct(["doctor", "--json"], { env: { XDG_CONFIG_HOME: join(tmp.path, "xdg-config") } });
      const p = json(r.stdout).checks.find((c: { name: string }) => c.name === "opencode_provider");
      expect(p).toMatchObject({ ok: true });
      expect(p.detail).toContain("provider: local");

      const data = join(tmp.path, "xdg-data", "opencode");
      mkdirSync(data, { recursive: true });
      writeFileSync(join(data, "auth.json"), JSON.stringify({ anthropic: { type: "api", key: "x" } }));
      const a = json((await ct(["doctor", "--json"], { env: { XDG_DATA_HOME: join(tmp.path, "xdg-data") } })).stdout);
      expect(a.checks.find((c: { name: string }) => c.name === "opencode_provider")).toMatchObject({ ok: true });
    },
    T,
  );

  test(
    "problems: each ✗ with its fix, exit 1",
    async () => {
      const file = join(tmp.path, "not-a-dir");
      writeFileSync(file, "x");
      const args = [
        "doctor",
        "--opencode-bin",
        join(tmp.path, "no-opencode"),
        "--codebase",
        `gone:${join(tmp.path, "gone")}`,
        "--codebase",
        `file:${file}`,
        "--data-dir",
        join(file, "sub"),
      ];
      const r = await ct([...args, "--json"]);
      expect(r.code).toBe(1);
      const d = json(r.stdout);
      expect(d.ok).toBe(false);
      const by = (n: string) => d.checks.find((c: { name: string }) => c.name === n);
      expect(by("server").ok).toBe(true);
      expect(by("opencode")).toMatchObject({ ok: false, fix: expect.stringContaining("opencode_bin") });
      expect(by("opencode_provider")).toMatchObject({ ok: false, fix: expect.stringContaining("ANTHROPIC_API_KEY") });
      expect(by("codebase:gone")).toMatchObject({ ok: false, detail: expect.stringContaining("does not exist") });
      expect(by("codebase:file")).toMatchObject({ ok: false, detail: expect.stringContaining("not a directory") });
      expect(by("data_dir").ok).toBe(false);
      const h = await ct(args);
      expect(h.code).toBe(1);
      expect(h.stdout).toMatch(/^✗ opencode .*\n\s+fix: install it/m);
      expect(oneLine(h.stderr)).toEqual([expect.stringContaining("doctor: 5 of")]);
    },
    T,
  );

  test(
    "server down: ✗ server with the fix, no auth/clock lines; bad config: ✗ config",
    async () => {
      const r = await ct(["doctor", "--json", "--server", "http://127.0.0.1:9"]);
      expect(r.code).toBe(1);
      const d = json(r.stdout);
      expect(d.checks.find((c: { name: string }) => c.name === "server")).toMatchObject({ ok: false, fix: expect.stringContaining("codetether server start") });
      expect(d.checks.map((c: { name: string }) => c.name)).not.toContain("auth");
      const bad = await ct(["doctor", "--json"], { env: { A2A_POLL_INTERVAL: "soon" } });
      expect(bad.code).toBe(1);
      expect(json(bad.stdout).checks).toEqual([{ name: "config", ok: false, detail: expect.stringContaining("A2A_POLL_INTERVAL"), fix: expect.any(String) }]);
    },
    T,
  );
});

describe("auth and a server going away", () => {
  test(
    "token: missing -> ✗ auth 401, wrong -> 403, right -> ✓; commands exit 1 without it",
    async () => {
      const s = await startServerProc(join(tmp.path, "server-auth"), { env: { A2A_AUTH_TOKENS: "ops:s3cret" } });
      const e = { A2A_SERVER_URL: s.url };
      const check = async (token?: string) => {
        const r = await ct(["doctor", "--json"], { env: { ...e, A2A_AUTH_TOKEN: token } });
        return json(r.stdout).checks.find((c: { name: string }) => c.name === "auth");
      };
      expect(await check()).toMatchObject({ ok: false, detail: "the server requires a token and none is configured" });
      expect(await check("nope")).toMatchObject({ ok: false, detail: "the server rejected the configured token" });
      expect(await check("s3cret")).toMatchObject({ ok: true, detail: "token accepted" });
      const denied = await ct(["task", "list"], { env: e });
      expect(denied.code).toBe(1);
      expect(denied.stderr).toContain("401");
      expect((await ct(["task", "list", "--json", "--token", "s3cret"], { env: e })).code).toBe(0);
      await s.stop();
    },
    T,
  );

  test(
    "no workers: register by path says what to check; worker status with the server down: 69 (--local: 0)",
    async () => {
      const s = await startServerProc(join(tmp.path, "server-down"));
      const e = { A2A_SERVER_URL: s.url };
      const reg = await ct(["codebase", "register", "x", repo], { env: e });
      expect(reg.code).toBe(1);
      expect(reg.stderr).toContain("is a worker running (codetether worker status)?");
      expect(reg.stderr).toContain("same server URL");

      const dataDir = join(tmp.path, "w-down");
      const w = startWorkerProc(s.url, { name: "w-down", dataDir, env: { HOME: home } });
      await w.waitFor(/worker registered/, 60_000);
      const args = ["worker", "status", "--name", "w-down", "--data-dir", dataDir];
      expect((await ct(args, { env: e })).code).toBe(0);
      await s.stop("SIGKILL");
      const down = await ct([...args, "--json"], { env: e });
      expect(down.code).toBe(69);
      expect(json(down.stdout)).toMatchObject({ running: true, healthy: false, server: { reachable: false } });
      expect(oneLine(down.stderr)).toHaveLength(1);
      const local = await ct([...args, "--local"], { env: e });
      expect(local.code).toBe(0);
      expect(local.stdout).toMatch(/local:\s+running/);
      const tl = await ct(["task", "list"], { env: e });
      expect(tl.code).toBe(69);
      w.kill("SIGKILL");
      await w.exited;
    },
    T,
  );
});

describe("README script", () => {
  testUnless(
    missingTools(["jq"], "the README script needs it; CI: apt-get install -y jq"),
    "registers a codebase, runs a task with --wait and reads the result with jq",
    async () => {
      // `codetether` on PATH, as after an install.
      const bin = join(tmp.path, "path-bin");
      mkdirSync(bin, { recursive: true });
      writeFileSync(join(bin, "codetether"), `#!/bin/sh\nexec "${BUN}" "${CLI}" "$@"\n`);
      chmodSync(join(bin, "codetether"), 0o755);
      mkdirSync(join(tmp.path, "myapp"));
      const p = Bun.spawn(["bash", join(ROOT, "test/fixtures/readme-script.sh"), join(tmp.path, "myapp"), "hello from the README", "echo"], {
        cwd: tmp.path,
        env: { ...(env() as Record<string, string>), PATH: `${bin}:${process.env.PATH}`, NO_COLOR: "1" },
        stdout: "pipe",
        stderr: "pipe",
      });
      const timer = setTimeout(() => p.kill("SIGKILL"), 90_000);
      const [code, out, err] = await Promise.all([p.exited, new Response(p.stdout).text(), new Response(p.stderr).text()]);
      clearTimeout(timer);
      expect({ code, err }).toMatchObject({ code: 0 });
      expect(out).toMatch(/^task \S+ completed on w-op:\nhello from the README\n$/);
      expect(err).toContain(`codebase: ${await codebaseId(server.client, "w-op", "myapp")}`);

      // and a failing task: the script exits with the task's code and says why
      const f = Bun.spawn(["bash", join(ROOT, "test/fixtures/readme-script.sh"), join(tmp.path, "myapp"), "this fails"], {
        cwd: tmp.path,
        env: { ...(env() as Record<string, string>), PATH: `${bin}:${process.env.PATH}`, NO_COLOR: "1" },
        stdout: "pipe",
        stderr: "pipe",
      });
      const fcode = await f.exited;
      expect(fcode).toBe(1);
      expect(await new Response(f.stderr).text()).toContain("task did not complete (exit 1): failed:");
    },
    T,
  );
});
