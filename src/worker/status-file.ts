// A running worker keeps a small status file in data_dir so `codetether worker status`
// can report the local view (pid, uptime, running tasks, last server contact).
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { WorkerContext } from "./context.ts";

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
    // No file (the worker has not written one) or not ours to read: `worker status` then shows no local status.
    return null;
  }
}

export interface StatusWriter {
  save(): void;
  /** Saves only when something besides updated_at changed: the idle worker's periodic
   * refresh would otherwise rewrite the same file every few seconds (P3 idle CPU). */
  refresh(): void;
  /** Within a second, not at once: a busy worker would otherwise rewrite the file twice per task (renames were its top cost in P2). */
  saveSoon(): void;
  /** Cancels a pending saveSoon. */
  stop(): void;
}

export function statusWriter(ctx: WorkerContext, streaming: () => boolean): StatusWriter {
  let timer: ReturnType<typeof setTimeout> | null = null;
  let written = "";
  const current = (): LocalStatus => ({
    pid: process.pid,
    instance_id: ctx.instance.id,
    worker_id: ctx.workerId,
    worker_name: ctx.config.worker_name,
    server_url: ctx.config.server_url,
    started_at: ctx.instance.started_at,
    updated_at: new Date().toISOString(),
    streaming: streaming(),
    last_contact: ctx.stats.lastContact,
    running: [...ctx.running.values()].map((r) => ({ id: r.id, attempt: r.attempt, started_at: r.started_at })),
    tasks_completed: ctx.stats.completed,
    tasks_failed: ctx.stats.failed,
    tasks_cancelled: ctx.stats.cancelled,
  });
  const unchangedKey = (s: LocalStatus) => JSON.stringify({ ...s, updated_at: "" });
  const write = (s: LocalStatus) => {
    writeStatus(ctx.config.data_dir, s);
    written = unchangedKey(s);
  };
  const save = () => write(current());
  return {
    save,
    refresh() {
      const s = current();
      if (unchangedKey(s) !== written) write(s);
    },
    saveSoon() {
      timer ??= setTimeout(() => {
        timer = null;
        save();
      }, 1000);
    },
    stop() {
      if (timer) clearTimeout(timer);
      timer = null;
    },
  };
}
