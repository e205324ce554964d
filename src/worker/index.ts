// The worker executor: lock, register, dispatch, run, report, shut down gracefully.
// startWorker wires the parts; each stage below is a function of one explicit state.
import type { Config } from "../config/schema.ts";
import type { ClaimResponse } from "../protocol/index.ts";
import { sleep } from "../util/backoff.ts";
import { CliError, EXIT, errorMessage } from "../util/errors.ts";
import { log } from "../util/log.ts";
import { reapAgents, startWatchdog } from "../opencode/index.ts";
import { createContext, type WorkerContext, type WorkerInstance } from "./context.ts";
import { startDispatcher, type Dispatcher } from "./dispatch/index.ts";
import { modelsLoop } from "./models.ts";
import { acquireWorkerLock, previousInstance, recordInstance } from "./lock.ts";
import { checkCodebasePath, registerWithRetry, workerHeartbeatLoop } from "./registration.ts";
import { deliverSpool } from "./report.ts";
import { agentsDir, runClaimedTask } from "./runner.ts";
import { checkWorktreeCodebases, pruneStaleWorktrees, worktreesDir } from "./worktree.ts";
import { statusWriter, type StatusWriter } from "./status-file.ts";

export type { WorkerContext };

export interface WorkerHandle {
  /** First call: stop claiming, give running tasks `shutdown_grace`, then release them. Second: release now. */
  shutdown(): void;
  /** Resolves with the exit code once the worker has stopped. */
  done: Promise<number>;
  ctx: WorkerContext;
}

export interface WorkerOptions {
  /** Take one task, run it, stop: exit 0 if it completed. */
  once?: boolean;
  /** Called after each task (session sync hooks in here). */
  afterTask?: (ctx: WorkerContext, taskId: string, sessionId: string | null) => void;
  /** Background job started once registered (session sync). */
  background?: (ctx: WorkerContext, signal: AbortSignal) => Promise<void>;
}

/** What this process holds on the host while it runs: the worker lock and the agents' watchdog. */
interface Host {
  instance: WorkerInstance;
  unlock: () => Promise<void>;
  watchdog: { close(): void };
}

/** One running worker: what its stages share. */
interface WorkerState {
  ctx: WorkerContext;
  opts: WorkerOptions;
  /** Background loops: heartbeat, status, spool, session sync. */
  stopAll: AbortController;
  /** The dispatcher: no new tasks once aborted. */
  stopClaiming: AbortController;
  tasks: Set<Promise<void>>;
  dispatcher: Dispatcher | null;
  status: StatusWriter;
  lastOutcome: string | null;
  shutdowns: number;
  /** Ends the grace period of `drain` (a second signal). */
  forceNow: () => void;
  /** Set when another process took over the worker id: why. */
  replacedBy: string | null;
}

export async function startWorker(config: Config, opts: WorkerOptions = {}): Promise<WorkerHandle> {
  const host = await takeHost(config);
  const ctx = createContext(config, host.instance, (message) => replaced(w, message));
  const w: WorkerState = {
    ctx,
    opts,
    stopAll: new AbortController(),
    stopClaiming: new AbortController(),
    tasks: new Set(),
    dispatcher: null,
    status: statusWriter(ctx, () => w.dispatcher?.streaming ?? false),
    lastOutcome: null,
    shutdowns: 0,
    forceNow: () => undefined,
    replacedBy: null,
  };
  return { ctx, done: run(w, host), shutdown: () => shutdown(w) };
}

/** Checks the codebase paths, takes the worker lock, stops what an earlier run left, and names this process. */
async function takeHost(config: Config): Promise<Host> {
  const workerId = config.worker_id;
  // Bad codebase paths are config errors: refuse before taking the lock or calling the server.
  for (const c of config.codebases) c.path = checkCodebasePath(c.name, c.path, config.allowed_paths);
  checkWorktreeCodebases(config.codebases);
  const unlock = await acquireWorkerLock(config.data_dir, workerId);
  await pruneStaleWorktrees(worktreesDir(config.data_dir, workerId), config.codebases);
  // Holding the lock, we are this worker's only incarnation: what an earlier one left
  // running is stopped before anything is claimed, and the watchdog stops ours if we die.
  const agents = agentsDir(config.data_dir, workerId);
  const reaped = reapAgents(agents);
  if (reaped.length) log("warn", `stopped ${reaped.length} agent process(es) a previous run of this worker left running`, { pids: reaped.join(",") });
  const watchdog = startWatchdog(agents);
  // A fresh identity per process; holding the lock, we know the previous process here is dead.
  const startedAt = new Date().toISOString();
  const instance = { id: crypto.randomUUID(), pid: process.pid, started_at: startedAt, replaces: previousInstance(config.data_dir, workerId) };
  recordInstance(config.data_dir, workerId, instance.id, startedAt);
  return { instance, unlock, watchdog };
}

