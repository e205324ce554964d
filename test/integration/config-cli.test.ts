// `codetether config show` as a user runs it: a real process, a temp HOME, an env we
// control (nothing inherited but PATH), cwd /tmp unless a test needs its own.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "../..");
const BUN = join(ROOT, "node_modules/.bin/bun");
const CLI = join(ROOT, "src/cli.ts");

let root: string;
let home: string;
let userFile: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "ct-config-cli-"));
  home = join(root, "home");
  mkdirSync(home);
  userFile = join(home, ".config", "a2a-worker", "config.json");
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(args: string[], o: { env?: Record<string, string>; cwd?: string } = {}): Run {
  const p = Bun.spawnSync([BUN, CLI, ...args], {
    cwd: o.cwd ?? "/tmp",
    env: { HOME: home, PATH: process.env.PATH ?? "/usr/bin:/bin", NO_COLOR: "1", ...o.env },
    stdout: "pipe",
    stderr: "pipe",
  });
  return { code: p.exitCode ?? -1, stdout: p.stdout.toString(), stderr: p.stderr.toString() };
}

type Shown = { file: string | null; config: Record<string, { value: unknown; source: string }>; warnings: string[] };
function showJson(args: string[] = [], o: { env?: Record<string, string>; cwd?: string } = {}): Shown {
  const r = run(["config", "show", "--json", ...args], o);
  if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

function writeJson(path: string, value: unknown): string {
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, typeof value === "string" ? value : JSON.stringify(value));
  return path;
}

/** Exit 78, nothing on stdout, exactly one (non-blank) line on stderr, no stack trace. */
function expectConfigError(r: Run, ...parts: string[]): string {
  expect(r.code).toBe(78);
  expect(r.stdout).toBe("");
  const lines = r.stderr.split("\n").filter((l) => l.trim());
  expect(lines).toHaveLength(1);
  const line = lines[0]!;
  expect(line).toContain("config: ");
  expect(line).not.toMatch(/\bat .+:\d+:\d+/);
  for (const p of parts) expect(line).toContain(p);
  return line;
}

