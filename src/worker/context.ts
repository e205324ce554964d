// What every worker loop shares: config, client, server settings, registered codebases.
import { createClient, type Client } from "../client/index.ts";
import { createWorkerApi, type WorkerApi } from "../client/worker-api.ts";
import { secretStrings } from "../config/resolve.ts";
import type { Config } from "../config/schema.ts";
import type { ClaimResponse, Isolation, Settings } from "../protocol/index.ts";
import { makeRedactor } from "../util/redact.ts";
import { createDirectoryLocks, type DirectoryLocks } from "./isolation.ts";
import { spoolDir } from "./spool.ts";

export interface RegisteredCodebase {
  id: string;
  name: string;
  path: string;
  /** From the server's record (or this worker's config); absent: shared. */
  isolation?: Isolation;
}

export interface RunningTask {
  id: string;
  attempt: number | null;
  started_at: string;
  /** The codebase whose directory it runs in (shared isolation), else null; see isolation.ts. */
  occupies: string | null;
  /** Stops the agent; the reason decides what is reported. */
  abort: (reason: AbortReason) => void;
}

/** cancel: report `cancelled`; shutdown: release back to pending; lease_lost: report nothing. */
export type AbortReason = "cancel" | "shutdown" | "lease_lost";

/** This process's identity on the server (see src/server/identity.ts). */
export interface WorkerInstance {
  id: string;
  pid: number;
  started_at: string;
  /** The instance of the previous process on this data dir (dead: we hold its lock), if any. */
  replaces: string | null;
}

export interface WorkerContext {
  config: Config;
  client: Client;
  workerId: string;
  instance: WorkerInstance;
  /** The server has accepted this process as the holder of the worker id at least once. */
  registered: boolean;
  /** Another process holds the worker id now: stop claiming, drop running work, exit 78. */
  replaced(message: string): void;
  settings: Settings;
  /** The task calls, for the kind of server registration found (ours or a legacy one). */
  api: WorkerApi;
  globalCodebaseId: string | null;
  /** Models OpenCode here can run, as advertised at registration (see models.ts); [] = unknown. */
  models: string[];
  codebases: Map<string, RegisteredCodebase>;
  running: Map<string, RunningTask>;
  /** One task per shared codebase directory at a time (isolation.ts). */
  directories: DirectoryLocks;
  spoolDir: string;
  redact: (s: string) => string;
  stats: { completed: number; failed: number; cancelled: number; lastContact: string | null };
  /** Marks a successful server round trip (for `worker status`). */
  contact(): void;
  /** Set by the dispatcher: the codebase set changed, update the stream's routing. */
  routingChanged?: () => void;
  /** Set by the dispatcher: the slot a finishing task frees (dispatch/index.ts). */
  slots?: FreedSlots;
}

/** What becomes of the slot a task frees: its release may claim the next task at once. */
export interface FreedSlots {
  /** Ask for the next task with the report of `taskId`? The busy codebases to name, or null: do not ask (stopping). */
  ask(taskId: string): { busy: string[] } | null;
  /** The report was answered: with the next task, null (nothing to claim), or undefined (not asked or not answered: claim as usual). */
  freed(next: ClaimResponse | null | undefined): void;
}

export const DEFAULT_SETTINGS: Settings = { heartbeat_interval_s: 15, lease_s: 60, poll_interval_s: 5 };

/** A context before registration: our defaults, the current API until the server shows it is a legacy one. */
export function createContext(config: Config, instance: WorkerInstance, replaced: (message: string) => void): WorkerContext {
  const workerId = config.worker_id;
  const client = createClient({ serverUrl: config.server_url, token: config.auth_token, workerId, instanceId: instance.id });
  const ctx: WorkerContext = {
    config,
    client,
    workerId,
    instance,
    registered: false,
    replaced,
    settings: { ...DEFAULT_SETTINGS, poll_interval_s: config.poll_interval },
    api: createWorkerApi(client, workerId, false),
    globalCodebaseId: null,
    models: [],
    codebases: new Map(),
    running: new Map(),
    directories: createDirectoryLocks(),
    spoolDir: spoolDir(config.data_dir, workerId),
    redact: makeRedactor(secretStrings(config)),
    stats: { completed: 0, failed: 0, cancelled: 0, lastContact: null },
    contact: () => {
      ctx.stats.lastContact = new Date().toISOString();
    },
  };
  return ctx;
}