/** Registers, starts the loops, claims until told to stop, drains; resolves with the exit code. */
async function run(w: WorkerState, host: Host): Promise<number> {
  const { ctx, opts } = w;
  try {
    w.status.save();
    if (!(await registerWithRetry(ctx, w.stopClaiming.signal))) return 0;
    w.status.save();
    startBackground(w);
    w.dispatcher = startDispatcher(ctx, w.stopClaiming.signal, (claim) => startTask(w, claim), { maxTasks: opts.once ? 1 : undefined });
    await w.dispatcher.done;
    await drain(w);
    if (w.replacedBy !== null) throw new CliError(w.replacedBy, EXIT.CONFIG);
    return opts.once ? (w.lastOutcome === "completed" ? 0 : 1) : 0;
  } finally {
    w.stopAll.abort();
    await unregister(w);
    w.status.stop();
    w.status.save();
    host.watchdog.close();
    await host.unlock();
  }
}

function startBackground(w: WorkerState): void {
  const { ctx, stopAll } = w;
  void deliverSpool(ctx, stopAll.signal);
  void workerHeartbeatLoop(ctx, stopAll.signal, () => ctx.routingChanged?.());
  void modelsLoop(ctx, stopAll.signal);
  void (async () => {
    while (await sleep(5000, stopAll.signal)) w.status.refresh();
  })();
  // The job logs its own failures (session sync); this only keeps a stray rejection from going unseen.
  if (w.opts.background) void w.opts.background(ctx, stopAll.signal).catch((err) => log("warn", `background job failed: ${errorMessage(err)}`));
}

/** Only a process the server accepted unregisters (and so releases tasks): a refused or replaced one would otherwise hand back what another process holds. */
async function unregister(w: WorkerState): Promise<void> {
  const { ctx } = w;
  if (!ctx.registered || w.replacedBy !== null) return;
  try {
    await ctx.client.unregisterWorker(ctx.workerId);
    log("info", "worker unregistered", { worker: ctx.workerId });
  } catch (err) {
    // Stopping anyway: the server marks us stale and its sweeper frees our tasks when their leases expire.
    log("debug", `unregister failed: ${errorMessage(err)}`, { worker: ctx.workerId });
  }
}

function startTask(w: WorkerState, claim: ClaimResponse): void {
  const { ctx, opts } = w;
  let handedOn = false;
  const p = runClaimedTask(ctx, claim, (task, outcome) => {
    w.lastOutcome = outcome.status;
    opts.afterTask?.(ctx, task.id, outcome.session_id ?? null);
  })
    .then((done) => {
      handedOn = done;
    })
    .catch((err) => log("error", `task ${claim.task_id} crashed the runner: ${errorMessage(err)}`, { task: claim.task_id }))
    .finally(() => {
      w.tasks.delete(p);
      w.status.saveSoon();
      if (opts.once) w.stopClaiming.abort();
      else if (!handedOn) w.dispatcher?.wake();
    });
  w.tasks.add(p);
  w.status.saveSoon();
}

/** Wait for running tasks, up to shutdown_grace (or until a second signal), then release them. */
async function drain(w: WorkerState): Promise<void> {
  const { ctx, tasks } = w;
  if (!tasks.size) return;
  const grace = new Promise<void>((resolve) => {
    w.forceNow = resolve;
    if (w.shutdowns > 0) setTimeout(resolve, ctx.config.shutdown_grace * 1000).unref?.();
  });
  const all = Promise.all([...tasks]);
  if (w.opts.once && w.shutdowns === 0) return void (await all);
  await Promise.race([all, grace]);
  if (tasks.size) {
    log("warn", `releasing ${tasks.size} running task(s) back to the server`);
    for (const r of ctx.running.values()) r.abort("shutdown");
    await Promise.all([...tasks]);
  }
}

function shutdown(w: WorkerState): void {
  const { ctx } = w;
  w.shutdowns++;
  if (w.shutdowns === 1) {
    log("info", `shutting down: no new tasks; ${ctx.running.size} running task(s) get ${ctx.config.shutdown_grace}s`);
    w.stopClaiming.abort();
  } else {
    log("warn", "second signal: releasing running tasks now");
    w.forceNow();
    for (const r of ctx.running.values()) r.abort("shutdown");
  }
}

/** Another process holds the worker id now: our runs are no longer ours; stop them and report nothing (the server would refuse it). */
function replaced(w: WorkerState, message: string): void {
  if (w.replacedBy !== null) return;
  w.replacedBy = message;
  log("error", `worker id taken over by another process; stopping: ${message}`, { worker: w.ctx.workerId, instance: w.ctx.instance.id });
  w.stopClaiming.abort();
  for (const r of w.ctx.running.values()) r.abort("lease_lost");
}
