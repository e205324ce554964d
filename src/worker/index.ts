// The worker executor: lock, register, dispatch, run, report, shut down gracefully.
import { createClient } from "../client/index.ts";
import { createWorkerApi } from "../client/worker-api.ts";
import { secretStrings } from "../config/resolve.ts";
import type { Config } from "../config/schema.ts";
import type { ClaimResponse } from "../protocol/index.ts";
import { sleep } from "../util/backoff.ts";
import { log } from "../util/log.ts";
import { makeRedactor } from "../util/redact.ts";
import { DEFAULT_SETTINGS, type WorkerContext } from "./context.ts";
import { startDispatcher } from "./dispatch/index.ts";
import { CliError, EXIT } from "../util/errors.ts";
import { acquireWorkerLock, previousInstance, recordInstance } from "./lock.ts";
import { checkCodebasePath, registerWithRetry, workerHeartbeatLoop } from "./registration.ts";
import { deliverSpool } from "./report.ts";
import { reapAgents, startWatchdog } from "../opencode/index.ts";
import { agentsDir, runClaimedTask } from "./runner.ts";
import { spoolDir } from "./spool.ts";
import { writeStatus } from "./status-file.ts";

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

export async function startWorker(config: Config, opts: WorkerOptions = {}): Promise<WorkerHandle> {
  const workerId = config.worker_id;
  // Bad codebase paths are config errors: refuse before taking the lock or calling the server.
  for (const c of config.codebases) c.path = checkCodebasePath(c.name, c.path, config.allowed_paths);
  const unlock = await acquireWorkerLock(config.data_dir, workerId);
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
  let replacedBy: string | null = null;

  const client = createClient({ serverUrl: config.server_url, token: config.auth_token, workerId, instanceId: instance.id });
  const ctx: WorkerContext = {
    config,
    client,
    workerId,
    instance,
    registered: false,
    replaced(message) {
      if (replacedBy !== null) return;
      replacedBy = message;
      log("error", `worker id taken over by another process; stopping: ${message}`, { worker: workerId, instance: instance.id });
      // Our runs are no longer ours: stop them and report nothing (the server would refuse it).
      stopClaiming.abort();
      for (const r of ctx.running.values()) r.abort("lease_lost");
    },
    settings: { ...DEFAULT_SETTINGS, poll_interval_s: config.poll_interval },
    // Until registration shows a legacy server.
    api: createWorkerApi(client, workerId, false),
    globalCodebaseId: null,
    codebases: new Map(),
    running: new Map(),
    spoolDir: spoolDir(config.data_dir, workerId),
    redact: makeRedactor(secretStrings(config)),
    stats: { completed: 0, failed: 0, cancelled: 0, lastContact: null },
    contact: () => {
      ctx.stats.lastContact = new Date().toISOString();
    },
  };
  const stopAll = new AbortController(); // background loops: heartbeat, status, spool
  const stopClaiming = new AbortController();
  const tasks = new Set<Promise<void>>();
  let lastOutcome: string | null = null;
  let dispatcher: ReturnType<typeof startDispatcher> | null = null;

  const saveStatus = () =>
    writeStatus(config.data_dir, {
      pid: process.pid,
      instance_id: instance.id,
      worker_id: workerId,
      worker_name: config.worker_name,
      server_url: config.server_url,
      started_at: startedAt,
      updated_at: new Date().toISOString(),
      streaming: dispatcher?.streaming ?? false,
      last_contact: ctx.stats.lastContact,
      running: [...ctx.running.values()].map((r) => ({ id: r.id, attempt: r.attempt, started_at: r.started_at })),
      tasks_completed: ctx.stats.completed,
      tasks_failed: ctx.stats.failed,
      tasks_cancelled: ctx.stats.cancelled,
    });

  // Task starts and ends are written within a second, not each at once: a busy worker would
  // otherwise rewrite the file twice per task (renames were the worker's top cost in P2).
  let statusTimer: ReturnType<typeof setTimeout> | null = null;
  const saveStatusSoon = () => {
    statusTimer ??= setTimeout(() => {
      statusTimer = null;
      saveStatus();
    }, 1000);
  };

  const start = (claim: ClaimResponse) => {
    const p = runClaimedTask(ctx, claim, (task, outcome) => {
      lastOutcome = outcome.status;
      opts.afterTask?.(ctx, task.id, outcome.session_id ?? null);
    })
      .catch((err) => log("error", `task ${claim.task_id} crashed the runner: ${(err as Error).message}`, { task: claim.task_id }))
      .finally(() => {
        tasks.delete(p);
        saveStatusSoon();
        if (opts.once) stopClaiming.abort();
        else dispatcher?.wake();
      });
    tasks.add(p);
    saveStatusSoon();
  };

  let shutdowns = 0;
  const done = (async (): Promise<number> => {
    try {
      saveStatus();
      if (!(await registerWithRetry(ctx, stopClaiming.signal))) return 0;
      saveStatus();
      void deliverSpool(ctx, stopAll.signal);
      void workerHeartbeatLoop(ctx, stopAll.signal, () => ctx.routingChanged?.());
      void (async () => {
        while (await sleep(5000, stopAll.signal)) saveStatus();
      })();
      if (opts.background) void opts.background(ctx, stopAll.signal).catch(() => {});
      dispatcher = startDispatcher(ctx, stopClaiming.signal, start, { maxTasks: opts.once ? 1 : undefined });
      await dispatcher.done;
      await drain();
      if (replacedBy !== null) throw new CliError(replacedBy, EXIT.CONFIG);
      return opts.once ? (lastOutcome === "completed" ? 0 : 1) : 0;
    } finally {
      stopAll.abort();
      // Only a process the server accepted unregisters (and so releases tasks): a refused or
      // replaced one would otherwise hand back what another process holds.
      if (ctx.registered && replacedBy === null) {
        try {
          await ctx.client.unregisterWorker(workerId);
          log("info", "worker unregistered", { worker: workerId });
        } catch {}
      }
      if (statusTimer) clearTimeout(statusTimer);
      saveStatus();
      watchdog.close();
      await unlock();
    }
  })();

  /** Wait for running tasks, up to shutdown_grace (or until a second signal), then release them. */
  let forceNow: () => void = () => {};
  async function drain() {
    if (!tasks.size) return;
    const grace = new Promise<void>((resolve) => {
      forceNow = resolve;
      if (shutdowns > 0) setTimeout(resolve, config.shutdown_grace * 1000).unref?.();
    });
    const all = Promise.all([...tasks]);
    if (opts.once && shutdowns === 0) return void (await all);
    await Promise.race([all, grace]);
    if (tasks.size) {
      log("warn", `releasing ${tasks.size} running task(s) back to the server`);
      for (const r of ctx.running.values()) r.abort("shutdown");
      await Promise.all([...tasks]);
    }
  }

  return {
    ctx,
    done,
    shutdown() {
      shutdowns++;
      if (shutdowns === 1) {
        log("info", `shutting down: no new tasks; ${ctx.running.size} running task(s) get ${config.shutdown_grace}s`);
        stopClaiming.abort();
      } else {
        log("warn", "second signal: releasing running tasks now");
        forceNow();
        for (const r of ctx.running.values()) r.abort("shutdown");
      }
    },
  };
}
