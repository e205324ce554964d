// Agents must not outlive their worker. A worker that is killed (kill -9, OOM, a crash)
// cannot stop its OpenCode runs, and OpenCode's bash tool starts commands in their own
// session, so neither a process-group kill nor OpenCode's own death reaches them. Two
// guards, both fed by one record per running agent in the worker's data dir (a file
// `<pid>.pids`: "pid start" lines, the agent first, then its descendants as last seen):
//  - the watchdog: a tiny `sh` the worker starts, reading a pipe from the worker. When the
//    worker dies the kernel closes that pipe, and the watchdog stops every recorded agent
//    with its current process tree, while OpenCode still lives and its tree is whole.
//    (Not the kernel's parent-death signal: it would kill OpenCode first and orphan its
//    tools, which could then no longer be found as its descendants.)
//  - reapAgents, when a worker starts: whatever its previous incarnation left (the
//    watchdog was killed too, or the machine was suspended) is stopped before it claims.
// A pid is signalled only while its start time is the recorded one: never a reused pid.
// Start times come from /proc: on systems without it nothing is recorded or reaped.
import { spawn } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { descendants, signalAll, startTime } from "./proctree.ts";

const HAVE_PROC = process.platform === "linux";

export interface AgentRecord {
  /** Rewrites the record with the agent's descendants as now seen (pid -> start time). */
  update(tree: Map<number, string>): void;
  /** The agent ended and its tree was dealt with: forget it. */
  remove(): void;
}

const ignore = (): void => undefined;
const NOOP: AgentRecord = { update: ignore, remove: ignore };

/** Starts the record of an agent just spawned (a no-op without /proc). */
export function recordAgent(dir: string, pid: number): AgentRecord {
  const start = HAVE_PROC ? startTime(pid) : null;
  if (!start) return NOOP;
  const file = join(dir, `${pid}.pids`);
  let last = "";
  const write = (tree: Map<number, string>) => {
    const text = [[pid, start], ...tree].map(([p, s]) => `${p} ${s}\n`).join("");
    if (text === last) return;
    last = text;
    try {
      mkdirSync(dir, { recursive: true });
      writeFileSync(`${file}.tmp`, text);
      renameSync(`${file}.tmp`, file); // the watchdog never reads half a record
    } catch {} // a full disk must not fail the task; the watchdog still walks the live tree
  };
  write(new Map());
  return {
    update: write,
    remove() {
      rmSync(file, { force: true });
    },
  };
}

function readRecords(dir: string): { file: string; procs: [number, string][] }[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith(".pids"));
  } catch {
    return [];
  }
  return names.map((n) => {
    const file = join(dir, n);
    let text = "";
    try {
      text = readFileSync(file, "utf8");
    } catch {
      // no record file (or unreadable): nothing was recorded there
    }
    const procs = text
      .split("\n")
      .map((l) => l.trim().split(" "))
      .filter((f) => f.length === 2 && /^\d+$/.test(f[0]!) && f[1])
      .map((f): [number, string] => [Number(f[0]), f[1]!]);
    return { file, procs };
  });
}

/**
 * Stops what a previous worker left running: every recorded process whose start time is
 * still the recorded one, with its current descendants (SIGSTOP first, so nothing forks
 * while we look, then SIGKILL). Removes the records. Returns the pids signalled.
 */
export function reapAgents(dir: string): number[] {
  if (!HAVE_PROC) return [];
  const records = readRecords(dir);
  const alive = records
    .flatMap((r) => r.procs)
    .filter(([pid, start]) => pid !== process.pid && startTime(pid) === start)
    .map(([pid]) => pid);
  const doomed = new Set(alive);
  if (alive.length) {
    signalAll(alive, "SIGSTOP");
    for (const pid of descendants(alive).keys()) doomed.add(pid);
    signalAll(doomed, "SIGSTOP");
    signalAll(doomed, "SIGKILL");
  }
  for (const r of records) rmSync(r.file, { force: true });
  return [...doomed];
}

/**
 * The watchdog's script. $1 = records dir. It waits for EOF on stdin (the worker's end of
 * the pipe closes when the worker exits, however it dies), then does what reapAgents
 * does, with /proc/<pid>/task/<tid>/children to walk the tree. Terminal and service
 * signals are ignored: only the worker's end decides.
 */
const WATCHDOG_SH = `
trap '' INT HUP TERM
while read -r _; do :; done
start_of() { s=$(cat "/proc/$1/stat" 2>/dev/null) || return 0; s=\${s##*) }; set -- $s; echo "\${20}"; }
tree() { for c in $(cat /proc/$1/task/*/children 2>/dev/null); do echo "$c"; tree "$c"; done; }
doomed=""
for f in "$1"/*.pids; do
  [ -f "$f" ] || continue
  while read -r pid start; do
    [ -n "$pid" ] && [ "$(start_of "$pid")" = "$start" ] || continue
    kill -STOP "$pid" 2>/dev/null
    doomed="$doomed $pid $(tree "$pid")"
  done < "$f"
done
for p in $doomed; do kill -STOP "$p" 2>/dev/null; done
for p in $doomed; do kill -KILL "$p" 2>/dev/null; done
rm -f "$1"/*.pids
`;

export interface Watchdog {
  pid: number | undefined;
  /** The worker is stopping normally: let the watchdog stop what is left and exit. */
  close(): void;
}

/** Starts the watchdog for the agents recorded in `dir` (nothing without /proc). */
export function startWatchdog(dir: string): Watchdog {
  if (!HAVE_PROC) return { pid: undefined, close: ignore };
  mkdirSync(dir, { recursive: true });
  // Own session (detached): a Ctrl-C to the worker's terminal does not reach it.
  const child = spawn("sh", ["-c", WATCHDOG_SH, "codetether-watchdog", dir], { detached: true, stdio: ["pipe", "ignore", "ignore"] });
  child.on("error", ignore); // no sh: reapAgents at the next start still covers it
  child.stdin?.on("error", ignore); // EPIPE when the watchdog is gone
  child.unref();
  (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  return {
    pid: child.pid,
    close() {
      child.stdin?.end();
    },
  };
}
