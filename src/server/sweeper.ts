// Every ~second: tasks whose lease ran out go back to pending (or fail after
// max_attempts) and are pushed again; workers that stopped heartbeating are logged as
// stale once. Safe on several replicas: the store skips rows another replica holds.
import { log } from "../util/log.ts";
import { nowIso, workerStatus, type ServerContext } from "./context.ts";
import { requeue } from "./lifecycle.ts";
import { failUnanswerableRegistrations } from "./routes/decline.ts";
import { announceChanges } from "./routes/tasks.ts";

const BATCH = 500;
/** Stale workers are looked for every few sweeps: it reads the whole worker table. */
const WORKER_CHECK_EVERY = 5;

export interface Sweeper {
  stop(): Promise<void>;
  /** One sweep now (tests). */
  runOnce(): Promise<void>;
}

export function startSweeper(ctx: ServerContext, intervalMs: number): Sweeper {
  const stale = new Set<string>();
  let running: Promise<void> | null = null;
  let ticks = 0;

  async function sweepLeases() {
    for (;;) {
      const now = nowIso();
      const changes = await ctx.store.sweepExpired(now, (t) => requeue(t, now, "lease expired"), BATCH);
      announceChanges(ctx, changes, "lease expired");
      if (changes.length < BATCH) return;
    }
  }

  let active = new Set<string>();
  async function checkWorkers() {
    const was = active;
    active = new Set();
    for (const w of (await ctx.store.listWorkers()).rows) {
      const s = workerStatus(w, ctx.heartbeatIntervalS);
      if (s === "active") active.add(w.worker_id);
      if (s === "stale" && !stale.has(w.worker_id)) {
        stale.add(w.worker_id);
        log("warn", "worker stale", { worker: w.worker_id, last_seen: w.last_seen });
        await ctx.webhooks.workerOffline(w, "stopped heartbeating");
      } else if (s !== "stale") stale.delete(w.worker_id);
    }
    // A worker that stopped answering may have been the last one not to decline a registration.
    if ([...was].some((id) => !active.has(id))) await failUnanswerableRegistrations(ctx);
  }

  async function tick() {
    try {
      await sweepLeases();
      if (ticks++ % WORKER_CHECK_EVERY === 0) await checkWorkers();
    } catch (err) {
      log("error", "sweep failed", { error: (err as Error).message });
    }
  }

  const runOnce = () => (running ??= tick().finally(() => (running = null)));
  // A server that was down heard no lease heartbeats: leases that ran out meanwhile are not
  // the workers' fault. They get one lease length after start-up to heartbeat again before
  // the timer sweeps (runOnce, for tests, is not held back).
  const sweepFrom = Date.now() + ctx.leaseMs;
  const timer = setInterval(() => {
    if (Date.now() >= sweepFrom) void runOnce();
  }, intervalMs);
  return {
    runOnce,
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
