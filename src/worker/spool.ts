// Final reports go to disk before they go to the server, so a report survives a server
// outage and a worker restart. A report file is removed only once the server answered
// it (accepted, or rejected as stale/unknown): it is delivered at most once per answer,
// and the server's attempt fencing makes a repeated delivery change nothing.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { FinalReport } from "../client/worker-api.ts";
import { errorMessage } from "../util/errors.ts";
import { log } from "../util/log.ts";

export interface Report extends FinalReport {
  created_at: string;
}

export function spoolDir(dataDir: string, workerId: string): string {
  return join(dataDir, "spool", workerId.replace(/[^A-Za-z0-9._-]/g, "_"));
}

const fileName = (r: Pick<Report, "task_id" | "attempt">) => `${r.task_id.replace(/[^A-Za-z0-9._-]/g, "_")}.${r.attempt ?? "x"}.json`;

export function writeReport(dir: string, r: Report): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, fileName(r));
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(r));
  renameSync(tmp, path); // atomic: a crash leaves either no report or a whole one
  return path;
}

export function pendingReports(dir: string): { path: string; report: Report }[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return []; // nothing spooled yet
    log("warn", `cannot read the report spool ${dir}: ${errorMessage(err)}`);
    return [];
  }
  const out: { path: string; report: Report }[] = [];
  for (const n of names.sort()) {
    if (!n.endsWith(".json")) continue;
    const path = join(dir, n);
    try {
      out.push({ path, report: JSON.parse(readFileSync(path, "utf8")) });
    } catch {
      rmSync(path, { force: true }); // a torn file cannot be delivered; the lease sweeper re-runs its task
    }
  }
  return out;
}

export function removeReport(path: string): void {
  rmSync(path, { force: true });
}
