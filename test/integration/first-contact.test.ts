// The CLI as a new user meets it (issue "First contact"): the compiled binary, its stdout,
// stderr and exit code; a pseudo-terminal where colour and width matter.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { stripVTControlCharacters } from "node:util";
import { commandConfig, keysOf } from "../../src/commands/_shared.ts";
import { KEYS } from "../../src/config/schema.ts";
import { compiledCli, runBin, runInTty } from "../helpers/binary.ts";
import { startServerProc, startWorkerProc, type ServerProc, waitTask } from "../helpers/cluster.ts";
import { killAll, tempDir, waitUntil } from "../helpers/proc.ts";

let bin: string;
let server: ServerProc;
const tmp = tempDir("ct-first-");
let env: Record<string, string>;

beforeAll(async () => {
  bin = await compiledCli();
  server = await startServerProc(join(tmp.path, "server"));
  env = { A2A_SERVER_URL: server.url, NO_COLOR: "1" };
}, 120_000);

afterAll(async () => {
  await killAll();
  tmp.cleanup();
});

const oneLine = (s: string) => s.trim().split("\n").length === 1;

describe("typos are usage errors (exit 2), never silently run", () => {
  test("an unknown flag names the nearest one and creates nothing", async () => {
    const before = (await server.client.listTasks({ limit: 1000 })).length;
    const r = await runBin(bin, ["task", "create", "--codebase", "global", "--prompt", "hi", "--agnet", "echo"], { env });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe("error: unknown flag --agnet (did you mean --agent?)\n");
    expect((await server.client.listTasks({ limit: 1000 })).length).toBe(before);
  });

  test("task list --stauts is refused, not answered with everything", async () => {
    const r = await runBin(bin, ["task", "list", "--stauts", "running"], { env });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe("error: unknown flag --stauts (did you mean --status?)\n");
  });

  test("a mistyped command: one line, a suggestion, no colour codes in a pipe", async () => {
    const r = await runBin(bin, ["tasks", "list"], { env: { ...env, NO_COLOR: undefined, FORCE_COLOR: undefined } });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).not.toContain("\x1b[");
    expect(oneLine(r.stderr)).toBe(true);
    expect(r.stderr).toContain("unknown command 'tasks' (did you mean 'codetether task'?)");
  });

  test("a flag of another command says whose it is", async () => {
    const r = await runBin(bin, ["task", "list", "--port", "3"], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown flag --port: --port is a setting of server start");
  });

  test("a stray argument and a missing value are usage errors", async () => {
    const stray = await runBin(bin, ["task", "show", "a", "b"], { env });
    expect(stray.code).toBe(2);
    expect(stray.stderr).toContain("unexpected argument 'b'");
    const missing = await runBin(bin, ["task", "create", "--codebase", "global", "--prompt"], { env });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("--prompt needs a value");
  });

  test("--poll-interval 0 (space form) is a bad value, not a missing one", async () => {
    const r = await runBin(bin, ["worker", "start", "--poll-interval", "0", "--data-dir", join(tmp.path, "pi")], { env });
    expect(r.code).toBe(78);
    expect(r.stderr).toContain("flag --poll-interval");
    expect(r.stderr).toContain("must be > 0");
    expect(r.stderr).not.toContain("expected a value");
  });
});

describe("each command reads only its own config", () => {
  test("--help lists only the flags of the keys the command reads, and each listed flag parses", async () => {
    const flagsIn = (help: string) => [...help.matchAll(/^\s+(?:-\w, )?--(?:\[no-\])?([a-z][a-z0-9-]*)/gm)].map((m) => m[1]!);
    const cases: [string[], string[], string[]][] = [
      [
        ["sessions", "sync"],
        ["codebase", "dry-run", "name", "server", "token"],
        ["port", "db", "database-url", "auth-tokens", "host"],
      ],
      [
        ["worker", "start"],
        ["codebase", "name", "server", "poll-interval", "once"],
        ["port", "db", "database-url", "auth-tokens", "host", "lease-seconds"],
      ],
      [
        ["server", "start"],
        ["port", "host", "db", "database-url", "auth-tokens"],
        ["codebase", "server", "token", "name", "poll-interval"],
      ],
      [
        ["task", "list"],
        ["status", "codebase", "server", "token", "config", "all"],
        ["port", "name", "poll-interval", "data-dir"],
      ],
      [
        ["task", "create"],
        ["codebase", "prompt", "agent", "server", "token"],
        ["port", "name", "capabilities", "data-dir"],
      ],
    ];
    for (const [cmd, present, absent] of cases) {
      const r = await runBin(bin, [...cmd, "--help"], { env });
      expect(r.code).toBe(0);
      const listed = flagsIn(r.stdout);
      for (const f of present) expect(listed).toContain(f);
      for (const f of absent) expect(listed).not.toContain(f);
    }
  });

  test("every config flag a command lists belongs to a key of its scopes", () => {
    const byFlag = new Map(Object.entries(KEYS).map(([k, d]) => [d.flag, k]));
    for (const scopes of [["client"], ["worker"], ["server"], ["worker", "server"]] as const) {
      const keys = new Set(keysOf(scopes));
      for (const name of Object.keys(commandConfig(scopes, {}).args)) {
        if (name === "config") continue;
        expect(keys.has(byFlag.get(name) as never)).toBe(true);
      }
    }
  });

  test("a broken setting of another command does not break task list", async () => {
    const r = await runBin(bin, ["task", "list"], { env: { ...env, A2A_POLL_INTERVAL: "0", A2A_PORT: "-1" } });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
  });
});

