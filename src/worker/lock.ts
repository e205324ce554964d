// One worker per worker_id per host. proper-lockfile gives the cross-process lock; the
// pid file beside it lets us name the holder, and lets a restart right after a SIGKILL
// take over at once (the holder's pid is gone) instead of waiting for lock staleness.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import lockfile from "proper-lockfile";
import { CliError, EXIT } from "../util/errors.ts";

export function lockPaths(dataDir: string, workerId: string) {
  const safe = workerId.replace(/[^A-Za-z0-9._-]/g, "_");
  return { file: join(dataDir, `worker-${safe}.pid`), lock: join(dataDir, `worker-${safe}.lock`) };
}

export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The pid holding the lock for this worker id, or null when no live worker holds it. */
export function lockHolder(dataDir: string, workerId: string): number | null {
  const { file, lock } = lockPaths(dataDir, workerId);
  if (!lockfile.checkSync(file, { lockfilePath: lock, realpath: false, stale: 10_000 })) return null;
  const pid = Number(readFileSafe(file));
  return pidAlive(pid) && pid !== process.pid ? pid : null;
}

export async function acquireWorkerLock(dataDir: string, workerId: string): Promise<() => Promise<void>> {
  mkdirSync(dataDir, { recursive: true });
  const { file, lock } = lockPaths(dataDir, workerId);
  const opts = { lockfilePath: lock, realpath: false, stale: 10_000, onCompromised: () => {} };
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(file, opts);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ELOCKED") throw err;
    const pid = Number(readFileSafe(file));
    if (pidAlive(pid) && pid !== process.pid) {
      throw new CliError(`worker '${workerId}' is already running (pid ${pid})`, EXIT.FAILURE);
    }
    // The holder died without unlocking (SIGKILL): its lock is ours to break.
    rmSync(lock, { recursive: true, force: true });
    release = await lockfile.lock(file, opts);
  }
  writeFileSync(file, String(process.pid));
  return async () => {
    await release().catch(() => {});
    rmSync(file, { force: true });
  };
}

function readFileSafe(p: string): string {
  try {
    return readFileSync(p, "utf8").trim();
  } catch {
    return "";
  }
}
