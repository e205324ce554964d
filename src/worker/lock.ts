// One worker per worker_id per host: a pid lock (../util/pidlock.ts) in the data dir.
// The instance file beside it names the server-side identity of the process holding the
// lock (see src/server/identity.ts): the next process on this data dir, once it holds the
// lock, knows its predecessor is dead and tells the server which instance it replaces.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { hostname, uptime } from "node:os";
import { join } from "node:path";
import { CliError, EXIT } from "../util/errors.ts";
import { acquirePidLock, pidLockHolder } from "../util/pidlock.ts";

export function lockPaths(dataDir: string, workerId: string) {
  const safe = workerId.replace(/[^A-Za-z0-9._-]/g, "_");
  return { file: join(dataDir, `worker-${safe}.pid`), lock: join(dataDir, `worker-${safe}.lock`), instance: join(dataDir, `worker-${safe}.instance.json`) };
}

/** The pid holding the lock for this worker id, or null when no live worker holds it. */
export function lockHolder(dataDir: string, workerId: string): number | null {
  return pidLockHolder(lockPaths(dataDir, workerId));
}

export async function acquireWorkerLock(dataDir: string, workerId: string): Promise<() => Promise<void>> {
  mkdirSync(dataDir, { recursive: true });
  return acquirePidLock(lockPaths(dataDir, workerId), (holder) => new CliError(`worker '${workerId}' is already running (${holder})`, EXIT.FAILURE));
}

export interface InstanceRecord {
  instance_id: string;
  pid: number;
  hostname: string;
  boot_id: string;
  started_at: string;
}

/**
 * This boot of this machine: the kernel's boot id on Linux, else the boot time to the minute.
 * A data dir copied to another machine (a cloned image) then never passes for a restart.
 */
export function bootId(): string {
  try {
    return readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
  } catch {
    return `boot@${Math.round((Date.now() / 1000 - uptime()) / 60)}`;
  }
}

/**
 * The instance the previous worker process on this data dir ran as, when that process ran on
 * this host in this boot; null otherwise. Call only while holding the lock: the previous
 * process is then known to be dead, so the server may hand its worker id over at once.
 */
export function previousInstance(dataDir: string, workerId: string): string | null {
  try {
    const r = JSON.parse(readFileSync(lockPaths(dataDir, workerId).instance, "utf8")) as Partial<InstanceRecord>;
    if (typeof r.instance_id !== "string" || r.hostname !== hostname() || r.boot_id !== bootId() || r.pid === process.pid) return null;
    return r.instance_id;
  } catch {
    return null;
  }
}

/** Records this process's instance for the next start (kept after exit: a crash leaves it for the restart). */
export function recordInstance(dataDir: string, workerId: string, instanceId: string, startedAt: string): void {
  const rec: InstanceRecord = { instance_id: instanceId, pid: process.pid, hostname: hostname(), boot_id: bootId(), started_at: startedAt };
  const p = lockPaths(dataDir, workerId).instance;
  writeFileSync(`${p}.tmp`, JSON.stringify(rec, null, 2));
  renameSync(`${p}.tmp`, p);
}
