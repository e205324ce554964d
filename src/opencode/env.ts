// The environment every opencode process gets, where OpenCode keeps its data, and the
// one `opencode db path` call that opens (and migrates) its database before anything else.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { isAbsolute, join } from "node:path";

/**
 * Env every opencode process gets unless the caller overrides it: a worker never
 * self-upgrades its agent mid-fleet. OPENCODE_DISABLE_MODELS_FETCH is deliberately not
 * set: with it OpenCode knows only the models of its release (or of an old cache), so a
 * task naming a newer model would fail; the fetch runs in the background and a failed one
 * costs a log line (README "OpenCode on closed networks").
 */
export const OPENCODE_BASE_ENV: Record<string, string> = { OPENCODE_DISABLE_AUTOUPDATE: "1" };

/** process.env, then OPENCODE_BASE_ENV, then `extra`; with `cwd`, PWD = cwd. */
export function opencodeEnv(extra?: Record<string, string>, cwd?: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  Object.assign(env, OPENCODE_BASE_ENV, extra);
  // OpenCode takes its project directory from $PWD before process.cwd(): an inherited PWD
  // would make it work in the worker's directory instead of the codebase.
  if (cwd) env.PWD = cwd;
  return env;
}

export function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** OpenCode's data dir: xdg-basedir's rule ($XDG_DATA_HOME, else ~/.local/share, on every OS). */
function dataDir(e: Record<string, string>): string {
  return join(e.XDG_DATA_HOME || join(e.HOME || homedir(), ".local", "share"), "opencode");
}

/** Where the env says the db is, without running opencode: null for `:memory:`. */
export function dbPathFromEnv(env?: Record<string, string>): string | null {
  const e = opencodeEnv(env);
  const o = e.OPENCODE_DB;
  if (o) return o === ":memory:" ? null : isAbsolute(o) ? o : join(dataDir(e), o);
  return join(dataDir(e), "opencode.db");
}

/**
 * Short helper runs of OpenCode in flight (`db path`, `models`): killed when this process
 * exits, so a stopping worker leaves none behind (each costs a second or two of CPU, and
 * back-to-back restarts piled them up).
 */
const helpers = new Set<ChildProcess>();
export function trackHelper(child: ChildProcess): void {
  helpers.add(child);
  child.on("close", () => helpers.delete(child));
}
process.on("exit", () => {
  for (const c of helpers) c.kill("SIGKILL");
});

const dbPaths = new Map<string, Promise<string | null>>();

/**
 * `opencode db path`, once per binary and data dir per process: it prints the db's path
 * and opens the db, which runs OpenCode's migrations. Concurrent first starts on a fresh
 * or just-upgraded db race in the migrations and fail with "database is locked" /
 * "Failed query: CREATE TABLE" (OpenCode issues #33320, #21215), so runs wait for this
 * first. Never throws: null when it printed no path.
 */
export function opencodeDbPath(bin: string, env?: Record<string, string>): Promise<string | null> {
  const e = opencodeEnv(env);
  const key = [bin, e.OPENCODE_DB ?? "", e.XDG_DATA_HOME ?? "", e.HOME ?? ""].join("\0");
  let p = dbPaths.get(key);
  if (!p) {
    p = new Promise<string | null>((done) => {
      // cwd HOME: no project is detected in whatever dir the caller runs in
      const cwd = e.HOME && existsSync(e.HOME) ? e.HOME : undefined;
      const child = spawn(bin, ["db", "path"], { cwd, env: e, stdio: ["ignore", "pipe", "ignore"] });
      trackHelper(child);
      let out = "";
      child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
      const t = setTimeout(() => child.kill("SIGKILL"), 60_000);
      child.on("error", () => {
        clearTimeout(t);
        done(null);
      });
      child.on("close", (code) => {
        clearTimeout(t);
        const line = out.trim().split("\n").at(-1)?.trim() ?? "";
        done(code === 0 && isAbsolute(line) ? line : null);
      });
    });
    dbPaths.set(key, p);
  }
  return p;
}

/** Opens OpenCode's database once (see opencodeDbPath) before runs start in parallel. */
export async function prepareOpencode(bin: string, env?: Record<string, string>): Promise<void> {
  await opencodeDbPath(bin, env);
}

/** OPENCODE_DB, else $XDG_DATA_HOME/opencode/opencode.db, else what `opencode db path` says. */
export async function locateOpencodeDb(bin: string, env?: Record<string, string>): Promise<string | null> {
  const e = opencodeEnv(env);
  const guess = dbPathFromEnv(env);
  if (e.OPENCODE_DB || (guess && existsSync(guess))) return guess;
  // not there: another release channel (opencode-<channel>.db) or no db yet
  return opencodeDbPath(bin, env);
}
