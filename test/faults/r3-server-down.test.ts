// R3: the server is away for a long time (CT_FAULTS_DOWN_S: 60 s under `npm run
// test:faults` and in CI, 15 s in a developer's default run). A counting proxy between worker and server
// records every request the worker makes meanwhile: bounded (poll interval, heartbeat
// interval and stream-reconnect backoff, no retry storm) and jittered. Then the server
// comes back and the same worker process takes new tasks without being restarted.
//
// SQLite only: this is the worker's behaviour towards an absent server; the store behind
// the server plays no part (R2 restarts a PostgreSQL-backed server).
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { startServerProc, startWorkerProc, waitTask } from "../helpers/cluster.ts";
import { CI, envNumber, FULL, portOf, startCountingProxy, type Hit } from "../helpers/faults.ts";
import { killAll, tempDir, waitUntil } from "../helpers/proc.ts";

const DOWN_S = envNumber("CT_FAULTS_DOWN_S", FULL || CI ? 60 : 15);
const POLL_S = 2;
const HEARTBEAT_S = 2;
setDefaultTimeout((DOWN_S + 150) * 1000);

const tmp = tempDir("ct-r3-");
afterAll(async () => {
  await killAll();
  tmp.cleanup();
});

const gaps = (hs: Hit[]) => hs.slice(1).map((h, i) => h.at - hs[i]!.at);

describe(`R3 server down for ${DOWN_S}s`, () => {
  test("the worker backs off (no request storm, jittered) and resumes without a restart", async () => {
    const dir = join(tmp.path, "server");
    const sargs = ["--lease-seconds", "6", "--heartbeat-interval", String(HEARTBEAT_S), "--log-format", "json"];
    let server = await startServerProc(dir, { args: sargs });
    const proxy = startCountingProxy(server.url);
    const name = "r3-w";
    const w = startWorkerProc(proxy.url, { name, dataDir: join(tmp.path, "w"), args: ["--poll-interval", String(POLL_S), "--log-format", "json"] });
    try {
      await w.waitFor(/task stream connected/, 30_000);
      const before = await server.client.createTask({ codebase_id: "global", prompt: "before the outage", agent_type: "echo", target_worker_id: name });
      await waitTask(server.client, before.id, (t) => t.status === "completed", "task before the outage");

      const port = portOf(server.url);
      server.proc.kill("SIGKILL");
      await server.proc.exited;
      const downAt = Date.now();
      await Bun.sleep(DOWN_S * 1000); // the outage: its length is what is being tested
      const upAt = Date.now();
      const during = proxy.hits.filter((h) => h.at >= downAt && h.at < upAt);
      server = await startServerProc(dir, { port, args: sargs });

      // Every request during the outage failed (502 from the proxy) and there were few of them.
      expect(during.every((h) => h.status === 502)).toBe(true);
      const byPath = new Map<string, Hit[]>();
      for (const h of during) byPath.set(h.path, [...(byPath.get(h.path) ?? []), h]);
      const count = (p: string) => byPath.get(p)?.length ?? 0;
      const streams = count("/v1/worker/tasks/stream");
      const claims = count("/v1/worker/tasks/claim");
      const heartbeats = count(`/v1/opencode/workers/${name}/heartbeat`);
      console.log(
        `[R3] ${during.length} requests in ${DOWN_S}s down (${((during.length * 60) / DOWN_S).toFixed(0)}/min): ` +
          [...byPath].map(([p, hs]) => `${p} x${hs.length}`).join(", "),
      );
      // Claims follow the poll interval (±20% jitter), heartbeats the server's interval, stream
      // reconnects an exponential backoff (1 s doubling to 60 s, full jitter). Generous bounds:
      // a storm (retrying without delay) makes hundreds of requests per second.
      expect(claims).toBeLessThanOrEqual(Math.ceil(DOWN_S / (POLL_S * 0.8)) + 2);
      expect(heartbeats).toBeLessThanOrEqual(Math.ceil(DOWN_S / HEARTBEAT_S) + 2);
      expect(streams).toBeGreaterThanOrEqual(2); // it does keep trying
      expect(streams).toBeLessThanOrEqual(Math.ceil(DOWN_S / 2) + 4);
      expect(during.length).toBeLessThanOrEqual(Math.ceil(DOWN_S * 1.5) + 20);
      // Jitter: poll gaps are spread, not lockstep (the chance that a dozen uniform draws
      // over ±20% land within 5% of each other is negligible).
      const claimGaps = gaps(byPath.get("/v1/worker/tasks/claim") ?? []);
      expect(claimGaps.length).toBeGreaterThanOrEqual(3);
      expect(Math.max(...claimGaps) - Math.min(...claimGaps)).toBeGreaterThan(POLL_S * 1000 * 0.05);
      // Backoff: stream reconnects thin out: the last gap is longer than the first.
      const streamGaps = gaps(byPath.get("/v1/worker/tasks/stream") ?? []);
      if (streamGaps.length >= 3) expect(Math.max(...streamGaps.slice(-2))).toBeGreaterThan(streamGaps[0]!);

      // Back: the same worker process (never exited) registers/streams again and takes a new task.
      const after = await server.client.createTask({ codebase_id: "global", prompt: "after the outage", agent_type: "echo", target_worker_id: name });
      const done = await waitTask(server.client, after.id, (t) => t.status === "completed", "task after the outage", 120_000);
      expect(done).toMatchObject({ worker_id: name, attempt: 1, result: "after the outage" });
      expect(w.proc.exitCode).toBeNull();
      await waitUntil(
        async () => (await server.client.monitorWorkers()).workers.find((x) => x.id === name)?.status === "active",
        "worker active again",
        30_000,
      );
      w.kill("SIGTERM");
      expect(await w.exited).toBe(0);
    } finally {
      await proxy.stop();
      await server.stop();
    }
  });
});
