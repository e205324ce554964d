// One sync round with a worker's config: used by `worker start` (in the background and
// after each task) and by `codetether sessions sync`.
import type { Client } from "../client/index.ts";
import type { Config } from "../config/schema.ts";
import { findOpencode, opencodeReader } from "../opencode/index.ts";
import { worktreeParent, worktreesDir } from "../worker/worktree.ts";
import { syncSessions, type SyncResult, type SyncTarget } from "./sync.ts";

export interface RoundOptions {
  client: Client;
  config: Config;
  target: SyncTarget;
  redact: (s: string) => string;
  codebaseId?: string;
  dryRun?: boolean;
  taskOf?: (sessionId: string) => string | undefined;
  env?: Record<string, string>;
}

export async function syncRound(o: RoundOptions): Promise<SyncResult> {
  const bin = findOpencode(o.config.opencode_bin);
  if (!bin) throw new Error("opencode not found: set opencode_bin or install opencode-ai");
  // A session names the task that made it when this process ran that task (taskOf); any
  // other session is linked by the server, from the session_id each task's report carried
  // (store LINKED_TASK). Asking the server for this worker's tasks every round instead read
  // up to 10,000 tasks a minute per worker, for a link the server makes anyway.
  return syncSessions({
    client: o.client,
    workerId: o.config.worker_id,
    dataDir: o.config.data_dir,
    reader: opencodeReader(bin, o.env),
    target: withWorktrees(o.target, worktreesDir(o.config.data_dir, o.config.worker_id)),
    redact: o.redact,
    codebaseId: o.codebaseId,
    dryRun: o.dryRun,
    taskOf: (sid) => o.taskOf?.(sid),
  });
}

/** Sessions of worktree tasks (their directory is <worktrees>/<codebase id>/<task id>/...) belong to that codebase. */
function withWorktrees(t: SyncTarget, dir: string): SyncTarget {
  return { ...t, codebases: [...t.codebases, ...t.codebases.map((c) => ({ id: c.id, path: worktreeParent(dir, c.id) }))] };
}

/** The sync target as the server knows it: this worker's codebases and its global codebase. */
export async function serverTarget(client: Client, workerId: string): Promise<SyncTarget> {
  const mine = (await client.listCodebases()).filter((c) => c.worker_id === workerId);
  const global = mine.find((c) => c.name === "global");
  return { codebases: mine.filter((c) => c !== global).map((c) => ({ id: c.id, path: c.path })), globalId: global?.id ?? null };
}
