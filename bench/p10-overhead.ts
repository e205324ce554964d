// P10 per-task overhead: what CodeTether adds around an agent that does next to nothing.
// The agent is a fake `opencode` (a /bin/sh script printing three OpenCode-shaped events:
// step_start, text, step_finish); tasks run one at a time on one real worker (in this
// process) against the real server (its own process). Measured on the server's clock:
// running (started_at, set by the claim) -> completed (completed_at, set by the final
// report). Beside it, the same script's own run time (spawn to exit) here: the floor.
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createClient } from "../src/client/index.ts";
import { progress, QUICK, tempDir } from "./lib/env.ts";
import { startServerProc } from "./lib/proc.ts";
import { benchmark } from "./lib/result.ts";
import { fmt, summarize, type Summary } from "./lib/stats.ts";
import { startFleet } from "./lib/workers.ts";

const TASKS = QUICK ? 60 : 300;

/** `db path` (the worker's start-up gate) prints nothing; `run` prints three events and exits. */
function fakeOpencode(dir: string): string {
  const path = join(dir, "opencode");
  writeFileSync(
    path,
    `#!/bin/sh
[ "$1" = run ] || exit 0
cat >/dev/null
printf '%s\\n' '{"type":"step_start","timestamp":1,"sessionID":"ses_p10","part":{"type":"step-start","messageID":"msg_1"}}' \\
  '{"type":"text","timestamp":1,"sessionID":"ses_p10","part":{"type":"text","messageID":"msg_1","text":"done"}}' \\
  '{"type":"step_finish","timestamp":1,"sessionID":"ses_p10","part":{"type":"step-finish","reason":"stop"}}'
`,
  );
  chmodSync(path, 0o755);
  return path;
}

/** The fake agent alone: spawn, feed the prompt, read its three lines, exit. */
async function floor(bin: string, n: number): Promise<Summary> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const p = Bun.spawn([bin, "run"], { stdin: new TextEncoder().encode("prompt"), stdout: "pipe", stderr: "ignore" });
    await new Response(p.stdout).text();
    await p.exited;
    times.push(performance.now() - t0);
  }
  return summarize(times);
}

const ms = (s: Summary) => `p50 ${fmt(s.p50, 1)} / p95 ${fmt(s.p95, 1)} ms`;

await benchmark(
  "p10-overhead",
  "Per-task overhead",
  { tasks: TASKS, agent: "fake opencode (/bin/sh, three JSON events)", workers: 1, store: "sqlite" },
  async ({ rows, data }) => {
    const tmp = tempDir("p10");
    const bin = fakeOpencode(tmp.path);
    const server = await startServerProc(tmp.path);
    const fleet = await startFleet({ serverUrl: server.url, dir: tmp.path, count: 1, prefix: "p10", flags: { "opencode-bin": bin } });
    try {
      await fleet.streaming();
      const client = createClient({ serverUrl: server.url });
      const ids: string[] = [];
      progress(`P10: ${TASKS} tasks one at a time`);
      for (let i = 0; i < TASKS; i++) {
        const base = fleet.finished();
        ids.push((await client.createTask({ prompt: `p10 ${i}`, agent_type: "build", codebase_id: "global" })).id);
        const until = Date.now() + 30_000;
        while (fleet.finished() === base) {
          if (Date.now() > until) throw new Error(`task ${i} did not finish in 30 s`);
          await Bun.sleep(1);
        }
      }
      const mine = new Set(ids);
      const tasks = (await client.listTasks({ limit: 10_000 })).filter((t) => mine.has(t.id));
      const bad = tasks.filter((t) => t.status !== "completed");
      if (bad.length || tasks.length !== TASKS)
        throw new Error(`${bad.length} tasks did not complete (${bad[0]?.error ?? ""}); ${tasks.length}/${TASKS} listed`);
      const overhead = tasks.map((t) => Date.parse(t.completed_at!) - Date.parse(t.started_at!));
      const s = summarize(overhead);
      const f = await floor(bin, Math.min(TASKS, 100));
      data.overhead = s;
      data.floor = f;
      data.overhead_ms = overhead;
      rows.push({
        id: "P10",
        what: `per-task overhead, running → completed (server clock, 1 ms resolution); ${TASKS} tasks one at a time, fake opencode printing 3 events`,
        result: ms(s),
        baseline: `the fake agent alone (spawn → exit): ${ms(f)}; the Python worker: p50 36 ms (issue 13, measured 2026-12-02)`,
        target: "p50 ≤ 15 ms",
        pass: s.p50 <= 15,
      });
    } finally {
      await fleet.stop();
      await server.stop();
      tmp.cleanup();
    }
  },
);
process.exit();