describe("help", () => {
  test("the top-level help lists config", () => {
    const r = run(["--help"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\s*config\s+Inspect the configuration/m);
  });

  test("config show --help lists every config flag, --json and an example", () => {
    const r = run(["config", "show", "--help"]);
    expect(r.code).toBe(0);
    for (const f of ["--config", "--server", "--poll-interval", "--codebase", "--[no-]sync-sessions", "--database-url", "--json", "Example:"]) {
      expect(r.stdout).toContain(f);
    }
  });
});

describe("precedence", () => {
  test("flag > env > file > default, each with its source", () => {
    writeJson(userFile, { poll_interval: 7 });
    const env = { A2A_POLL_INTERVAL: "8" };
    expect(showJson(["--poll-interval", "9"], { env }).config.poll_interval).toEqual({ value: 9, source: "flag --poll-interval" });
    expect(showJson([], { env }).config.poll_interval).toEqual({ value: 8, source: "env A2A_POLL_INTERVAL" });
    const fromFile = showJson();
    expect(fromFile.config.poll_interval).toEqual({ value: 7, source: userFile });
    expect(fromFile.file).toBe(userFile);
    rmSync(userFile);
    const none = showJson();
    expect(none.config.poll_interval).toEqual({ value: 5, source: "default" });
    expect(none.file).toBeNull();
  });

  test("~/.config/a2a-worker/config.json is found before ./worker-config.json", () => {
    const cwd = join(root, "cwd");
    const local = writeJson(join(cwd, "worker-config.json"), { worker_name: "local" });
    writeJson(userFile, { worker_name: "user" });
    expect(showJson([], { cwd }).config.worker_name).toEqual({ value: "user", source: userFile });
    rmSync(userFile);
    expect(showJson([], { cwd }).config.worker_name).toEqual({ value: "local", source: local });
  });

  test("--config and A2A_CONFIG name the file", () => {
    writeJson(userFile, { worker_name: "user" });
    const a = writeJson(join(root, "a.json"), { worker_name: "a" });
    const b = writeJson(join(root, "b.json"), { worker_name: "b" });
    expect(showJson([], { env: { A2A_CONFIG: a } }).config.worker_name.value).toBe("a");
    expect(showJson(["--config", b], { env: { A2A_CONFIG: a } }).config.worker_name.value).toBe("b");
    const none = showJson(["--no-config"], { env: { A2A_CONFIG: a } });
    expect(none.file).toBeNull();
    expect(none.config.worker_name.source).toBe("default");
  });

  test("worker_id defaults to worker_name", () => {
    const s = showJson(["--name", "builder-3"]);
    expect(s.config.worker_name).toEqual({ value: "builder-3", source: "flag --name" });
    expect(s.config.worker_id).toEqual({ value: "builder-3", source: "default" });
    expect(showJson(["--name", "b", "--worker-id", "id-1"]).config.worker_id.value).toBe("id-1");
  });

  test("booleans: --no-sync-sessions, --sync-sessions=0, A2A_SYNC_SESSIONS=no", () => {
    expect(showJson(["--no-sync-sessions"]).config.sync_sessions).toEqual({ value: false, source: "flag --sync-sessions" });
    expect(showJson(["--sync-sessions=0"]).config.sync_sessions.value).toBe(false);
    expect(showJson(["--sync-sessions"], { env: { A2A_SYNC_SESSIONS: "no" } }).config.sync_sessions.value).toBe(true);
    expect(showJson([], { env: { A2A_SYNC_SESSIONS: "no" } }).config.sync_sessions.value).toBe(false);
  });
});

describe("codebases", () => {
  test("from the file, relative to the file's directory", () => {
    writeJson(userFile, { codebases: [{ name: "api", path: "repos/api" }, { path: "/srv/web" }] });
    expect(showJson().config.codebases).toEqual({
      value: [
        { name: "api", path: join(home, ".config", "a2a-worker", "repos", "api") },
        { name: "web", path: "/srv/web" },
      ],
      source: userFile,
    });
  });

  test("from env and repeated flags, relative to cwd", () => {
    const cwd = join(root, "cwd");
    mkdirSync(cwd);
    expect(showJson([], { cwd, env: { A2A_CODEBASES: "api:api,./web" } }).config.codebases).toEqual({
      value: [
        { name: "api", path: join(cwd, "api") },
        { name: "web", path: join(cwd, "web") },
      ],
      source: "env A2A_CODEBASES",
    });
    const s = showJson(["--codebase", "a:x", "--codebase=b:/y", "--capabilities", "gpu,build"], { cwd, env: { A2A_CODEBASES: "api:api" } });
    expect(s.config.codebases).toEqual({
      value: [
        { name: "a", path: join(cwd, "x") },
        { name: "b", path: "/y" },
      ],
      source: "flag --codebase",
    });
    expect(s.config.capabilities.value).toEqual(["gpu", "build"]);
  });
});

describe("errors: exit 78, one line naming the source", () => {
  test("--config that does not exist", () => {
    const missing = join(root, "missing.json");
    expectConfigError(run(["config", "show", "--config", missing]), `flag --config "${missing}"`, "no such file");
    expectConfigError(run(["config", "show"], { env: { A2A_CONFIG: missing } }), "env A2A_CONFIG", "no such file");
  });

  test("file: wrong type, invalid JSON, codebase without path, unreadable", () => {
    writeJson(userFile, { poll_interval: "fast" });
    expectConfigError(run(["config", "show"]), `config: ${userFile}: key "poll_interval": expected a number (seconds), got "fast"`);
    writeJson(userFile, '{\n  "poll_interval": 5,\n    x\n}\n');
    expectConfigError(run(["config", "show"]), `config: ${userFile}: invalid JSON at line 3 column 5:`);
    writeJson(userFile, { codebases: [{ name: "a", path: "/a" }, { name: "b" }] });
    expectConfigError(run(["config", "show"]), `config: ${userFile}: codebases[1]: missing "path"`);
    rmSync(userFile);
    mkdirSync(userFile);
    expectConfigError(run(["config", "show"]), `config: ${userFile}: cannot read`);
  });

  test("env: non-positive interval, not a number, bad bool, bad enum, bad URL", () => {
    const cases: [Record<string, string>, string][] = [
      [{ A2A_POLL_INTERVAL: "0" }, 'config: env A2A_POLL_INTERVAL="0": must be > 0 (seconds)'],
      [{ A2A_HEARTBEAT_INTERVAL: "-5" }, 'config: env A2A_HEARTBEAT_INTERVAL="-5": must be > 0 (seconds)'],
      [{ A2A_POLL_INTERVAL: "5s" }, 'config: env A2A_POLL_INTERVAL="5s": expected a number (seconds)'],
      [{ A2A_SYNC_SESSIONS: "perhaps" }, 'config: env A2A_SYNC_SESSIONS="perhaps": expected true or false'],
      [{ A2A_LOG_FORMAT: "xml" }, 'config: env A2A_LOG_FORMAT="xml": expected one of'],
      [{ A2A_SERVER_URL: "ftp://x" }, 'config: env A2A_SERVER_URL="ftp://x": expected an http(s) URL'],
    ];
    for (const [env, want] of cases) expectConfigError(run(["config", "show"], { env }), want);
  });

  test("flags: bad URL, bad number, value missing", () => {
    expectConfigError(run(["config", "show", "--server", "ftp://x"]), 'config: flag --server "ftp://x": expected an http(s) URL like http://host:8000');
    expectConfigError(run(["config", "show", "--task-timeout=0"]), 'config: flag --task-timeout "0": must be > 0 (seconds)');
    expectConfigError(run(["config", "show", "--port", "http"]), 'config: flag --port "http": expected a number');
    expectConfigError(run(["config", "show", "--poll-interval="]), "config: flag --poll-interval: expected a value");
  });
});

test("unknown keys in the file warn with a suggestion and do not fail", () => {
  writeJson(userFile, { poll_intervall: 3, worker_name: "w" });
  const r = run(["config", "show", "--json"]);
  expect(r.code).toBe(0);
  const warning = `unknown key "poll_intervall" in ${userFile} (did you mean "poll_interval"?)`;
  expect(r.stderr).toContain(warning);
  expect(JSON.parse(r.stdout).warnings).toEqual([warning]);
  expect(run(["config", "show"]).stderr).toContain(warning);
});

describe("secrets are masked", () => {
  const setup = () => {
    writeJson(userFile, { database_url: "postgres://app:hunter2@db.internal:5432/ct" });
    return {
      args: ["--token", "tok-SECRET-1"],
      env: { A2A_AUTH_TOKENS: "ci:tok-SECRET-2,tok-SECRET-3" },
    };
  };

  test("in --json", () => {
    const { args, env } = setup();
    const r = run(["config", "show", "--json", ...args], { env });
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain("SECRET");
    expect(r.stdout).not.toContain("hunter2");
    const c = JSON.parse(r.stdout).config;
    expect(c.auth_token).toEqual({ value: "***", source: "flag --token" });
    expect(c.auth_tokens).toEqual({ value: ["ci:***", "***"], source: "env A2A_AUTH_TOKENS" });
    expect(c.database_url).toEqual({ value: "postgres://app:***@db.internal:5432/ct", source: userFile });
  });

  test("in the table", () => {
    const { args, env } = setup();
    const r = run(["config", "show", ...args], { env });
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain("SECRET");
    expect(r.stdout).not.toContain("hunter2");
    const row = (k: string) =>
      r.stdout
        .split("\n")
        .find((l) => l.startsWith(`${k} `))
        ?.split(/\s{2,}/);
    expect(r.stdout.split("\n")[0]).toBe(`file: ${userFile}`);
    expect(row("auth_token")).toEqual(["auth_token", "***", "flag --token"]);
    expect(row("auth_tokens")).toEqual(["auth_tokens", "ci:***, ***", "env A2A_AUTH_TOKENS"]);
    expect(row("database_url")).toEqual(["database_url", "postgres://app:***@db.internal:5432/ct", userFile]);
    expect(row("poll_interval")).toEqual(["poll_interval", "5", "default"]);
  });
});
