// Malformed config files and env values: `worker start`, `server start` and `config show`
// each exit 78 with exactly one line on stderr that names the culprit, never a stack
// trace, and never start (no server contacted, no port opened). Real processes, an
// isolated HOME and an env of our own (nothing inherited but PATH).
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { KEYS, type KeyName, type Scope } from "../../src/config/schema.ts";
import { BUN, CLI, tempDir } from "../helpers/proc.ts";

setDefaultTimeout(300_000);

const tmp = tempDir("ct-config-bad-");
const home = join(tmp.path, "home");
mkdirSync(home, { recursive: true });
afterAll(() => tmp.cleanup());

const COMMANDS: Record<string, string[]> = {
  "worker start": ["worker", "start", "--server", "http://127.0.0.1:9", "--name", "cfg-w", "--data-dir", join(tmp.path, "data")],
  "server start": ["server", "start", "--port", "0", "--data-dir", join(tmp.path, "sdata")],
  "config show": ["config", "show"],
};

let n = 0;
function file(content: string | Uint8Array, name = `c${++n}.json`): string {
  const p = join(tmp.path, name);
  writeFileSync(p, content);
  return p;
}
const dir = join(tmp.path, "a-directory.json");
mkdirSync(dir);

/** [what, env, text the one line must contain, the key at fault (null: the file itself)] */
const CASES: [string, Record<string, string>, string, KeyName | null][] = [
  ["not JSON", { A2A_CONFIG: file("{ poll_interval: 5,") }, "c1.json", null],
  ["a JSON array", { A2A_CONFIG: file("[1, 2, 3]") }, "c2.json", null],
  ["an empty file", { A2A_CONFIG: file("") }, "c3.json", null],
  ["binary garbage", { A2A_CONFIG: file(new Uint8Array([0xff, 0xfe, 0x00, 0x01, 0x7b])) }, "c4.json", null],
  ["a string where a number goes", { A2A_CONFIG: file(JSON.stringify({ poll_interval: "fast" })) }, "poll_interval", "poll_interval"],
  ["zero concurrency", { A2A_CONFIG: file(JSON.stringify({ max_concurrent_tasks: 0 })) }, "max_concurrent_tasks", "max_concurrent_tasks"],
  ["a huge number", { A2A_CONFIG: file('{"shutdown_grace": 1e999}') }, "shutdown_grace", "shutdown_grace"],
  ["an ftp server URL", { A2A_CONFIG: file(JSON.stringify({ server_url: "ftp://example.com" })) }, "server_url", "server_url"],
  ["codebases not a list", { A2A_CONFIG: file(JSON.stringify({ codebases: "api:/srv/api" })) }, "codebases", "codebases"],
  ["a codebase without a name", { A2A_CONFIG: file(JSON.stringify({ codebases: [{ name: "", path: "/srv" }] })) }, "codebases", "codebases"],
  ["port out of range", { A2A_CONFIG: file(JSON.stringify({ port: 70000 })) }, "port", "port"],
  ["unknown log level", { A2A_CONFIG: file(JSON.stringify({ log_level: "loud" })) }, "log_level", "log_level"],
  ["deeply nested JSON", { A2A_CONFIG: file(`{"capabilities":${"[".repeat(5000)}${"]".repeat(5000)}}`) }, "capabilities", "capabilities"],
  ["a missing file", { A2A_CONFIG: join(tmp.path, "does-not-exist.json") }, "does-not-exist.json", null],
  ["a directory", { A2A_CONFIG: dir }, "a-directory.json", null],
  ["A2A_POLL_INTERVAL=abc", { A2A_POLL_INTERVAL: "abc" }, "A2A_POLL_INTERVAL", "poll_interval"],
  ["A2A_MAX_CONCURRENT_TASKS=1.5", { A2A_MAX_CONCURRENT_TASKS: "1.5" }, "A2A_MAX_CONCURRENT_TASKS", "max_concurrent_tasks"],
  ["A2A_SERVER_URL=not a url", { A2A_SERVER_URL: "not a url" }, "A2A_SERVER_URL", "server_url"],
  ["A2A_PORT=-1", { A2A_PORT: "-1" }, "A2A_PORT", "port"],
  ["A2A_LOG_FORMAT=xml", { A2A_LOG_FORMAT: "xml" }, "A2A_LOG_FORMAT", "log_format"],
  ["A2A_SYNC_SESSIONS=maybe", { A2A_SYNC_SESSIONS: "maybe" }, "A2A_SYNC_SESSIONS", "sync_sessions"],
  ["A2A_CODEBASES without a path", { A2A_CODEBASES: "api:" }, "A2A_CODEBASES", "codebases"],
  ["A2A_LEASE_SECONDS=0", { A2A_LEASE_SECONDS: "0" }, "A2A_LEASE_SECONDS", "lease_seconds"],
  ["A2A_HEARTBEAT_INTERVAL=1e999", { A2A_HEARTBEAT_INTERVAL: "1e999" }, "A2A_HEARTBEAT_INTERVAL", "heartbeat_interval"],
  ["DATABASE_URL=mysql://...", { DATABASE_URL: "mysql://root:hunter2@db/x" }, "DATABASE_URL", "database_url"],
  ["A2A_WORKER_ID with a slash", { A2A_WORKER_ID: "../../etc" }, "A2A_WORKER_ID", "worker_id"],
];

