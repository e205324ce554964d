// One worker per worker_id per host: a pid lock (../util/pidlock.ts) in the data dir.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { CliError, EXIT } from "../util/errors.ts";
import { acquirePidLock, pidLockHolder } from "../util/pidlock.ts";

export function lockPaths(dataDir: string, workerId: string) {
  const safe = workerId.replace(/[^A-Za-z0-9._-]/g, "_");
  return { file: join(dataDir, `worker-${safe}.pid`), lock: join(dataDir, `worker-${safe}.lock`) };
}

/** The pid holding the lock for this worker id, or null when no live worker holds it. */
export function lockHolder(dataDir: string, workerId: string): number | null {
  return pidLockHolder(lockPaths(dataDir, workerId));
}

export async function acquireWorkerLock(dataDir: string, workerId: string): Promise<() => Promise<void>> {
  mkdirSync(dataDir, { recursive: true });
  return acquirePidLock(lockPaths(dataDir, workerId), (holder) => new CliError(`worker '${workerId}' is already running (${holder})`, EXIT.FAILURE));
}
