// R5: two server replicas on one PostgreSQL database, real `codetether worker start`
// processes split between them, thousands of `noop` tasks; one replica is SIGKILLed
// halfway. Every task runs exactly once and nothing is lost.
//
// Workers have one fixed server URL. In a replicated deployment that URL is a load
// balancer (a Kubernetes Service, HAProxy), so that is what this test puts in front: two
// tiny TCP proxies, one preferring replica A and one replica B, each failing over to the
// other. Half the workers use each, so each replica serves half the fleet until B dies;
// B's workers then reach A through the same URL. (Restarting B instead would be R2 again
// and would not show that a surviving replica takes over B's workers and their tasks.)
//
// Full size (test:faults and CI): 20 workers, 2,000 tasks; a developer's `npm test`: 6 workers, 300 tasks.
import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { startServerProc, startWorkerProc, type ServerProc, type WorkerProc } from "../helpers/cluster.ts";
import { CI, FULL, logsOf, startFailoverProxy, type FailoverProxy } from "../helpers/faults.ts";
import { freshDatabase, NO_PG } from "../helpers/pg.ts";
import { killAll, tempDir, waitUntil } from "../helpers/proc.ts";
import { describeUnless } from "../helpers/skip.ts";

// CI (CI=true) runs the full size too: the README's guarantee cites it, and it fits CI's budget.
const R5_FULL = FULL || CI;
const WORKERS = R5_FULL ? 20 : 6;
const TASKS = R5_FULL ? 2000 : 300;
setDefaultTimeout(R5_FULL ? 900_000 : 300_000);

const tmp = tempDir("ct-r5-");
afterAll(async () => {
  await killAll();
  tmp.cleanup();
});

const rssMiB = (pid: number) => {
  try {
    const m = readFileSync(`/proc/${pid}/status`, "utf8").match(/VmRSS:\s+(\d+) kB/);
    return m ? Math.round(Number(m[1]) / 1024) : 0;
  } catch {
    return 0;
  }
};

describeUnless(NO_PG, `R5 two replicas, ${WORKERS} workers, ${TASKS} noop tasks, a replica SIGKILLed halfway`, () => {
  test("every task runs exactly once; nothing is lost", async () => {
    const db = await freshDatabase();
    // A 10 s lease: a worker starved for a few seconds between claim and report must not lose
    // its task (that would be a second run, not the fault under test).
    const sargs = ["--lease-seconds", "10", "--heartbeat-interval", "1", "--log-format", "json"];
    const servers: ServerProc[] = [];
    const proxies: FailoverProxy[] = [];
    const workers: WorkerProc[] = [];
    try {
      const a = await startServerProc(join(tmp.path, "a"), { databaseUrl: db.url, args: sargs });
      servers.push(a);
      const b = await startServerProc(join(tmp.path, "b"), { databaseUrl: db.url, args: sargs });
      servers.push(b);
      const portA = Number(new URL(a.url).port);
      const portB = Number(new URL(b.url).port);
      const lbA = await startFailoverProxy([portA, portB]);
      const lbB = await startFailoverProxy([portB, portA]);
      proxies.push(lbA, lbB);

      // All tasks first (through A), so the fleet drains a full queue.
      const ids: string[] = [];
      for (let i = 0; i < TASKS; i += 50) {
        const batch = await Promise.all(
          Array.from({ length: Math.min(50, TASKS - i) }, (_, j) => a.client.createTask({ codebase_id: "global", prompt: `r5 #${i + j}`, agent_type: "noop" })),
        );
        ids.push(...batch.map((t) => t.id));
      }

      for (let i = 0; i < WORKERS; i++) {
        const lb = i % 2 === 0 ? lbA : lbB;
        workers.push(startWorkerProc(lb.url, { name: `r5-w${i}`, dataDir: join(tmp.path, `w${i}`), args: ["--log-format", "json"] }));
      }

      const completed = async () => (await a.client.monitorWorkers()).workers.reduce((n, w) => n + w.tasks_completed, 0);
      await waitUntil(async () => (await completed()) >= TASKS / 2, "half of the tasks completed", R5_FULL ? 600_000 : 240_000, 100);
      const killedAt = await completed();
      b.proc.kill("SIGKILL");
      await b.proc.exited;
      // B's workers lose their streams and connections and come back through their URL to A.
      await waitUntil(async () => (await completed()) >= TASKS, "all tasks completed", R5_FULL ? 600_000 : 240_000, 250);

      const tasks = await a.client.listTasks({ limit: 10_000 });
      expect(tasks).toHaveLength(TASKS);
      expect(new Set(tasks.map((t) => t.id))).toEqual(new Set(ids));
      expect(tasks.filter((t) => t.status !== "completed")).toEqual([]);

      // Exactly once: across all worker logs each task completed once, and no run was cut off.
      const runs = new Map<string, number>();
      for (const w of workers) for (const l of logsOf(w, "task completed")) runs.set(l.task as string, (runs.get(l.task as string) ?? 0) + 1);
      const notOnce = ids.filter((id) => runs.get(id) !== 1);
      expect(notOnce).toEqual([]);
      expect(workers.flatMap((w) => logsOf(w, "task lease lost; result dropped"))).toEqual([]);
      // The worker that completed a task is the one the server recorded.
      const ranOn = new Map<string, string>();
      for (const [i, w] of workers.entries()) for (const l of logsOf(w, "task completed")) ranOn.set(l.task as string, `r5-w${i}`);
      expect(tasks.filter((t) => ranOn.get(t.id) !== t.worker_id)).toEqual([]);

      // attempt is 1 everywhere, with one exception the kill can cause: a claim that B committed
      // but whose answer died with B. That worker never heard of the task, so it never ran it;
      // the lease ran out and the task ran (once) as attempt 2. Those must be few and explained.
      const retried = tasks.filter((t) => t.attempt !== 1);
      const requeuedOnA = new Set(
        logsOf(a.proc, "task requeued")
          .filter((l) => l.why === "lease expired")
          .map((l) => l.task as string),
      );
      for (const t of retried) {
        expect(t.attempt).toBe(2);
        expect(requeuedOnA.has(t.id)).toBe(true);
      }
      expect(retried.length).toBeLessThanOrEqual(WORKERS);

      const perReplica = (s: ServerProc) => logsOf(s.proc, "task claimed").length;
      console.log(
        `[R5] ${TASKS} tasks, ${WORKERS} workers: B killed at ${killedAt} completed; claims on A ${perReplica(a)}, on B ${perReplica(b)}; ` +
          `attempt 2 (claim answer lost with B): ${retried.length}; worker RSS MiB: ${workers.map((w) => rssMiB(w.proc.pid)).join(",")}`,
      );
      expect(perReplica(b)).toBeGreaterThan(0); // B did serve part of the fleet before it died

      for (const w of workers) w.kill("SIGTERM");
      for (const w of workers) expect(await w.exited).toBe(0);
      const mon = await a.client.monitorWorkers();
      expect(mon.workers.filter((w) => w.status !== "offline").map((w) => w.id)).toEqual([]);
    } finally {
      for (const w of workers) w.kill("SIGKILL");
      for (const p of proxies) await p.stop();
      for (const s of servers) await s.stop();
      await db.drop();
    }
  });
});
