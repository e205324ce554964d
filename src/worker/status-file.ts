// A running worker keeps a small status file in data_dir so `codetether worker status`
// can report the local view (pid, uptime, running tasks, last server contact).
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface LocalStatus {
  pid: number;
  /** This process's identity on the server (absent in files of older versions). */
  instance_id?: string;
  worker_id: string;
  worker_name: string;
  server_url: string;
  started_at: string;
  updated_at: string;
  streaming: boolean;
  last_contact: string | null;
  running: { id: string; attempt: number | null; started_at: string }[];
  tasks_completed: number;
  tasks_failed: number;
  tasks_cancelled: number;
}

export function statusPath(dataDir: string, workerId: string): string {
  return join(dataDir, `worker-${workerId.replace(/[^A-Za-z0-9._-]/g, "_")}.status.json`);
}

export function writeStatus(dataDir: string, s: LocalStatus): void {
  mkdirSync(dataDir, { recursive: true });
  const p = statusPath(dataDir, s.worker_id);
  writeFileSync(`${p}.tmp`, JSON.stringify(s, null, 2));
  renameSync(`${p}.tmp`, p);
}

export function readStatus(dataDir: string, workerId: string): LocalStatus | null {
  try {
    return JSON.parse(readFileSync(statusPath(dataDir, workerId), "utf8"));
  } catch {
    return null;
  }
}
