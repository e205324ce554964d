// The config resolver in-process: temp dirs for home/cwd/etc, explicit env objects, so the
// machine's own environment and files never leak in.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgv } from "../../src/commands/_args.ts";
import { commandConfig, configFlags } from "../../src/commands/_shared.ts";
import { parseJson } from "../../src/config/json.ts";
import { maskedValue, type ResolveOptions, resolveConfig, secretStrings, suggest } from "../../src/config/resolve.ts";
import { KEY_NAMES } from "../../src/config/schema.ts";
import { type CliError, ConfigError } from "../../src/util/errors.ts";

let root: string;
let home: string;
let cwd: string;
let etc: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "ct-config-"));
  home = join(root, "home");
  cwd = join(root, "work");
  etc = join(root, "etc");
  mkdirSync(home);
  mkdirSync(cwd);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const resolve = (o: ResolveOptions = {}) => resolveConfig({ env: {}, home, cwd, etcDir: etc, ...o });

function writeJson(path: string, value: unknown): string {
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, typeof value === "string" ? value : JSON.stringify(value, null, 2));
  return path;
}

/** The ConfigError a resolve throws; fails the test when it does not throw one. */
async function configError(o: ResolveOptions): Promise<ConfigError> {
  try {
    await resolve(o);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    const err = e as ConfigError;
    expect(err.exitCode).toBe(78);
    expect(err.message).not.toContain("\n");
    expect(err.message.startsWith("config: ")).toBe(true);
    return err;
  }
  throw new Error("expected a ConfigError");
}

describe("defaults", () => {
  test("every key comes from its default when nothing is set", async () => {
    const r = await resolve();
    for (const k of KEY_NAMES) expect(r.sources[k]).toBe("default");
    expect(r.file).toBeUndefined();
    expect(r.warnings).toEqual([]);
    expect(r.config.poll_interval).toBe(5);
    expect(r.config.capabilities).toEqual(["opencode", "build", "deploy"]);
    expect(r.config.worker_name).toBe(hostname());
    expect(r.config.data_dir).toBe(join(home, ".local", "state", "codetether"));
    expect(r.config.auth_token).toBeUndefined();
  });

  test("worker_id defaults to worker_name, whichever layer set the name", async () => {
    const r = await resolve({ env: { A2A_WORKER_NAME: "builder-7" } });
    expect(r.config.worker_id).toBe("builder-7");
    expect(r.sources.worker_id).toBe("default");
    const f = writeJson(join(cwd, "worker-config.json"), { worker_name: "from-file", worker_id: "explicit" });
    const r2 = await resolve();
    expect(r2.config.worker_id).toBe("explicit");
    expect(r2.sources.worker_id).toBe(f);
  });

  test("a worker_name that is no valid worker_id says how to set one", async () => {
    const e = await configError({ env: { A2A_WORKER_NAME: "Jane's Mac" } });
    expect(e.message).toContain('worker_id defaults to worker_name "Jane\'s Mac"');
    expect(e.message).toContain("--worker-id");
  });

  test("mutating a resolved list does not change the next resolve's default", async () => {
    (await resolve()).config.capabilities.push("x");
    expect((await resolve()).config.capabilities).toEqual(["opencode", "build", "deploy"]);
  });
});

