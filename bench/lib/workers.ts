// Real workers in this process: `startWorker` (the code `worker start` runs) several times
// with their own ids and data dirs, configured through the real resolver.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { resolveConfig } from "../../src/config/resolve.ts";
import { setupLogging } from "../../src/util/log.ts";
import { startWorker, type WorkerHandle } from "../../src/worker/index.ts";
import { readStatus } from "../../src/worker/status-file.ts";

// Workers log each task at info; the table must stay readable and the log is not what we measure.
setupLogging({ level: "error" });

export interface Fleet {
  workers: WorkerHandle[];
  /** Requests the workers made, by "METHOD /path status" (ids as :id); clear() it to start counting. */
  requests: Map<string, number>;
  /** Tasks finished (any final state) across the fleet. */
  finished(): number;
  /** Resolves when every worker's task stream is connected (push benchmarks wait for it). */
  streaming(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export interface FleetOptions {
  serverUrl: string;
  dir: string;
  count: number;
  prefix?: string;
  /** Extra flags by config flag name, e.g. { "opencode-bin": "/x", "max-concurrent-tasks": "4" }. */
  flags?: Record<string, string | boolean>;
}

export async function startFleet(o: FleetOptions): Promise<Fleet> {
  const workers: WorkerHandle[] = [];
  const requests = new Map<string, number>();
  // Workers probe OpenCode's models when they start (`opencode models`, ~1 s of CPU each):
  // 32 real probes at once swamped the machine the benchmark measures. Unless a benchmark
  // brings its own OpenCode, they get one that lists no models (any model may come).
  const quiet = join(o.dir, "opencode-no-models");
  writeFileSync(quiet, "#!/bin/sh\nexit 0\n", { mode: 0o755 });
  for (let i = 0; i < o.count; i++) {
    const name = `${o.prefix ?? "bench"}-${i}`;
    const dataDir = join(o.dir, name);
    mkdirSync(dataDir, { recursive: true });
    const { config } = await resolveConfig({
      flags: { server: o.serverUrl, name, "data-dir": dataDir, "sync-sessions": false, config: false, "opencode-bin": quiet, ...o.flags },
      env: { HOME: o.dir },
      home: o.dir,
      cwd: o.dir,
    });
    const w = await startWorker(config);
    // A counter around the worker's own transport; every call still goes to the server unchanged.
    const http = w.ctx.client.http;
    const request = http.request.bind(http);
    http.request = (async (method: Parameters<typeof request>[0], path: string, opts?: Parameters<typeof request>[2]) => {
      const key = (status: number | string) => `${method} ${path.replace(/\/[0-9a-f]{8}-[0-9a-f-]{27,}/g, "/:id")} ${status}`;
      try {
        const res = await request(method, path, opts);
        requests.set(key(res.status), (requests.get(key(res.status)) ?? 0) + 1);
        // A release that also claims the next task (issue 13) is a claim attempt too: counted apart.
        if ((opts?.body as { claim_next?: unknown } | undefined)?.claim_next) {
          const got = (res.data as { next?: unknown } | null)?.next;
          const k = `claim in release ${got ? "task" : got === null ? "none" : "unanswered"}`;
          requests.set(k, (requests.get(k) ?? 0) + 1);
        }
        return res;
      } catch (err) {
        const k = key((err as { status?: number }).status ?? "error");
        requests.set(k, (requests.get(k) ?? 0) + 1);
        throw err;
      }
    }) as typeof http.request;
    workers.push(w);
  }
  const finished = () => workers.reduce((n, w) => n + w.ctx.stats.completed + w.ctx.stats.failed + w.ctx.stats.cancelled, 0);
  return {
    workers,
    requests,
    finished,
    async streaming(timeoutMs = 30_000) {
      // The worker's own view (its status file, rewritten every 5 s and on each task).
      const until = Date.now() + timeoutMs;
      while (!workers.every((w) => readStatus(w.ctx.config.data_dir, w.ctx.workerId)?.streaming === true)) {
        if (Date.now() > until) throw new Error("workers did not connect their task streams in time");
        await Bun.sleep(100);
      }
    },
    async stop() {
      for (const w of workers) w.shutdown();
      await Promise.all(workers.map((w) => w.done));
    },
  };
}
