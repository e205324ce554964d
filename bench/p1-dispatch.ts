// P1 dispatch latency: tasks created one at a time, 4 real workers with the noop agent;
// latency = started_at - created_at (both server clock: create handler -> claim). Push
// (the SSE task stream) side by side with poll-only at the default poll_interval (5 s):
// the same real workers, behind a proxy that refuses the stream, run their own poll loop.
import { createClient } from "../src/client/index.ts";
import { progress, QUICK, tempDir } from "./lib/env.ts";
import { startServerProc } from "./lib/proc.ts";
import { startProxy } from "./lib/proxy.ts";
import { benchmark } from "./lib/result.ts";
import { fmt, summarize, type Summary } from "./lib/stats.ts";
import { startFleet } from "./lib/workers.ts";

const TASKS = QUICK ? 200 : 1000;
const WORKERS = 4;
const GAP_MS = 20; // between creates: tasks arrive one at a time, not as a backlog

async function measure(serverUrl: string, workerUrl: string, dir: string, mode: "push" | "poll"): Promise<{ latencies: number[]; summary: Summary }> {
  const fleet = await startFleet({ serverUrl: workerUrl, dir, count: WORKERS, prefix: `p1-${mode}` });
  try {
    if (mode === "push") await fleet.streaming();
    const client = createClient({ serverUrl });
    const base = fleet.finished();
    const ids: string[] = [];
    progress(`P1 ${mode}: creating ${TASKS} tasks, one every ${GAP_MS} ms`);
    for (let i = 0; i < TASKS; i++) {
      const t0 = performance.now();
      ids.push((await client.createTask({ prompt: `p1 ${mode} ${i}`, agent_type: "noop", codebase_id: "global" })).id);
      const wait = GAP_MS - (performance.now() - t0);
      if (wait > 0) await Bun.sleep(wait);
    }
    const until = Date.now() + 60_000;
    while (fleet.finished() - base < TASKS) {
      if (Date.now() > until) throw new Error(`${mode}: only ${fleet.finished() - base}/${TASKS} tasks finished`);
      await Bun.sleep(50);
    }
    const mine = new Set(ids);
    const tasks = (await client.listTasks({ status: "completed", limit: 10_000 })).filter((t) => mine.has(t.id));
    if (tasks.length !== TASKS) throw new Error(`${mode}: ${tasks.length}/${TASKS} tasks completed`);
    const latencies = tasks.map((t) => Date.parse(t.started_at!) - Date.parse(t.created_at));
    return { latencies, summary: summarize(latencies) };
  } finally {
    await fleet.stop();
  }
}

const ms = (s: Summary) => `p50 ${fmt(s.p50, 0)} / p95 ${fmt(s.p95, 0)} / p99 ${fmt(s.p99, 0)} ms`;

await benchmark(
  "p1-dispatch",
  "Dispatch latency",
  { tasks: TASKS, workers: WORKERS, gap_ms: GAP_MS, agent: "noop", poll_interval_s: 5, store: "sqlite" },
  async ({ rows, data }) => {
    const tmp = tempDir("p1");
    const server = await startServerProc(tmp.path);
    const proxy = startProxy(server.url);
    try {
      const push = await measure(server.url, server.url, tmp.path, "push");
      const poll = await measure(server.url, proxy.url, tmp.path, "poll");
      data.push = push.summary;
      data.poll = poll.summary;
      data.push_latencies_ms = push.latencies;
      data.poll_latencies_ms = poll.latencies;
      rows.push({
        id: "P1",
        what: `dispatch, create → running (server clock, 1 ms resolution); ${TASKS} tasks one at a time, ${WORKERS} workers, noop agent; push (SSE)`,
        result: ms(push.summary),
        baseline: `poll-only (real worker, stream refused by a proxy), poll_interval 5 s: ${ms(poll.summary)}`,
        target: "p50 ≤ 5 ms, p99 ≤ 25 ms",
        pass: push.summary.p50 <= 5 && push.summary.p99 <= 25,
      });
    } finally {
      proxy.stop();
      await server.stop();
      tmp.cleanup();
    }
  },
);
process.exit();
