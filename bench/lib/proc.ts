// Processes under measurement: the server as its own process (the compiled binary, like
// production), and what /proc says about any pid (CPU seconds, RSS).
import { closeSync, openSync, readdirSync, readFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { binary, BUN, CLI_SRC } from "./env.ts";

let ticks = 0;
/** Clock ticks per second of /proc/<pid>/stat times. */
function clkTck(): number {
  if (!ticks) {
    try {
      ticks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      ticks = 100;
    }
  }
  return ticks;
}

/** User + system CPU seconds a process has used so far; with `children`, plus those of its reaped children. */
export function cpuSeconds(pid: number, children = false): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" "); // f[0] is field 3 (state)
  const own = Number(f[11]) + Number(f[12]);
  return (children ? own + Number(f[13]) + Number(f[14]) : own) / clkTck();
}

/** Resident set size and its peak (bytes), from /proc/<pid>/status. */
export function memory(pid: number): { rss: number; peak: number } {
  const s = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (k: string) => Number(s.match(new RegExp(`^${k}:\\s+(\\d+) kB`, "m"))?.[1] ?? NaN) * 1024;
  return { rss: kb("VmRSS"), peak: kb("VmHWM") };
}

/** Child processes of `pid` (all its threads'). */
export function children(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).flatMap((t) => {
    try {
      return readFileSync(`/proc/${pid}/task/${t}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
    } catch {
      return [];
    }
  });
}
const isWatchdog = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("codetether-watchdog");
  } catch {
    return false;
  }
};
/** A child other than the worker's watchdog (which lives as long as the worker): e.g. `opencode db path`. */
export const hasChildren = (pid: number) => children(pid).some((c) => !isWatchdog(c));

export interface Proc {
  pid: number;
  proc: ReturnType<typeof Bun.spawn>;
  logPath: string;
  log(): string;
  /** Resolves with the first match of `re` in the process's output. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  stop(sig?: NodeJS.Signals): Promise<number>;
}

/** Spawns `cmd`, stdout+stderr to `<dir>/<name>.log` (a file: a pipe we forgot to drain would stall it). */
export function spawnLogged(cmd: string[], dir: string, name: string, env: Record<string, string | undefined> = {}): Proc {
  const logPath = join(dir, `${name}.log`);
  const fd = openSync(logPath, "w");
  const proc = Bun.spawn(cmd, {
    env: { ...process.env, NO_COLOR: "1", A2A_CONFIG: undefined, ...env } as unknown as Record<string, string>,
    stdin: "ignore",
    stdout: fd,
    stderr: fd,
    cwd: dir,
  });
  closeSync(fd);
  const log = () => {
    try {
      return readFileSync(logPath, "utf8");
    } catch {
      return "";
    }
  };
  return {
    pid: proc.pid,
    proc,
    logPath,
    log,
    async waitFor(re, timeoutMs = 30_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const m = log().match(re);
        if (m) return m;
        if (proc.exitCode !== null) throw new Error(`${name} exited (${proc.exitCode}) before printing ${re}:\n${log().slice(-2000)}`);
        if (Date.now() > until) throw new Error(`${name} did not print ${re} within ${timeoutMs} ms:\n${log().slice(-2000)}`);
        await Bun.sleep(20);
      }
    },
    async stop(sig = "SIGTERM") {
      if (proc.exitCode === null) proc.kill(sig);
      const t = setTimeout(() => proc.kill("SIGKILL"), 15_000);
      const code = await proc.exited;
      clearTimeout(t);
      return code;
    },
  };
}

export interface ServerProc extends Proc {
  url: string;
  cpuSeconds(): number;
  memory(): { rss: number; peak: number };
}

/** `codetether server start` (compiled binary) on a free port, SQLite in `dir` unless `databaseUrl`. */
export async function startServerProc(dir: string, o: { databaseUrl?: string; args?: string[]; env?: Record<string, string> } = {}): Promise<ServerProc> {
  const store = o.databaseUrl ? ["--database-url", o.databaseUrl] : ["--db", join(dir, "server.db")];
  // BENCH_SERVER_PROFILE=<dir>: run the server from source under Bun's CPU profiler instead (written at exit).
  const prof = process.env.BENCH_SERVER_PROFILE;
  const exe = prof ? [BUN, "--cpu-prof", "--cpu-prof-md", `--cpu-prof-dir=${prof}`, CLI_SRC] : [binary()];
  const p = spawnLogged([...exe, "server", "start", "--port", "0", "--data-dir", dir, ...store, ...(o.args ?? [])], dir, "server", o.env);
  const m = await p.waitFor(/listening on (http:\/\/[\d.:]+)/);
  return { ...p, url: m[1]!, cpuSeconds: () => cpuSeconds(p.pid), memory: () => memory(p.pid) };
}