describe("precedence: flag > env > file > default", () => {
  const cases: { key: string; file: unknown; env: [string, string]; flag: [string, unknown]; want: unknown[] }[] = [
    { key: "poll_interval", file: 7, env: ["A2A_POLL_INTERVAL", "8"], flag: ["poll-interval", "9"], want: [9, 8, 7, 5] },
    {
      key: "server_url",
      file: "http://f:1",
      env: ["A2A_SERVER_URL", "http://e:2"],
      flag: ["server", "http://g:3"],
      want: ["http://g:3", "http://e:2", "http://f:1", "http://127.0.0.1:8000"],
    },
    { key: "sync_sessions", file: false, env: ["A2A_SYNC_SESSIONS", "yes"], flag: ["sync-sessions", false], want: [false, true, false, true] },
    {
      key: "capabilities",
      file: ["f"],
      env: ["A2A_CAPABILITIES", "e1, e2"],
      flag: ["capabilities", "g1,g2"],
      want: [["g1", "g2"], ["e1", "e2"], ["f"], ["opencode", "build", "deploy"]],
    },
    { key: "max_concurrent_tasks", file: 3, env: ["A2A_MAX_CONCURRENT_TASKS", "4"], flag: ["max-concurrent-tasks", "6"], want: [6, 4, 3, 2] },
  ];
  for (const c of cases) {
    test(c.key, async () => {
      const file = writeJson(join(root, "c.json"), { [c.key]: c.file });
      const flags = { config: file, [c.flag[0]]: c.flag[1] };
      const env = { [c.env[0]]: c.env[1] };
      const steps = [
        [await resolve({ flags, env }), `flag --${c.flag[0]}`],
        [await resolve({ flags: { config: file }, env }), `env ${c.env[0]}`],
        [await resolve({ flags: { config: file } }), file],
        [await resolve(), "default"],
      ] as const;
      steps.forEach(([r, source], i) => {
        expect((r.config as Record<string, unknown>)[c.key]).toEqual(c.want[i]);
        expect((r.sources as Record<string, string>)[c.key]).toBe(source);
      });
    });
  }

  test("layers replace lists, they do not merge them", async () => {
    writeJson(join(cwd, "worker-config.json"), { codebases: [{ name: "a", path: "/a" }] });
    const r = await resolve({ env: { A2A_CODEBASES: "b:/b" } });
    expect(r.config.codebases).toEqual([{ name: "b", path: "/b" }]);
  });

  test("with DATABASE_URL and A2A_DATABASE_URL set, the A2A one wins; an empty env var counts as unset", async () => {
    const r = await resolve({ env: { DATABASE_URL: "postgres://a/x", A2A_DATABASE_URL: "postgres://b/y", A2A_POLL_INTERVAL: "" } });
    expect(r.config.database_url).toBe("postgres://b/y");
    expect(r.sources.database_url).toBe("env A2A_DATABASE_URL");
    expect(r.sources.poll_interval).toBe("default");
  });
});

describe("which file", () => {
  test("search order: ~/.config/a2a-worker, then /etc/a2a-worker, then ./worker-config.json", async () => {
    const h = writeJson(join(home, ".config", "a2a-worker", "config.json"), { worker_name: "home" });
    const e = writeJson(join(etc, "config.json"), { worker_name: "etc" });
    const w = writeJson(join(cwd, "worker-config.json"), { worker_name: "cwd" });
    for (const [path, name] of [
      [h, "home"],
      [e, "etc"],
      [w, "cwd"],
    ]) {
      const r = await resolve();
      expect(r.file).toBe(path);
      expect(r.config.worker_name).toBe(name);
      expect(r.sources.worker_name).toBe(path);
      rmSync(path!);
    }
    expect((await resolve()).file).toBeUndefined();
  });

  test("--config beats A2A_CONFIG, which beats the search; relative paths are from cwd", async () => {
    writeJson(join(cwd, "worker-config.json"), { worker_name: "searched" });
    writeJson(join(cwd, "env.json"), { worker_name: "env" });
    writeJson(join(cwd, "sub", "flag.json"), { worker_name: "flag" });
    expect((await resolve({ env: { A2A_CONFIG: "env.json" } })).config.worker_name).toBe("env");
    const r = await resolve({ env: { A2A_CONFIG: "env.json" }, flags: { config: "sub/flag.json" } });
    expect(r.config.worker_name).toBe("flag");
    expect(r.file).toBe(join(cwd, "sub", "flag.json"));
  });

  test("--no-config loads no file, not even A2A_CONFIG's", async () => {
    writeJson(join(home, ".config", "a2a-worker", "config.json"), { worker_name: "home" });
    const r = await resolve({ flags: { config: false }, env: { A2A_CONFIG: "/nope.json" } });
    expect(r.file).toBeUndefined();
    expect(r.sources.worker_name).toBe("default");
    const parsed = configFlags(parseArgv(commandConfig(["worker"], {}).args, ["--no-config"], { command: "t" }).args);
    expect((await resolve({ flags: parsed })).file).toBeUndefined();
  });

  test("a named file that is missing is an error naming flag or env", async () => {
    expect((await configError({ flags: { config: join(root, "nope.json") } })).message).toBe(
      `config: flag --config "${join(root, "nope.json")}": no such file (${join(root, "nope.json")})`,
    );
    expect((await configError({ env: { A2A_CONFIG: "nope.json" } })).message).toContain('env A2A_CONFIG "nope.json": no such file');
  });

  test("a file that cannot be read (a directory) is an error naming it", async () => {
    const dir = join(home, ".config", "a2a-worker", "config.json");
    mkdirSync(dir, { recursive: true });
    expect((await configError({})).message).toStartWith(`config: ${dir}: cannot read: EISDIR`);
  });
});