describe("help reads like prose and fits the terminal", () => {
  test("wrapped to $COLUMNS; usage starts with the program name", async () => {
    for (const cmd of [["--help"], ["task", "create", "--help"], ["worker", "start", "--help"], ["codebase", "register", "--help"]]) {
      const r = await runBin(bin, cmd, { env: { ...env, COLUMNS: "60" } });
      expect(r.code).toBe(0);
      const usage = r.stdout.split("\n").find((l) => l.startsWith("Usage:"))!;
      expect(usage).toStartWith(`Usage: codetether${cmd.length > 1 ? ` ${cmd.slice(0, -1).join(" ")}` : ""}`);
      const body = r.stdout.split("\nExample")[0]!;
      // A single word longer than the room (a path) cannot wrap; anything else must.
      for (const line of body.split("\n")) if (line.trim().includes(" ")) expect(line.length).toBeLessThanOrEqual(60);
    }
  });

  test("a group lists its commands by whole first sentences", async () => {
    const r = await runBin(bin, ["codebase", "--help"], { env });
    expect(r.stdout).toMatch(/register\s+Register directory PATH as codebase NAME and print its id\n/);
    expect(r.stdout).not.toContain("(PATH must exist\n");
  });

  test("colour on a terminal, none in a pipe", async () => {
    const tty = await runInTty(bin, ["task", "list", "--stauts", "x"]);
    expect(tty.stdout).toContain("\x1b[31merror:");
    const pipe = await runBin(bin, ["task", "list", "--stauts", "x"], { env: { ...env, NO_COLOR: undefined } });
    expect(pipe.stderr).toStartWith("error: ");
  });
});

describe("errors say what to check", () => {
  test("server unreachable names the URL and what to check, exit 69", async () => {
    const r = await runBin(bin, ["task", "list", "--server", "http://127.0.0.1:9"], { env });
    expect(r.code).toBe(69);
    expect(oneLine(r.stderr)).toBe(true);
    expect(r.stderr).toContain("http://127.0.0.1:9");
    expect(r.stderr).toContain("check --server / A2A_SERVER_URL");
  });

  test("a name:token pair pasted as a token says to drop the name", async () => {
    const dir = join(tmp.path, "auth");
    const authed = await startServerProc(dir, { env: { A2A_AUTH_TOKENS: "ops:s3cret-token" } });
    try {
      const r = await runBin(bin, ["task", "list", "--server", authed.url, "--token", "ops:s3cret-token"], { env });
      expect(r.code).toBe(1);
      expect(oneLine(r.stderr)).toBe(true);
      expect(r.stderr).toContain("pass only the part after 'ops:'");
      const ok = await runBin(bin, ["task", "list", "--server", authed.url, "--token", "s3cret-token"], { env });
      expect(ok.code).toBe(0);
    } finally {
      await authed.stop();
    }
  });

  test("worker status with a refused token still shows the local view", async () => {
    const dir = join(tmp.path, "auth2");
    const authed = await startServerProc(dir, { env: { A2A_AUTH_TOKENS: "good-token" } });
    const w = startWorkerProc(authed.url, { name: "fc-status", dataDir: join(dir, "w"), env: { A2A_AUTH_TOKEN: "good-token" } });
    try {
      await w.waitFor(/worker registered/);
      const r = await runBin(bin, ["worker", "status", "--name", "fc-status", "--data-dir", join(dir, "w"), "--server", authed.url, "--token", "bad"], { env });
      expect(r.code).toBe(1);
      expect(r.stdout).toContain("worker fc-status");
      expect(r.stdout).toMatch(/pid:\s+\d+/);
      expect(r.stdout).toContain("refused");
      expect(r.stderr).toContain("token not accepted");
    } finally {
      w.kill("SIGKILL");
      await w.exited;
      await authed.stop();
    }
  });

  test("--target-worker nobody warns at submit time", async () => {
    const r = await runBin(bin, ["task", "create", "--codebase", "global", "--prompt", "x", "--agent", "noop", "--target-worker", "nobody"], { env });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("warning: no worker 'nobody' is registered");
    await server.client.cancelTask(r.stdout.trim());
  });
});

