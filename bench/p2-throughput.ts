// P2 throughput: N noop tasks through real HTTP, end to end (first create sent -> last
// task completed as seen by the workers), with 1, 8 and 32 workers (startWorker in this
// process), on SQLite and on PostgreSQL (a fresh database per run). The server is its own
// process (the compiled binary) so its CPU time can be read from /proc.
import { createClient } from "../src/client/index.ts";
import { PG_URL, progress, QUICK, tempDir } from "./lib/env.ts";
import { freshDatabase } from "./lib/pg.ts";
import { startServerProc } from "./lib/proc.ts";
import { benchmark } from "./lib/result.ts";
import { fmt, round } from "./lib/stats.ts";
import { startFleet } from "./lib/workers.ts";

const TASKS = QUICK ? 2000 : 10_000;
const WORKER_COUNTS = [1, 8, 32];
const CREATORS = 8; // concurrent create requests in flight
// Issue 13: 3,000 and 1,500 tasks/s (5,000 and 2,000 the goal beyond it), ≤ 300 µs of server CPU per task, ≤ 1.1 claims per task.
const TARGET = { sqlite: 3000, postgres: 1500 } as const;
const CPU_TARGET_US = 300;
const CLAIMS_TARGET = 1.1;

interface Run {
  store: "sqlite" | "postgres";
  workers: number;
  tasks: number;
  seconds: number;
  tasks_per_s: number;
  create_seconds: number;
  server_cpu_s: number;
  server_cpu_us_per_task: number;
  harness_cpu_s: number;
  server_rss_mb: number;
  worker_requests: Record<string, number>;
  /** Claim attempts: claim requests plus releases that also claimed (found a task or not). */
  claims_per_task: number;
  claim_requests_per_task: number;
}

/**
 * The server alone: 8 raw-HTTP loops of create -> {}-claim -> release, no worker code and no
 * streams. Its server CPU per task is the ceiling: one core does at most 1e6 / that tasks/s.
 */
async function serverOnly(store: "sqlite" | "postgres", databaseUrl?: string): Promise<{ tasks: number; tasks_per_s: number; server_cpu_us_per_task: number }> {
  const n = Math.round(TASKS / 2);
  const tmp = tempDir(`p2-${store}-alone`);
  const server = await startServerProc(tmp.path, { databaseUrl });
  try {
    const post = async (path: string, body: unknown, workerId?: string) => {
      const r = await fetch(server.url + path, {
        method: "POST",
        headers: { "content-type": "application/json", ...(workerId ? { "x-worker-id": workerId } : {}) },
        body: JSON.stringify(body),
      });
      if (r.status >= 300) throw new Error(`${path}: ${r.status} ${await r.text()}`);
      return r.status === 204 ? null : r.json();
    };
    const ids = Array.from({ length: CREATORS }, (_, i) => `alone-${i}`);
    for (const id of ids) {
      await post("/v1/opencode/codebases", { name: "global", path: `/home/${id}`, worker_id: id });
      await post("/v1/opencode/workers/register", { worker_id: id, name: id, codebases: ["global"] });
    }
    progress(`P2 ${store}, server alone: ${n} tasks`);
    const cpu0 = server.cpuSeconds();
    const t0 = performance.now();
    let created = 0;
    let completed = 0;
    await Promise.all(
      ids.map(async (w) => {
        while (completed < n) {
          if (created < n) {
            created++;
            await post("/v1/opencode/tasks", { prompt: "p2", agent_type: "noop", codebase_id: "global" });
          }
          // Another loop may have taken "our" task: then there is nothing to claim (204) this round.
          const c = await post("/v1/worker/tasks/claim", { worker_id: w }, w);
          if (!c) {
            if (created >= n) await Bun.sleep(1);
            continue;
          }
          await post("/v1/worker/tasks/release", { task_id: c.task_id, worker_id: w, attempt: c.attempt, status: "completed", result: "" }, w);
          completed++;
        }
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    const cpu = server.cpuSeconds() - cpu0;
    return { tasks: n, tasks_per_s: round(n / seconds, 0), server_cpu_us_per_task: round((cpu * 1e6) / n, 0) };
  } finally {
    await server.stop();
    tmp.cleanup();
  }
}

async function runOnce(store: "sqlite" | "postgres", workers: number, databaseUrl?: string): Promise<Run> {
  const tmp = tempDir(`p2-${store}-${workers}`);
  const server = await startServerProc(tmp.path, { databaseUrl });
  const fleet = await startFleet({ serverUrl: server.url, dir: tmp.path, count: workers, prefix: `p2-${workers}` });
  try {
    await fleet.streaming();
    const client = createClient({ serverUrl: server.url });
    progress(`P2 ${store}, ${workers} worker(s): ${TASKS} tasks`);
    fleet.requests.clear();
    const cpu0 = server.cpuSeconds();
    const me0 = process.cpuUsage();
    const t0 = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: CREATORS }, async () => {
        while (next < TASKS) {
          next++;
          await client.createTask({ prompt: "p2", agent_type: "noop", codebase_id: "global" });
        }
      }),
    );
    const created = performance.now();
    const until = Date.now() + 600_000;
    while (fleet.finished() < TASKS) {
      if (Date.now() > until) throw new Error(`${store}/${workers}: only ${fleet.finished()}/${TASKS} finished`);
      await Bun.sleep(5);
    }
    const seconds = (performance.now() - t0) / 1000;
    const cpu = server.cpuSeconds() - cpu0;
    const me = process.cpuUsage(me0);
    const rss = server.memory().rss;
    const completed = (await client.listTasks({ status: "completed", limit: 10_000 })).length;
    if (completed !== TASKS) throw new Error(`${store}/${workers}: ${completed}/${TASKS} tasks completed on the server`);
    return {
      store,
      workers,
      tasks: TASKS,
      seconds: round(seconds, 2),
      tasks_per_s: round(TASKS / seconds, 0),
      create_seconds: round((created - t0) / 1000, 2),
      server_cpu_s: round(cpu, 2),
      server_cpu_us_per_task: round((cpu * 1e6) / TASKS, 0),
      harness_cpu_s: round((me.user + me.system) / 1e6, 2),
      server_rss_mb: round(rss / 2 ** 20, 1),
      worker_requests: Object.fromEntries(fleet.requests),
      claims_per_task: round(
        [...fleet.requests].filter(([k]) => k.includes("/claim") || k.startsWith("claim in release")).reduce((a, [, v]) => a + v, 0) / TASKS,
        2,
      ),
      claim_requests_per_task: round([...fleet.requests].filter(([k]) => k.includes("/claim")).reduce((a, [, v]) => a + v, 0) / TASKS, 2),
    };
  } finally {
    await fleet.stop();
    await server.stop();
    tmp.cleanup();
  }
}