describe("errors: one line naming the source", () => {
  test("file: wrong type", async () => {
    const f = writeJson(join(root, "c.json"), { poll_interval: "fast" });
    expect((await configError({ flags: { config: f } })).message).toBe(`config: ${f}: key "poll_interval": expected a number (seconds), got "fast"`);
  });

  test("file: invalid JSON with line and column", async () => {
    const f = writeJson(join(root, "c.json"), '{\n  "poll_interval": 5,\n    x\n}\n');
    expect((await configError({ flags: { config: f } })).message).toBe(
      `config: ${f}: invalid JSON at line 3 column 5: unexpected text: JSON wants double-quoted strings, numbers, true, false or null`,
    );
  });

  test("file: not an object, codebase without path, bad codebase field types, duplicate names", async () => {
    const f = join(root, "c.json");
    writeJson(f, [1]);
    expect((await configError({ flags: { config: f } })).message).toContain(`${f}: expected a JSON object`);
    writeJson(f, { codebases: [{ name: "a", path: "/a" }, { name: "b" }] });
    expect((await configError({ flags: { config: f } })).message).toBe(`config: ${f}: codebases[1]: missing "path"`);
    writeJson(f, { codebases: [{ name: 5, path: "/a" }] });
    expect((await configError({ flags: { config: f } })).message).toBe(`config: ${f}: codebases[0]: "name" must be a non-empty string, got 5`);
    writeJson(f, { codebases: { name: "a" } });
    expect((await configError({ flags: { config: f } })).message).toContain(`${f}: key "codebases": expected a list`);
    writeJson(f, {
      codebases: [
        { name: "a", path: "/a" },
        { name: "a", path: "/b" },
      ],
    });
    expect((await configError({ flags: { config: f } })).message).toContain('codebase name "a" is used twice');
    writeJson(f, { capabilities: ["x", ""] });
    expect((await configError({ flags: { config: f } })).message).toBe(`config: ${f}: capabilities[1]: must not be empty, got ""`);
  });

  test("env: non-positive intervals and values that do not parse", async () => {
    for (const name of [
      "A2A_POLL_INTERVAL",
      "A2A_TASK_TIMEOUT",
      "A2A_SHUTDOWN_GRACE",
      "A2A_SESSION_SYNC_INTERVAL",
      "A2A_LEASE_SECONDS",
      "A2A_HEARTBEAT_INTERVAL",
    ]) {
      for (const bad of ["0", "-1"]) {
        expect((await configError({ env: { [name]: bad } })).message).toBe(`config: env ${name}="${bad}": must be > 0 (seconds)`);
      }
    }
    expect((await configError({ env: { A2A_POLL_INTERVAL: "5s" } })).message).toBe('config: env A2A_POLL_INTERVAL="5s": expected a number (seconds)');
    expect((await configError({ env: { A2A_POLL_INTERVAL: "0x10" } })).message).toContain("expected a number");
    expect((await configError({ env: { A2A_MAX_CONCURRENT_TASKS: "1.5" } })).message).toContain("must be a whole number");
    expect((await configError({ env: { A2A_PORT: "70000" } })).message).toBe('config: env A2A_PORT="70000": must be a port number 0-65535');
    expect((await configError({ env: { A2A_SYNC_SESSIONS: "maybe" } })).message).toBe(
      'config: env A2A_SYNC_SESSIONS="maybe": expected true or false (also 1/0, yes/no)',
    );
    expect((await configError({ env: { A2A_LOG_LEVEL: "loud" } })).message).toContain('env A2A_LOG_LEVEL="loud": expected one of');
    expect((await configError({ env: { A2A_SERVER_URL: "localhost:8000" } })).message).toContain(
      'env A2A_SERVER_URL="localhost:8000": expected an http(s) URL',
    );
  });

  test("flags: bad URL, missing value, negated value flag", async () => {
    expect((await configError({ flags: { server: "ftp://x" } })).message).toBe(
      'config: flag --server "ftp://x": expected an http(s) URL like http://host:8000',
    );
    expect((await configError({ flags: { "poll-interval": "" } })).message).toBe("config: flag --poll-interval: expected a value");
    expect((await configError({ flags: { token: false } })).message).toBe("config: flag --no-token: --token takes a value and cannot be negated");
    expect((await configError({ flags: { "lease-seconds": 0 } })).message).toBe('config: flag --lease-seconds "0": must be > 0 (seconds)');
  });

  test("secrets never appear in error messages", async () => {
    const e = await configError({ env: { A2A_DATABASE_URL: "mysql://u:hunter2@db/x" } });
    expect(e.message).toBe('config: env A2A_DATABASE_URL="mysql://u:***@db/x": expected postgres://user:pass@host:5432/db');
    const f = writeJson(join(root, "c.json"), { auth_tokens: ["ci:hunter2", 5] });
    expect((await configError({ flags: { config: f } })).message).not.toContain("hunter2");
  });
});

