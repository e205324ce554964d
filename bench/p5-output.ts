// P5 output delivery: one task whose agent prints 100,000 lines as fast as it can. The
// agent is a fake `opencode` (opencode_bin points at a script) that prints JSON events in
// OpenCode's `--format json` shape, so this measures CodeTether's overhead only: the
// real worker (in this process) batches the lines to the real server (its own process).
import { chmodSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createClient } from "../src/client/index.ts";
import { BUN, progress, QUICK, tempDir } from "./lib/env.ts";
import { startServerProc } from "./lib/proc.ts";
import { benchmark } from "./lib/result.ts";
import { fmt, round } from "./lib/stats.ts";
import { startFleet } from "./lib/workers.ts";

const LINES = Number(process.env.BENCH_P5_LINES) || (QUICK ? 20_000 : 100_000);
const now = () => performance.timeOrigin + performance.now();

/** The fake opencode: `db path` (the worker's start-up gate) exits at once; `run` prints LINES events. */
function fakeOpencode(dir: string): string {
  const path = join(dir, "opencode");
  const src = `#!${BUN}
if (process.argv[2] !== "run") process.exit(0);
const n = Number(process.env.BENCH_LINES);
const ts = Date.now();
const w = Bun.stdout.writer();
w.write(JSON.stringify({ type: "step_start", timestamp: ts, sessionID: "ses_bench", part: { type: "step-start", messageID: "msg_1" } }) + "\\n");
let chunk = "";
for (let i = 1; i < n - 2; i++) {
  chunk += '{"type":"tool_use","timestamp":' + ts + ',"sessionID":"ses_bench","part":{"tool":"bash","n":' + i + '}}\\n';
  if (chunk.length > 65536) { w.write(chunk); await w.flush(); chunk = ""; }
}
w.write(chunk);
w.write(JSON.stringify({ type: "text", timestamp: ts, sessionID: "ses_bench", part: { type: "text", messageID: "msg_1", text: "done" } }) + "\\n");
w.write(JSON.stringify({ type: "step_finish", timestamp: ts, sessionID: "ses_bench", part: { type: "step-finish", reason: "stop" } }) + "\\n");
await w.flush();
await Bun.write(process.env.BENCH_LAST_LINE_FILE, String(performance.timeOrigin + performance.now()));
`;
  require("node:fs").writeFileSync(path, src);
  chmodSync(path, 0o755);
  return path;
}

await benchmark("p5-output", "Output delivery", { lines: LINES, agent: "fake opencode (prints JSON events as fast as it can)" }, async ({ rows, data }) => {
  const tmp = tempDir("p5");
  const lastLineFile = join(tmp.path, "last-line-at");
  process.env.BENCH_LINES = String(LINES);
  process.env.BENCH_LAST_LINE_FILE = lastLineFile;
  const bin = fakeOpencode(tmp.path);
  const server = await startServerProc(tmp.path);
  const fleet = await startFleet({ serverUrl: server.url, dir: tmp.path, count: 1, prefix: "p5", flags: { "opencode-bin": bin } });
  try {
    await fleet.streaming();
    // Measurement hooks on the worker's own client: every request it makes, and when the
    // batch holding the last line was answered (stored). The calls themselves are unchanged.
    const w = fleet.workers[0]!;
    const http = w.ctx.client.http;
    const request = http.request.bind(http);
    let storedAt = 0;
    const outputStarts: number[] = [];
    http.request = (async (method: Parameters<typeof request>[0], path: string, opts?: Parameters<typeof request>[2]) => {
      const isOutput = method === "POST" && path.endsWith("/output");
      if (isOutput) outputStarts.push(now());
      const res = await request(method, path, opts);
      const b = opts?.body as { seq?: number; lines?: string[] } | undefined;
      if (isOutput && b?.lines && b.seq! + b.lines.length >= LINES) storedAt = now();
      return res;
    }) as typeof http.request;
    const client = createClient({ serverUrl: server.url });
    progress(`P5: one task printing ${LINES.toLocaleString("en-US")} lines`);
    fleet.requests.clear();
    const task = await client.createTask({ prompt: "print a lot", agent_type: "build", codebase_id: "global" });
    const until = Date.now() + 300_000;
    while (fleet.finished() < 1) {
      if (Date.now() > until) throw new Error("the output task did not finish in 300 s");
      await Bun.sleep(20);
    }
    // The task's requests: its claim, output batches, lease heartbeats, release. Claims that
    // found nothing (204, the worker looking for more work) are the dispatcher's, not the task's.
    const byRoute = Object.fromEntries([...fleet.requests].filter(([k]) => !k.endsWith(" 204")));
    const outputRequests = Object.entries(byRoute)
      .filter(([k]) => k.includes("/output"))
      .reduce((a, [, n]) => a + n, 0);
    const t = await client.getTask(task.id);
    const page = await client.getOutput(task.id, LINES + 10);
    const lastLineAt = Number(readFileSync(lastLineFile, "utf8"));
    const duration = (Date.parse(t.completed_at!) - Date.parse(t.started_at!)) / 1000;
    const requests = Object.values(byRoute).reduce((a, b) => a + b, 0);
    const lost = LINES - page.total;
    const lag = storedAt ? storedAt - lastLineAt : NaN;
    const perS = requests / duration;
    const outPerS = outputRequests / duration;
    // The busiest second: output requests begun within any window [t, t + 1 s), with 1 ms of
    // slack for timer granularity; and the smallest gap between two of them.
    const busiest = Math.max(0, ...outputStarts.map((t0) => outputStarts.filter((t) => t >= t0 && t < t0 + 999).length));
    const minGap = Math.min(...outputStarts.slice(1).map((t, i) => t - outputStarts[i]!));
    Object.assign(data, {
      status: t.status,
      error: t.error,
      lines_stored: page.total,
      truncated: (page as any).truncated,
      lost,
      requests,
      output_requests: outputRequests,
      requests_by_route: byRoute,
      dispatcher_requests: Object.fromEntries([...fleet.requests].filter(([k]) => k.endsWith(" 204"))),
      task_seconds: round(duration, 3),
      requests_per_s: round(perS, 2),
      output_requests_per_s: round(outPerS, 2),
      output_requests_busiest_second: busiest,
      output_request_min_gap_ms: round(minGap, 1),
      last_line_to_stored_ms: round(lag, 1),
    });
    rows.push({
      id: "P5",
      what: `output delivery: fake agent prints ${LINES.toLocaleString("en-US")} OpenCode-shaped JSON lines as fast as it can (measures CodeTether's overhead, not OpenCode)`,
      result:
        `${page.total.toLocaleString("en-US")} stored (${lost} lost), task ${t.status} in ${fmt(duration, 2)} s; ${outputRequests} output batches, ` +
        `at most ${busiest} in any second (${requests} requests with claim and release: ${fmt(perS, 1)}/s over the task); last line → stored ${fmt(lag, 0)} ms`,
      target: "0 lost, ≤ 4 requests/s per task",
      pass: lost === 0 && t.status === "completed" && busiest <= 4,
    });
  } finally {
    await fleet.stop();
    await server.stop();
    tmp.cleanup();
  }
});
process.exit();
