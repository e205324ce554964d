// P6 server footprint: 1,000 registered workers holding open task streams (SSE) from a
// separate process. Server RSS; fan-out of a task notification (create a global task:
// time until every stream received task_available); the natural 15 s stream heartbeat
// (how late each stream's first heartbeat arrives after its due time).
import { join } from "node:path";
import { createClient } from "../src/client/index.ts";
import { BUN, progress, QUICK, ROOT, tempDir } from "./lib/env.ts";
import { startServerProc } from "./lib/proc.ts";
import { benchmark } from "./lib/result.ts";
import { fmt, mb, round, summarize } from "./lib/stats.ts";

const STREAMS = 1000;
const TASKS = QUICK ? 3 : 10;
const HEARTBEAT_MS = 15_000; // the server's stream heartbeat (not configurable from the CLI)
const now = () => performance.timeOrigin + performance.now();

await benchmark(
  "p6-streams",
  "Server footprint with 1,000 streams",
  { streams: STREAMS, tasks: TASKS, heartbeat_ms: HEARTBEAT_MS, store: "sqlite" },
  async ({ rows, data }) => {
    const tmp = tempDir("p6");
    const server = await startServerProc(tmp.path);
    const rssIdle = server.memory().rss;
    const child = Bun.spawn([BUN, join(ROOT, "bench/lib/sse-clients.ts"), server.url, String(STREAMS)], { stdin: "pipe", stdout: "pipe", stderr: "inherit" });
    const waiters: ((o: any) => boolean)[] = [];
    const seen: any[] = [];
    void (async () => {
      let buf = "";
      for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
        buf += chunk;
        let i: number;
        while ((i = buf.indexOf("\n")) >= 0) {
          const o = JSON.parse(buf.slice(0, i));
          buf = buf.slice(i + 1);
          seen.push(o);
          for (const w of [...waiters]) if (w(o)) waiters.splice(waiters.indexOf(w), 1);
        }
      }
    })();
    const next = (pred: (o: any) => boolean, what: string, timeoutMs = 120_000) =>
      new Promise<any>((resolve, reject) => {
        const hit = seen.find(pred);
        if (hit) return resolve(hit);
        const t = setTimeout(() => reject(new Error(`P6: timed out waiting for ${what}`)), timeoutMs);
        waiters.push((o) => {
          if (!pred(o)) return false;
          clearTimeout(t);
          resolve(o);
          return true;
        });
      });
    try {
      progress(`P6: registering ${STREAMS} workers and opening their task streams`);
      const ready = await next((o) => o.ready, `${STREAMS} connected streams`);
      await Bun.sleep(1000);
      const rssStreams = server.memory().rss;
      const client = createClient({ serverUrl: server.url });
      const fanouts: { total_ms: number; p50_ms: number; create_ms: number }[] = [];
      progress(`P6: ${TASKS} task notifications to ${STREAMS} streams`);
      for (let i = 0; i < TASKS; i++) {
        const t0 = now();
        const task = await client.createTask({ prompt: `p6 ${i}`, agent_type: "noop", codebase_id: "global" });
        const created = now();
        const r = await next((o) => o.task === task.id, `task_available ${task.id} on every stream`, 30_000);
        fanouts.push({ total_ms: round(r.last - t0, 2), p50_ms: round(r.p50 - t0, 2), create_ms: round(created - t0, 2) });
        await Bun.sleep(300);
      }
      const rssAfterTasks = server.memory().rss;
      // Every stream's first heartbeat is due HEARTBEAT_MS after its `connected`.
      const wait = ready.at + HEARTBEAT_MS + 3000 - now();
      progress(`P6: waiting ${Math.round(wait / 1000)} s for the stream heartbeats`);
      if (wait > 0) await Bun.sleep(wait);
      child.stdin.write("report\n");
      await child.stdin.flush();
      const { report } = await next((o) => o.report, "the client report");
      const late = report.streams.filter((s: any) => s.heartbeats.length).map((s: any) => s.heartbeats[0] - s.connected - HEARTBEAT_MS);
      const hbArrivals = report.streams.filter((s: any) => s.heartbeats.length).map((s: any) => s.heartbeats[0]);
      const rssEnd = server.memory();
      const fan = summarize(fanouts.map((f) => f.total_ms));
      const hb = summarize(late);
      Object.assign(data, {
        rss_idle_mb: round(mb(rssIdle), 1),
        rss_streams_mb: round(mb(rssStreams), 1),
        rss_after_tasks_mb: round(mb(rssAfterTasks), 1),
        rss_end_mb: round(mb(rssEnd.rss), 1),
        rss_peak_mb: round(mb(rssEnd.peak), 1),
        streams_connected: report.connected,
        streams_closed: report.closed,
        fanouts,
        fanout_ms: fan,
        heartbeat_streams: late.length,
        heartbeat_late_ms: hb,
        heartbeat_arrival_spread_ms: round(Math.max(...hbArrivals) - Math.min(...hbArrivals), 1),
      });
      const rssMax = Math.max(rssStreams, rssAfterTasks, rssEnd.rss);
      rows.push({
        id: "P6",
        what: `server with ${STREAMS.toLocaleString("en-US")} registered workers holding task streams (SSE, from another process): RSS; task notification fan-out (create → task_available on all ${STREAMS}, ${TASKS} tasks)`,
        result: `RSS ${fmt(mb(rssStreams), 0)} MB with streams (${fmt(mb(rssIdle), 0)} MB idle, ${fmt(mb(rssEnd.peak), 0)} MB peak); fan-out p50 ${fmt(fan.p50, 1)} / max ${fmt(fan.max, 1)} ms`,
        target: "≤ 200 MB RSS, fan-out ≤ 100 ms",
        pass: rssMax <= 200 * 2 ** 20 && fan.max <= 100 && report.closed === 0,
      });
      rows.push({
        id: "P6",
        what: `stream heartbeat (every ${HEARTBEAT_MS / 1000} s, one timer per stream): lateness of each stream's first heartbeat after its due time`,
        result: `${late.length}/${STREAMS} streams: p50 ${fmt(hb.p50, 1)} / p99 ${fmt(hb.p99, 1)} / max ${fmt(hb.max, 1)} ms late`,
        target: "≤ 100 ms",
        pass: late.length === STREAMS && hb.max <= 100,
      });
    } finally {
      child.kill();
      await child.exited;
      await server.stop();
      tmp.cleanup();
    }
  },
);
process.exit();
