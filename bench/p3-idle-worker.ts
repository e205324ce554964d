// P3 idle worker: the compiled `codetether worker start` connected to a server, no tasks.
// RSS sampled every second and CPU % (own + reaped children: session sync may start
// opencode) over the window, after start-up settled. Measured side by side in the same
// window: the same worker with session sync off, and Bun's floor (a compiled program that
// only keeps a 5 s timer).
import { join } from "node:path";
import { binary, BUN, progress, QUICK, ROOT, tempDir } from "./lib/env.ts";
import { cpuSeconds, memory, spawnLogged, startServerProc, type Proc } from "./lib/proc.ts";
import { benchmark } from "./lib/result.ts";
import { fmt, mb, round } from "./lib/stats.ts";

const WINDOW_S = QUICK ? 15 : 60;
const SETTLE_S = 3; // at least, then until CPU is quiet (max 30 s)

const cpuOf = (pid: number) => cpuSeconds(pid, true);

interface Idle {
  rss_avg_mb: number;
  rss_max_mb: number;
  rss_peak_mb: number;
  cpu_s: number;
  cpu_pct: number;
}

await benchmark("p3-idle-worker", "Idle worker", { window_s: WINDOW_S, settle_s: SETTLE_S }, async ({ rows, data }) => {
  const tmp = tempDir("p3");
  const server = await startServerProc(tmp.path);
  const home = join(tmp.path, "home");
  await Bun.$`mkdir -p ${home}`.quiet();
  const env = { HOME: home, XDG_STATE_HOME: undefined, XDG_DATA_HOME: undefined, XDG_CONFIG_HOME: undefined };
  const worker = (name: string, extra: string[]) =>
    spawnLogged(
      [binary(), "worker", "start", "--server", server.url, "--name", name, "--data-dir", join(tmp.path, name), "--opencode-bin", join(ROOT, "node_modules/.bin/opencode"), ...extra],
      tmp.path,
      name,
      env,
    );
  const floorSrc = join(tmp.path, "floor.ts");
  await Bun.write(floorSrc, "setInterval(() => {}, 5000);\n");
  const floorBin = join(tmp.path, "floor");
  const b = Bun.spawnSync([BUN, "build", floorSrc, "--compile", "--minify", "--bytecode", "--outfile", floorBin], { stdout: "pipe", stderr: "pipe" });
  if (b.exitCode !== 0) throw new Error(`cannot build the floor program: ${b.stderr.toString()}`);
  const procs: Record<string, Proc> = {
    default: worker("idle", []),
    no_sync: worker("idle-nosync", ["--no-sync-sessions"]),
    floor: spawnLogged([floorBin], tmp.path, "floor"),
  };
  try {
    await procs.default!.waitFor(/task stream connected/, 30_000);
    await procs.no_sync!.waitFor(/task stream connected/, 30_000);
    // The first session-sync round runs at start (it may start opencode once): wait until CPU is quiet.
    for (let i = 0, last = cpuOf(procs.default!.pid); i < 30; i++) {
      await Bun.sleep(1000);
      const now = cpuOf(procs.default!.pid);
      if (i >= SETTLE_S && now - last < 0.02) break;
      last = now;
    }
    progress(`P3: sampling the idle worker for ${WINDOW_S} s`);
    const names = Object.keys(procs);
    const rss = Object.fromEntries(names.map((n) => [n, [] as number[]]));
    const cpu0 = Object.fromEntries(names.map((n) => [n, cpuOf(procs[n]!.pid)]));
    const t0 = performance.now();
    while (performance.now() - t0 < WINDOW_S * 1000) {
      for (const n of names) rss[n]!.push(memory(procs[n]!.pid).rss);
      await Bun.sleep(1000);
    }
    const wall = (performance.now() - t0) / 1000;
    const idle: Record<string, Idle> = {};
    for (const n of names) {
      const cpu = cpuOf(procs[n]!.pid) - cpu0[n]!;
      const r = rss[n]!;
      idle[n] = {
        rss_avg_mb: round(mb(r.reduce((a, x) => a + x, 0) / r.length), 1),
        rss_max_mb: round(mb(Math.max(...r)), 1),
        rss_peak_mb: round(mb(memory(procs[n]!.pid).peak), 1),
        cpu_s: round(cpu, 2),
        cpu_pct: round((cpu / wall) * 100, 3),
      };
    }
    Object.assign(data, { wall_s: round(wall, 1), ...idle });
    const d = idle.default!;
    const show = (x: Idle) => `RSS ${fmt(x.rss_max_mb, 1)} MB, CPU ${fmt(x.cpu_pct, 2)} %`;
    rows.push({
      id: "P3",
      what: `idle worker: compiled \`worker start\` (task stream open, session sync every 60 s), ${WINDOW_S} s after start-up settled, no tasks (RSS max; CPU incl. children)`,
      result: `RSS ${fmt(d.rss_avg_mb, 1)} MB avg / ${fmt(d.rss_max_mb, 1)} MB max; CPU ${fmt(d.cpu_pct, 2)} %`,
      baseline: `session sync off: ${show(idle.no_sync!)} · Bun floor (compiled program with one 5 s timer): ${show(idle.floor!)}`,
      target: "≤ 30 MB RSS, ≤ 0.1 % CPU",
      pass: d.rss_max_mb <= 30 && d.cpu_pct <= 0.1,
    });
  } finally {
    for (const p of Object.values(procs)) await p.stop();
    await server.stop();
    tmp.cleanup();
  }
});
process.exit();
