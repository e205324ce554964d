// Prometheus metrics (`GET /metrics`, text format) from prom-client. Two kinds:
// - events this replica saw, as counters and histograms: HTTP requests, tasks created,
//   claimed (queue wait, attempts), finished (by status, with run time), leases expired,
//   output received, store errors. With several replicas, sum them in PromQL.
// - the state of the whole fleet, read from the store at scrape time (gauges): pending
//   tasks and the oldest one's age per codebase, running tasks, workers by status, plus
//   `codetether_codebase_info` to turn codebase ids into names in queries.
// Labels carry ids and route templates, never raw paths or prompts: the series stay few.
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { workerStatus } from "./context.ts";
import type { Hub } from "./hub.ts";
import type { Store, TaskRow } from "./store/types.ts";

export interface Metrics {
  /** The Prometheus text exposition and its content type. */
  render(): Promise<{ body: string; contentType: string }>;
  http(method: string, route: string, status: number, seconds: number): void;
  created(t: TaskRow): void;
  claimed(t: TaskRow): void;
  finished(t: TaskRow): void;
  leaseExpired(t: TaskRow): void;
  output(lines: number, bytes: number): void;
  storeError(): void;
}

const cb = (t: Pick<TaskRow, "codebase_id">) => t.codebase_id ?? "global";
const seconds = (from: string | null, to: string | null) => (from && to ? Math.max(0, (Date.parse(to) - Date.parse(from)) / 1000) : null);

export function createMetrics(store: Store, hub: Hub, heartbeatIntervalS: number): Metrics {
  const registry = new Registry();
  const r = [registry];

  const httpRequests = new Counter({
    name: "codetether_http_requests_total",
    help: "HTTP requests by method, route template and status",
    labelNames: ["method", "route", "status"],
    registers: r,
  });
  const httpSeconds = new Histogram({
    name: "codetether_http_request_duration_seconds",
    help: "Time to answer an HTTP request (streams: until the stream opened)",
    labelNames: ["method", "route"],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
    registers: r,
  });
  const created = new Counter({ name: "codetether_tasks_created_total", help: "Tasks created", labelNames: ["codebase_id"], registers: r });
  const attempts = new Counter({ name: "codetether_task_attempts_total", help: "Attempts started (claims)", labelNames: ["codebase_id"], registers: r });
  const finished = new Counter({
    name: "codetether_tasks_finished_total",
    help: "Tasks that reached a final state",
    labelNames: ["codebase_id", "status"],
    registers: r,
  });
  const wait = new Histogram({
    name: "codetether_task_claim_latency_seconds",
    help: "From a task's creation to the claim that started an attempt",
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 1800],
    registers: r,
  });
  const duration = new Histogram({
    name: "codetether_task_duration_seconds",
    help: "From a task's start to its final state, by status",
    labelNames: ["status"],
    buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600],
    registers: r,
  });
  const leaseExpiries = new Counter({ name: "codetether_lease_expiries_total", help: "Running tasks whose lease ran out (requeued or failed)", registers: r });
  const outputLines = new Counter({ name: "codetether_output_lines_total", help: "Task output lines stored", registers: r });
  const outputBytes = new Counter({ name: "codetether_output_bytes_total", help: "Task output bytes stored", registers: r });
  const storeErrors = new Counter({ name: "codetether_store_errors_total", help: "Requests answered 503 because the database was unavailable", registers: r });

  // Fleet state, read when scraped.
  const pending = new Gauge({ name: "codetether_tasks_pending", help: "Pending tasks per codebase", labelNames: ["codebase_id"], registers: r });
  const oldest = new Gauge({
    name: "codetether_queue_oldest_pending_seconds",
    help: "Age of the oldest pending task per codebase",
    labelNames: ["codebase_id"],
    registers: r,
  });
  const running = new Gauge({ name: "codetether_tasks_running", help: "Running tasks per worker", labelNames: ["worker_id"], registers: r });
  const workers = new Gauge({ name: "codetether_workers", help: "Registered workers by status", labelNames: ["status"], registers: r });
  const codebases = new Gauge({
    name: "codetether_codebase_info",
    help: "1 per codebase: its name and worker (join on codebase_id)",
    labelNames: ["codebase_id", "name", "worker_id"],
    registers: r,
  });
  const streams = new Gauge({ name: "codetether_open_streams", help: "Open streams on this replica", labelNames: ["kind"], registers: r });

  async function readFleet() {
    const now = Date.now();
    const [queue, ws, counts, cbs] = await Promise.all([store.queueDepths(), store.listWorkers(), store.workerCounts(), store.listCodebases()]);
    pending.reset();
    oldest.reset();
    for (const q of queue) {
      pending.set({ codebase_id: q.route }, q.pending);
      oldest.set({ codebase_id: q.route }, Math.max(0, (now - Date.parse(q.oldest_created_at)) / 1000));
    }
    workers.reset();
    for (const s of ["active", "stale", "offline"]) workers.set({ status: s }, 0);
    for (const w of ws.rows) workers.inc({ status: workerStatus(w, heartbeatIntervalS, now) });
    running.reset();
    for (const [id, c] of counts) if (c.running) running.set({ worker_id: id }, c.running);
    codebases.reset();
    for (const c of cbs.rows) codebases.set({ codebase_id: c.id, name: c.name, worker_id: c.worker_id ?? "" }, 1);
    streams.set({ kind: "worker" }, hub.counts.streams);
    streams.set({ kind: "output" }, hub.counts.watchers);
  }

  return {
    async render() {
      await readFleet();
      return { body: await registry.metrics(), contentType: registry.contentType };
    },
    http(method, route, status, secs) {
      httpRequests.inc({ method, route, status: String(status) });
      httpSeconds.observe({ method, route }, secs);
    },
    created: (t) => created.inc({ codebase_id: cb(t) }),
    claimed(t) {
      attempts.inc({ codebase_id: cb(t) });
      if (t.attempt === 1) {
        const s = seconds(t.created_at, t.started_at);
        if (s !== null) wait.observe(s);
      }
    },
    finished(t) {
      finished.inc({ codebase_id: cb(t), status: t.status });
      const s = seconds(t.started_at, t.completed_at);
      if (s !== null) duration.observe({ status: t.status }, s);
    },
    leaseExpired: () => leaseExpiries.inc(),
    output(lines, bytes) {
      outputLines.inc(lines);
      outputBytes.inc(bytes);
    },
    storeError: () => storeErrors.inc(),
  };
}