// Running as root, a mode-000 file is still readable: only test it when that means something.
if (process.getuid?.() !== 0) {
  const p = file("{}", "unreadable.json");
  chmodSync(p, 0o000);
  CASES.push(["an unreadable file", { A2A_CONFIG: p }, "unreadable.json", null]);
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

async function run(args: string[], env: Record<string, string>): Promise<Run> {
  const p = Bun.spawn([BUN, CLI, ...args], {
    cwd: tmp.path,
    env: { HOME: home, PATH: process.env.PATH ?? "/usr/bin:/bin", NO_COLOR: "1", ...env },
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
  });
  // A command that did not refuse its config would run (serve, poll): that is a failure too.
  const timer = setTimeout(() => p.kill("SIGKILL"), 30_000);
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  clearTimeout(timer);
  return { code, stdout, stderr };
}

describe("bad config -> exit 78, one line, no stack trace", () => {
  test(`${CASES.length} bad files and env values x the commands that read them`, async () => {
    // A bad value is refused by every command that reads its key (config show reads all);
    // a command that does not read a key neither reads nor checks it (task list ignores A2A_POLL_INTERVAL).
    const reads = (cmd: string, key: KeyName | null) =>
      key === null || cmd === "config show" || (KEYS[key].scope as readonly Scope[]).includes(cmd.split(" ")[0] as Scope);
    const jobs = CASES.flatMap(([what, env, mention, key]) =>
      Object.entries(COMMANDS)
        .filter(([cmd]) => reads(cmd, key))
        .map(([cmd, args]) => ({ what, env, mention, cmd, args })),
    );
    const problems: string[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < jobs.length) {
          const j = jobs[next++]!;
          const r = await run(j.args, j.env);
          const lines = r.stderr.split("\n").filter((l) => l.trim());
          const why = [
            r.code !== 78 && `exit ${r.code}`,
            r.stdout !== "" && `stdout ${JSON.stringify(r.stdout.slice(0, 200))}`,
            lines.length !== 1 && `${lines.length} stderr lines`,
            /\bat .+:\d+:\d+|^\s+at /m.test(r.stderr) && "a stack trace",
            !r.stderr.includes(j.mention) && `no mention of ${j.mention}`,
            r.stderr.includes("hunter2") && "the database password",
          ].filter(Boolean);
          if (why.length) problems.push(`${j.cmd} / ${j.what}: ${why.join(", ")}\n    ${r.stderr.trim().split("\n").slice(0, 3).join("\n    ")}`);
        }
      }),
    );
    expect(problems).toEqual([]);
  });
});