describe("unknown keys", () => {
  test("warn with the closest known key, never fail", async () => {
    const f = writeJson(join(root, "c.json"), {
      poll_intervall: 3,
      "poll-interval": 4,
      A2A_AUTH_TOKEN: "x",
      server: "http://x",
      zzzz: 1,
      $schema: "https://example/schema.json",
      codebases: [{ name: "a", path: "/a", descr: "d" }],
    });
    const r = await resolve({ flags: { config: f } });
    expect(r.warnings).toEqual([
      `unknown key "poll_intervall" in ${f} (did you mean "poll_interval"?)`,
      `unknown key "poll-interval" in ${f} (did you mean "poll_interval"?)`,
      `unknown key "A2A_AUTH_TOKEN" in ${f} (did you mean "auth_token"?)`,
      `unknown key "server" in ${f} (did you mean "server_url"?)`,
      `unknown key "zzzz" in ${f}`,
      `unknown key "descr" in codebases[0] in ${f} (did you mean "description"?)`,
    ]);
    expect(r.sources.poll_interval).toBe("default");
  });

  test("suggest handles typos, flag names and env names", () => {
    expect(suggest("heartbeat_intervl")).toBe("heartbeat_interval");
    expect(suggest("name")).toBe("worker_name");
    expect(suggest("DATABASE_URL")).toBe("database_url");
    expect(suggest("maxConcurrentTasks")).toBe("max_concurrent_tasks");
  });
});

describe("codebases and paths", () => {
  test("relative paths in the file resolve against the file's directory", async () => {
    const f = writeJson(join(root, "etc2", "c.json"), {
      codebases: [{ name: "api", path: "src/api", description: "the API" }, { path: "../web" }, "docs:~/docs"],
      allowed_paths: ["src", "/abs"],
    });
    const r = await resolve({ flags: { config: f } });
    expect(r.config.codebases).toEqual([
      { name: "api", path: join(root, "etc2", "src", "api"), description: "the API" },
      { name: "web", path: join(root, "web") },
      { name: "docs", path: join(home, "docs") },
    ]);
    expect(r.config.allowed_paths).toEqual([join(root, "etc2", "src"), "/abs"]);
  });

  test("from env and flags they resolve against cwd; a bare path is named by its basename", async () => {
    const r = await resolve({ env: { A2A_CODEBASES: "api:rel/api, /srv/web ,./docs" } });
    expect(r.config.codebases).toEqual([
      { name: "api", path: join(cwd, "rel", "api") },
      { name: "web", path: "/srv/web" },
      { name: "docs", path: join(cwd, "docs") },
    ]);
    const r2 = await resolve({ flags: { codebase: ["a:x", "b:/y,c:z"], "allowed-path": ["p", "/q"] } });
    expect(r2.config.codebases).toEqual([
      { name: "a", path: join(cwd, "x") },
      { name: "b", path: "/y" },
      { name: "c", path: join(cwd, "z") },
    ]);
    expect(r2.sources.codebases).toBe("flag --codebase");
    expect(r2.config.allowed_paths).toEqual([join(cwd, "p"), "/q"]);
    // citty hands a single flag as a plain string
    expect((await resolve({ flags: { codebase: "one:/1" } })).config.codebases).toEqual([{ name: "one", path: "/1" }]);
  });

  test('isolation: a file entry\'s "isolation", or a :worktree / :shared suffix on the text form; anything else is an error', async () => {
    const f = writeJson(join(root, "etc3", "c.json"), { codebases: [{ name: "api", path: "/srv/api", isolation: "worktree" }, "web:/srv/web:shared"] });
    expect((await resolve({ flags: { config: f } })).config.codebases).toEqual([
      { name: "api", path: "/srv/api", isolation: "worktree" },
      { name: "web", path: "/srv/web", isolation: "shared" },
    ]);
    const r = await resolve({ env: { A2A_CODEBASES: "api:/srv/api:worktree,/srv/docs:worktree,plain:/srv/plain" } });
    expect(r.config.codebases).toEqual([
      { name: "api", path: "/srv/api", isolation: "worktree" },
      { name: "docs", path: "/srv/docs", isolation: "worktree" },
      { name: "plain", path: "/srv/plain" },
    ]);
    writeJson(f, { codebases: [{ name: "api", path: "/srv/api", isolation: "copy" }] });
    expect((await configError({ flags: { config: f } })).message).toBe(`config: ${f}: codebases[0]: "isolation" must be "shared" or "worktree", got "copy"`);
  });

  test("bad codebase text is an error naming the source", async () => {
    expect((await configError({ env: { A2A_CODEBASES: "api:" } })).message).toBe(
      'config: env A2A_CODEBASES="api:": codebase "api:": missing path after "api:"',
    );
    expect((await configError({ flags: { codebase: ["a:/x", "a:/y"] } })).message).toContain('flag --codebase "a:/x,a:/y": codebase name "a" is used twice');
  });
});

