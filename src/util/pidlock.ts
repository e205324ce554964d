// An exclusive lock on a file that names its holder. proper-lockfile gives the
// cross-process lock (an mkdir, refreshed while we run, stale after STALE_MS); the pid file
// beside it names the holder, so a refusal can say who holds it and a restart right after
// a SIGKILL takes over at once (the holder's pid is gone) instead of waiting for staleness.
// Used for "one worker per name per host" and "one server per SQLite file".
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import lockfile from "proper-lockfile";

// proper-lockfile refreshes the lock's mtime every STALE_MS / 2, a wake-up of an otherwise
// idle worker. The pid file decides for a holder on this host (dead pid: taken over at once,
// live pid: refused, whatever the mtime), so staleness only decides for a holder on another
// host (a shared data directory): 30 s there instead of 10, for 4 refreshes a minute instead of 12.
const STALE_MS = 30_000;
const RECHECK_MS = 500;
/** Locks this process holds: a second holder in the same process must be refused too (in-process servers in tests). */
const heldHere = new Set<string>();

export interface PidLockPaths {
  /** Holds "<pid> <hostname>" of the holder. */
  file: string;
  /** proper-lockfile's lock directory. */
  lock: string;
}

function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Pid and host written by the holder; host is null in files written before hosts were recorded. */
function readHolder(file: string): { pid: number; host: string | null } {
  let text = "";
  try {
    text = readFileSync(file, "utf8").trim();
  } catch {
    // no pid file: the holder died between locking and writing it; reported as pid NaN
  }
  const [pid, host] = text.split(/\s+/);
  return { pid: Number(pid), host: host || null };
}

interface Holder {
  pid: number;
  /** Set when the holder runs on another host. */
  host: string | null;
}

/** "pid 123", or "pid 123 on build-2" for a holder on another host. */
const describeHolder = (h: Holder) => `pid ${h.pid}${h.host ? ` on ${h.host}` : ""}`;

/**
 * The live holder other than this process, or null. A holder on another host (a data
 * directory shared between machines or containers) cannot be probed by pid: it counts as
 * live while proper-lockfile keeps its lock fresh.
 */
function liveHolder(p: PidLockPaths): Holder | null {
  const { pid, host } = readHolder(p.file);
  if (host && host !== hostname()) return { pid, host };
  if (pid === process.pid) return heldHere.has(p.lock) ? { pid, host: null } : null;
  return pidAlive(pid) ? { pid, host: null } : null;
}

/** The pid holding the lock, or null when no live process other than this one holds it. */
export function pidLockHolder(p: PidLockPaths): number | null {
  if (!lockfile.checkSync(p.file, { lockfilePath: p.lock, realpath: false, stale: STALE_MS })) return null;
  const h = liveHolder(p);
  return h && h.pid !== process.pid ? h.pid : null;
}

/**
 * Takes the lock or throws `refuse("pid N")` naming the live holder. A lock left by a dead
 * holder (SIGKILL, power loss) is broken and taken. Resolves to the release function.
 */
export async function acquirePidLock(p: PidLockPaths, refuse: (holder: string) => Error): Promise<() => Promise<void>> {
  const opts = { lockfilePath: p.lock, realpath: false, stale: STALE_MS, onCompromised: () => undefined }; // a lost lock is found by the next start, not here
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(p.file, opts);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ELOCKED") throw err;
    let holder = liveHolder(p);
    // A holder that has just taken the lock writes its pid a moment later: look twice
    // before calling it dead, or two servers starting together could both win.
    if (!holder)
      holder = await Bun.sleep(RECHECK_MS).then(() =>
        lockfile.checkSync(p.file, { lockfilePath: p.lock, realpath: false, stale: STALE_MS }) ? liveHolder(p) : null,
      );
    if (holder) throw refuse(describeHolder(holder));
    // The holder died without unlocking: its lock is ours to break.
    rmSync(p.lock, { recursive: true, force: true });
    release = await lockfile.lock(p.file, opts);
  }
  writeFileSync(p.file, `${process.pid} ${hostname()}`);
  heldHere.add(p.lock);
  return async () => {
    heldHere.delete(p.lock);
    await release().catch(() => undefined); // already released (stale): removing the file below is what matters
    rmSync(p.file, { force: true });
  };
}