await benchmark(
  "p2-throughput",
  "Throughput",
  { tasks: TASKS, workers: WORKER_COUNTS, creators: CREATORS, agent: "noop", max_concurrent_tasks: 2, postgres: PG_URL.replace(/\/\/[^@]*@/, "//***@") },
  async ({ rows, data }) => {
    const runs: Run[] = [];
    data.runs = runs;
    // BENCH_P2_ONLY=sqlite:8 (or postgres, or :32; :0 is the server alone): a subset, for profiling.
    const only = process.env.BENCH_P2_ONLY?.split(":");
    const want = (store: string, w: number) => (!only?.[0] || only[0] === store) && (!only?.[1] || Number(only[1]) === w);
    const alone: Partial<Record<"sqlite" | "postgres", Awaited<ReturnType<typeof serverOnly>>>> = {};
    data.server_alone = alone;
    for (const w of WORKER_COUNTS) if (want("sqlite", w)) runs.push(await runOnce("sqlite", w));
    if (want("sqlite", 0)) alone.sqlite = await serverOnly("sqlite");
    let pgError: string | null = null;
    for (const w of [...WORKER_COUNTS, 0]) {
      if (!want("postgres", w)) continue;
      const db = await freshDatabase();
      if ("error" in db) {
        pgError = db.error;
        break;
      }
      data.postgres_version = db.serverVersion;
      try {
        if (w === 0) alone.postgres = await serverOnly("postgres", db.url);
        else runs.push(await runOnce("postgres", w, db.url));
      } finally {
        await db.drop();
      }
    }
    const line = (store: "sqlite" | "postgres") =>
      runs
        .filter((r) => r.store === store)
        .map(
          (r) =>
            `${r.workers}w ${fmt(r.tasks_per_s, 0)}/s (server ${fmt(r.server_cpu_us_per_task, 0)} µs CPU/task, ${fmt(r.claim_requests_per_task, 2)} claim requests/task, ${fmt(r.claims_per_task, 2)} claims/task counting those in releases)`,
        )
        .join(" · ");
    for (const store of ["sqlite", "postgres"] as const) {
      const at32 = runs.find((r) => r.store === store && r.workers === 32);
      const a = alone[store];
      rows.push({
        id: "P2",
        what: `throughput, ${TASKS.toLocaleString("en-US")} noop tasks end to end over HTTP (${CREATORS} concurrent creators, workers in one process), ${store === "sqlite" ? "SQLite (WAL)" : `PostgreSQL${data.postgres_version ? ` ${String(data.postgres_version).split(" ")[0]}` : ""}, fresh database`}`,
        result: at32 ? line(store) : (pgError ?? "not run"),
        baseline: a
          ? `server alone (${CREATORS} raw-HTTP loops create → claim → release, no workers): ${fmt(a.tasks_per_s, 0)} tasks/s, ${fmt(a.server_cpu_us_per_task, 0)} µs server CPU/task`
          : undefined,
        target: `≥ ${TARGET[store].toLocaleString("en-US")} tasks/s, ≤ ${CPU_TARGET_US} µs server CPU/task and ≤ ${CLAIMS_TARGET} claim requests/task at 32 workers`,
        pass: at32 ? at32.tasks_per_s >= TARGET[store] && at32.server_cpu_us_per_task <= CPU_TARGET_US && at32.claim_requests_per_task <= CLAIMS_TARGET : null,
      });
    }
  },
);
process.exit();
