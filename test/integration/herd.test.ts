// Wake-ups with real processes (issue 13, P2): a server and four idle workers of two slots,
// each behind its own counting proxy. A new task wakes one of them, not all four, so there
// is about one claim request per task (before: one per idle worker, all but one empty),
// the work spreads over the fleet, and a burst of tasks is drained by releases that claim
// the next task in the same request.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { startServerProc, startWorkerProc, waitTask, type ServerProc, type WorkerProc } from "../helpers/cluster.ts";
import { startCountingProxy, type CountingProxy } from "../helpers/faults.ts";
import { killAll, tempDir, waitUntil } from "../helpers/proc.ts";

const tmp = tempDir("ct-herd-");
let server: ServerProc;
const workers: WorkerProc[] = [];
const proxies: CountingProxy[] = [];
const NAMES = ["h-a", "h-b", "h-c", "h-d"];

const claims = () => proxies.reduce((n, p) => n + p.hits.filter((h) => h.method === "POST" && h.path === "/v1/worker/tasks/claim").length, 0);

beforeAll(async () => {
  server = await startServerProc(join(tmp.path, "server"));
  for (const name of NAMES) {
    const proxy = startCountingProxy(server.url);
    proxies.push(proxy);
    workers.push(startWorkerProc(proxy.url, { name, dataDir: join(tmp.path, name), args: ["--max-concurrent-tasks", "2"] }));
  }
  await Promise.all(workers.map((w) => w.waitFor(/task stream connected/, 60_000)));
  // Each worker's first fill (on connect) has happened once its stream is up and it is listed.
  await waitUntil(async () => (await server.client.listWorkers()).length === NAMES.length || null, "all workers registered", 30_000);
  await Bun.sleep(300);
});
afterAll(async () => {
  await killAll();
  for (const p of proxies) await p.stop();
  tmp.cleanup();
});

describe("one wake-up per task", () => {
  test("tasks created one at a time: one claim request each, spread over the workers", async () => {
    const before = claims();
    const ran = new Map<string, number>();
    const N = 12;
    for (let i = 0; i < N; i++) {
      const t = await server.client.createTask({ prompt: `t${i}`, agent_type: "noop", codebase_id: "global" });
      const done = await waitTask(server.client, t.id, (x) => x.status === "completed", `task ${i} completed`);
      ran.set(done.worker_id!, (ran.get(done.worker_id!) ?? 0) + 1);
    }
    const perTask = (claims() - before) / N;
    // Before this change every idle worker claimed for each task: 4 requests per task here.
    expect(perTask).toBeLessThanOrEqual(1.1);
    // The freest worker, then the one woken longest ago: every worker gets some of the work.
    expect([...ran.keys()].sort()).toEqual([...NAMES].sort());
  });

  test("a burst of tasks completes exactly once each, with at most one claim request per task", async () => {
    const before = claims();
    const N = 60;
    const ids = await Promise.all(
      Array.from({ length: N }, (_, i) => server.client.createTask({ prompt: `b${i}`, agent_type: "noop", codebase_id: "global" }).then((t) => t.id)),
    );
    for (const id of ids) {
      const t = await waitTask(server.client, id, (x) => x.status === "completed", `burst task ${id}`);
      expect(t.attempt).toBe(1);
    }
    // Claims beyond the wake-ups are answered by the releases (claim_next), so fewer requests than tasks.
    expect((claims() - before) / N).toBeLessThanOrEqual(1.1);
  });
});