describe("masking", () => {
  test("maskedValue", () => {
    expect(maskedValue("auth_token", "s3cret")).toBe("***");
    expect(maskedValue("auth_tokens", ["ci:abc", "bare"])).toEqual(["ci:***", "***"]);
    expect(maskedValue("database_url", "postgres://u:pw@h/db")).toBe("postgres://u:***@h/db");
    expect(maskedValue("database_url", "postgres://u@h/db")).toBe("postgres://u@h/db");
    expect(maskedValue("server_url", "http://user:pw@h:1/")).toBe("http://user:***@h:1/");
    expect(maskedValue("worker_name", "w1")).toBe("w1");
    expect(maskedValue("auth_token", undefined)).toBeUndefined();
  });

  test("secretStrings lists what a log must never show", async () => {
    const r = await resolve({ env: { A2A_AUTH_TOKEN: "tok-1", A2A_AUTH_TOKENS: "ci:tok-2,tok-3", DATABASE_URL: "postgres://u:p%40ss@h/db" } });
    expect(secretStrings(r.config).sort()).toEqual(["p%40ss", "p@ss", "tok-1", "tok-2", "tok-3"]);
  });
});

describe("argv -> flags (src/commands/_args.ts, _shared.ts)", () => {
  const all = commandConfig(["client", "worker", "server"], {}).args;
  const flagsOf = (argv: string[]) => configFlags(parseArgv(all, argv, { command: "t" }).args);

  test("only flags given on the command line count", () => {
    expect(flagsOf([])).toEqual({});
    expect(flagsOf(["--poll-interval", "3", "--config=/x.json"])).toEqual({ "poll-interval": "3", config: "/x.json" });
  });

  test("a string flag takes the next token, whatever it is", () => {
    expect(flagsOf(["--poll-interval", "0"])).toEqual({ "poll-interval": "0" });
    expect(flagsOf(["--data-dir", "-x"])).toEqual({ "data-dir": "-x" });
  });

  test("repeatable flags keep every value", () => {
    expect(flagsOf(["--codebase", "a:/x", "--codebase=b:/y", "--allowed-path", "/p", "--allowed-path", "/q"])).toEqual({
      codebase: ["a:/x", "b:/y"],
      "allowed-path": ["/p", "/q"],
    });
    expect(flagsOf(["--capabilities", "a,b"])).toEqual({ capabilities: ["a,b"] });
  });

  test("booleans: --flag, --no-flag, --flag=value read strictly", async () => {
    expect(flagsOf(["--sync-sessions"])).toEqual({ "sync-sessions": true });
    expect(flagsOf(["--no-sync-sessions"])).toEqual({ "sync-sessions": false });
    expect(flagsOf(["--sync-sessions=false"])).toEqual({ "sync-sessions": false });
    expect((await resolve({ flags: flagsOf(["--sync-sessions=0"]) })).config.sync_sessions).toBe(false);
    expect((await resolve({ flags: flagsOf(["--no-sync-sessions"]) })).config.sync_sessions).toBe(false);
    expect((await resolve({ flags: flagsOf(["--sync-sessions"]) })).config.sync_sessions).toBe(true);
    expect(() => flagsOf(["--sync-sessions=maybe"])).toThrow("--sync-sessions: expected true or false, got 'maybe'");
  });

  test("unknown flags are usage errors with the nearest flag", () => {
    const specs = { agent: { type: "string" as const }, json: { type: "boolean" as const } };
    const err = (argv: string[]) => {
      try {
        parseArgv(specs, argv, { command: "codetether task create" });
      } catch (e) {
        return e as CliError;
      }
      throw new Error("no error");
    };
    expect(err(["--agnet", "echo"]).message).toBe("unknown flag --agnet (did you mean --agent?)");
    expect(err(["--agnet", "echo"]).exitCode).toBe(2);
    expect(err(["--zzzzzz"]).message).toBe("unknown flag --zzzzzz (see: codetether task create --help)");
    expect(err(["stray"]).message).toContain("unexpected argument 'stray'");
    expect(err(["--agent"]).message).toContain("--agent needs a value");
    expect(err(["--no-agent"]).message).toContain("unknown flag --no-agent");
  });

  test("a command's own arg shadows the config flag of the same name", () => {
    const cfg = commandConfig(["worker"], { codebase: { type: "string" } });
    expect(cfg.args.codebase).toEqual({ type: "string" });
    expect(cfg.keys).toContain("codebases"); // still read from file and env
    expect(cfg.flagKeys).not.toContain("codebases");
    const { args } = parseArgv(cfg.args, ["--codebase", "api"], { command: "t" });
    expect(configFlags(args, cfg.flagKeys)).toEqual({});
  });

  test("each scope lists only its keys", () => {
    const client = Object.keys(commandConfig(["client"], {}).args);
    expect(client.sort()).toEqual(["config", "server", "token"]);
    const server = Object.keys(commandConfig(["server"], {}).args);
    expect(server).toContain("port");
    expect(server).not.toContain("codebase");
    expect(server).not.toContain("server");
    const worker = Object.keys(commandConfig(["worker"], {}).args);
    expect(worker).toContain("codebase");
    expect(worker).not.toContain("port");
    expect(worker).not.toContain("auth-tokens");
  });

  test("out-of-scope env vars are neither read nor validated", async () => {
    const r = await resolveConfig({ env: { A2A_POLL_INTERVAL: "0", HOME: "/nonexistent" }, keys: ["server_url"], etcDir: "/nonexistent" });
    expect(r.config.poll_interval).toBe(5);
    expect(r.sources.poll_interval).toBe("default");
  });
});