describe("lists show the newest first, by name, in short ids", () => {
  test("task list: newest first, codebase names, 8-character ids accepted back, a note when more exist", async () => {
    const dir = join(tmp.path, "lists");
    const s = await startServerProc(dir);
    const repo = join(dir, "repo");
    mkdirSync(repo, { recursive: true });
    const w = startWorkerProc(s.url, { name: "fc-lists", dataDir: join(dir, "w"), codebases: [`myrepo:${repo}`] });
    try {
      await w.waitFor(/task stream connected|polling/);
      const ids: string[] = [];
      for (let i = 0; i < 7; i++) {
        const r = await runBin(bin, ["task", "create", "--server", s.url, "--codebase", "myrepo", "--prompt", `p${i}`, "--agent", "echo"], { env });
        expect(r.code).toBe(0);
        ids.push(r.stdout.trim());
      }
      await waitTask(s.client, ids.at(-1)!, (t) => t.status === "completed", "last task done");
      const r = await runBin(bin, ["task", "list", "--server", s.url, "--limit", "5"], { env: { ...env, COLUMNS: "80" } });
      expect(r.code).toBe(0);
      const rows = r.stdout.trim().split("\n");
      expect(rows[0]).toMatch(/^ID\s+STATUS\s+CODEBASE/);
      expect(rows).toHaveLength(6);
      // newest first: p6 .. p2
      expect(rows.slice(1).map((l) => l.trim().split(/\s+/).at(-1))).toEqual(["p6", "p5", "p4", "p3", "p2"]);
      expect(rows[1]).toContain("myrepo");
      expect(rows[1]!.split(/\s+/)[0]).toBe(ids[6]!.slice(-8));
      for (const row of rows) expect(row.length).toBeLessThanOrEqual(80);
      expect(r.stderr).toBe("5 of 7; --limit N or --all for more\n");
      const all = await runBin(bin, ["task", "list", "--server", s.url, "--all"], { env });
      expect(all.stdout.trim().split("\n")).toHaveLength(8);
      expect(all.stderr).toBe("");
      const shown = await runBin(bin, ["task", "show", ids[3]!.slice(-8), "--server", s.url, "--json"], { env });
      expect(shown.code).toBe(0);
      expect(JSON.parse(shown.stdout).id).toBe(ids[3]);
    } finally {
      w.kill("SIGKILL");
      await w.exited;
      await s.stop();
    }
  });

  test("sessions list has a header (or says there are none)", async () => {
    const r = await runBin(bin, ["sessions", "list"], { env });
    expect(r.code).toBe(0);
    expect(r.stdout === "no sessions\n" || /^ID\s+CODEBASE\s+UPDATED/.test(r.stdout)).toBe(true);
  });
});

describe("up", () => {
  test("refuses a missing codebase path before saying it is up (exit 78)", async () => {
    const r = await runBin(bin, ["up", "--port", "0", "--data-dir", join(tmp.path, "up-bad"), "--codebase", "x:/nonexistent-path"], { env });
    expect(r.code).toBe(78);
    expect(r.stderr).not.toContain("is up at");
    expect(r.stderr).toContain("/nonexistent-path does not exist");
  });

  test("the banner fits 80 columns and its first command works as printed", async () => {
    const dir = join(tmp.path, "up");
    const repo = join(dir, "repo");
    mkdirSync(repo, { recursive: true });
    const up = Bun.spawn([bin, "up", "--port", "0", "--data-dir", join(dir, "data"), "--codebase", `myrepo:${repo}`, "--no-sync-sessions"], {
      cwd: dir,
      env: { PATH: process.env.PATH, HOME: dir, NO_COLOR: "1" } as Record<string, string>,
      stdout: "pipe",
      stderr: "pipe",
    });
    // Logs and banner, in the order they were written to either stream.
    let err = "";
    for (const stream of [up.stdout, up.stderr]) {
      void (async () => {
        for await (const c of stream.pipeThrough(new TextDecoderStream())) err += c;
      })();
    }
    try {
      await waitUntil(() => err.includes("Stop with Ctrl-C") && err.includes("task stream connected"), "up banner and worker", 30_000);
      const banner = err.slice(0, err.indexOf("Stop with Ctrl-C") + 80);
      for (const line of banner.split("\n")) expect(stripVTControlCharacters(line).length).toBeLessThanOrEqual(80);
      // The first command, joined across its continuation line, run by a shell exactly as shown.
      const lines = banner.split("\n");
      let at = lines.findIndex((l) => l.includes("task create"));
      let command = "";
      do command += ` ${lines[at]!.replace(/\\\s*$/, "").trim()}`;
      while (lines[at++]!.trimEnd().endsWith("\\"));
      command = command.trim();
      expect(command).toContain("--agent echo");
      expect(command).toStartWith(bin); // not on PATH: printed by its path
      const r = Bun.spawnSync(["sh", "-c", command], { cwd: dir, env: { PATH: process.env.PATH!, HOME: dir, NO_COLOR: "1" } });
      expect(r.stdout.toString()).toBe("hello\n");
      expect(r.exitCode).toBe(0);
    } finally {
      up.kill("SIGINT");
      expect(await up.exited).toBe(0);
    }
    // One process, one log: each event once, not once from the server and once from the worker.
    for (const event of ["task claimed", "task completed", "worker unregistered"]) {
      expect(`${event}: ${(err.match(new RegExp(`${event} `, "g")) ?? []).length}`).toBe(`${event}: 1`);
    }
  }, 60_000);
});