describe("JSON errors with a position", () => {
  const at = async (text: string) => {
    const r = await parseJson(text);
    return r.ok ? "ok" : `${r.line}:${r.column} ${r.message}`;
  };
  test("positions and messages", async () => {
    const QUOTES = "unexpected text: JSON wants double-quoted strings, numbers, true, false or null";
    expect(await at('{"a": [1, 2]}')).toBe("ok");
    expect(await at('\uFEFF{"a": 1}')).toBe("ok");
    expect(await at('{"a": 1,}')).toBe('1:9 expected a "quoted" property name (no trailing commas)');
    expect(await at('{\n "a": 1\n "b": 2}')).toBe("3:2 expected ',' (or the end of the list/object)");
    expect(await at("{'a': 1}")).toBe(`1:2 ${QUOTES}`);
    expect(await at('{"a": 1} // note')).toBe("1:10 comments are not allowed in JSON");
    expect(await at('{\n  // c\n  "a": 1}')).toBe("2:3 comments are not allowed in JSON");
    expect(await at('{"a": "x')).toBe("1:7 unterminated string");
    expect(await at('{"a": 01}')).toStartWith("1:8 ");
    expect(await at("")).toBe("1:1 empty file, expected a JSON object");
    expect(await at('{"a": tru}')).toBe(`1:7 ${QUOTES}`);
  });
  test("valid JSON parses to what JSON.parse gives", async () => {
    for (const ok of ['{"a":{"b":[true,false,null,-1.5e3,"\\u00e9\\n"]}}', "[]", " 1 ", '""']) {
      expect(await parseJson(ok)).toEqual({ ok: true, value: JSON.parse(ok) });
    }
  });
});
