// P3 idle worker: the compiled `codetether worker start` connected to a server, no tasks.
// RSS sampled every second and CPU % (own + reaped children: session sync may start
// opencode) over the window, after start-up settled. Measured side by side in the same
// window: the same worker with session sync off, and Bun's floor (a compiled program that
// only keeps a 5 s timer). The breakdown of RSS comes from /proc/<pid>/smaps: pages of the
// executable's code and read-only data that the process has touched (Bun's runtime and JIT,
// shared with nothing else here but counted in RSS), the embedded bundle (.bun section), and
// anonymous memory (JS heap, malloc). Wake-ups are voluntary context switches of all threads.
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { binary, BUN, progress, QUICK, ROOT, tempDir } from "./lib/env.ts";
import { children, cpuSeconds, hasChildren, memory, spawnLogged, startServerProc, type Proc } from "./lib/proc.ts";
import { benchmark } from "./lib/result.ts";
import { fmt, mb, round } from "./lib/stats.ts";

const WINDOW_S = QUICK ? 15 : 60;
const SETTLE_S = 3; // at least, then until CPU is quiet and no child runs (max 90 s)

const cpuOf = (pid: number) => cpuSeconds(pid, true);
const TARGET = { rss_mb: 30, cpu_pct: 0.05 };
/** BENCH_BEFORE_BIN: another build (e.g. of main) run side by side as "before". */
const BEFORE = process.env.BENCH_BEFORE_BIN ? resolve(process.env.BENCH_BEFORE_BIN) : undefined;

/** RSS by kind (MB) from smaps: the executable's code (r-xp), its read-only data (r--p), its writable part (the embedded bundle lives there), other files, anonymous. */
function rssBreakdown(pid: number, exe: string): Record<string, number> {
  const out = { code: 0, rodata: 0, bundle: 0, other_files: 0, anon: 0 };
  let kind: keyof typeof out = "anon";
  for (const line of readFileSync(`/proc/${pid}/smaps`, "utf8").split("\n")) {
    const m = line.match(/^[0-9a-f]+-[0-9a-f]+ (\S+) \S+ \S+ \S+\s*(.*)$/);
    if (m) {
      const [, perms, path] = m;
      kind = !path || path.startsWith("[") ? "anon" : path !== exe ? "other_files" : perms!.includes("x") ? "code" : perms!.includes("w") ? "bundle" : "rodata";
      continue;
    }
    const rss = line.match(/^Rss:\s+(\d+) kB/);
    if (rss) out[kind] += Number(rss[1]) / 1024;
  }
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, round(v, 1)]));
}

function rssOf(pid: number): number {
  try {
    return memory(pid).rss || 0;
  } catch {
    return 0; // ended meanwhile
  }
}

/** Voluntary context switches of each of a process's threads (by thread id): how often each went to sleep, i.e. was woken. */
function wakeups(pid: number): Map<string, number> {
  const by = new Map<string, number>();
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    try {
      by.set(t, Number(readFileSync(`/proc/${pid}/task/${t}/status`, "utf8").match(/^voluntary_ctxt_switches:\s+(\d+)/m)?.[1] ?? 0));
    } catch {
      // the thread ended between readdir and read
    }
  }
  return by;
}

/** Wake-ups between two samples, over the threads alive at both (a thread that ended takes its count with it). */
function wakeupsSince(pid: number, before: Map<string, number>): number {
  let n = 0;
  for (const [t, c] of wakeups(pid)) n += c - (before.get(t) ?? 0);
  return n;
}

interface Idle {
  rss_avg_mb: number;
  rss_max_mb: number;
  rss_peak_mb: number;
  cpu_s: number;
  cpu_pct: number;
  wakeups_per_min: number;
  children_rss_mb: number;
  rss_mb_by_kind: Record<string, number>;
}

await benchmark("p3-idle-worker", "Idle worker", { window_s: WINDOW_S, settle_s: SETTLE_S }, async ({ rows, data }) => {
  const tmp = tempDir("p3");
  const server = await startServerProc(tmp.path);
  const home = join(tmp.path, "home");
  await Bun.$`mkdir -p ${home}`.quiet();
  const env = { HOME: home, XDG_STATE_HOME: undefined, XDG_DATA_HOME: undefined, XDG_CONFIG_HOME: undefined };
  const worker = (name: string, extra: string[], bin = binary()) =>
    spawnLogged(
      [
        bin,
        "worker",
        "start",
        "--server",
        server.url,
        "--name",
        name,
        "--data-dir",
        join(tmp.path, name),
        "--opencode-bin",
        join(ROOT, "node_modules/.bin/opencode"),
        ...extra,
      ],
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
    ...(BEFORE ? { before: worker("idle-before", [], BEFORE) } : {}),
    floor: spawnLogged([floorBin], tmp.path, "floor"),
  };
  try {
    await procs.default!.waitFor(/task stream connected/, 30_000);
    await procs.no_sync!.waitFor(/task stream connected/, 30_000);
    await procs.before?.waitFor(/task stream connected/, 30_000);
    // The first session-sync round runs at start and starts `opencode db path` once (a fresh
    // HOME: OpenCode creates its db, seconds of CPU), and every worker, the one without session
    // sync too, probes `opencode models`. Their CPU counts only once reaped, so wait until no
    // worker has a child and the default one's CPU is quiet.
    for (let i = 0, last = cpuOf(procs.default!.pid); i < 90; i++) {
      await Bun.sleep(1000);
      const now = cpuOf(procs.default!.pid);
      const busy = [procs.default!, procs.no_sync!, procs.before].some((p) => p && hasChildren(p.pid));
      if (i >= SETTLE_S && now - last < 0.02 && !busy) break;
      last = now;
    }
    progress(`P3: sampling the idle worker for ${WINDOW_S} s`);
    const names = Object.keys(procs);
    const rss = Object.fromEntries(names.map((n) => [n, [] as number[]]));
    const cpu0 = Object.fromEntries(names.map((n) => [n, cpuOf(procs[n]!.pid)]));
    const wake0 = Object.fromEntries(names.map((n) => [n, wakeups(procs[n]!.pid)]));
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
        wakeups_per_min: round((wakeupsSince(procs[n]!.pid, wake0[n]!) / wall) * 60, 0),
        // The worker's watchdog (`sh`, blocked on a read of its stdin) is a process of its own.
        children_rss_mb: round(mb(children(procs[n]!.pid).reduce((a, c) => a + rssOf(c), 0)), 1),
        rss_mb_by_kind: rssBreakdown(procs[n]!.pid, n === "floor" ? floorBin : n === "before" ? BEFORE! : binary()),
      };
    }
    Object.assign(data, { wall_s: round(wall, 1), ...idle });
    const d = idle.default!;
    const show = (x: Idle) => `RSS ${fmt(x.rss_max_mb, 1)} MB, CPU ${fmt(x.cpu_pct, 2)} %, ${x.wakeups_per_min} wake-ups/min`;
    const kinds = (x: Idle) =>
      Object.entries(x.rss_mb_by_kind)
        .map(([k, v]) => `${k.replace("_", " ")} ${fmt(v, 1)}`)
        .join(", ");
    rows.push({
      id: "P3",
      what: `idle worker: compiled \`worker start\` (task stream open, session sync every 60 s), ${WINDOW_S} s after start-up settled, no tasks (RSS max; CPU incl. children)`,
      result: `RSS ${fmt(d.rss_avg_mb, 1)} MB avg / ${fmt(d.rss_max_mb, 1)} MB max (MB: ${kinds(d)}; watchdog child ${fmt(d.children_rss_mb, 1)} more); CPU ${fmt(d.cpu_pct, 2)} %, ${d.wakeups_per_min} wake-ups/min`,
      baseline: `${idle.before ? `before (${process.env.BENCH_BEFORE_LABEL ?? BEFORE}), same run: ${show(idle.before)} (MB: ${kinds(idle.before)}) · ` : ""}session sync off: ${show(idle.no_sync!)} · Bun floor (compiled program with one 5 s timer): ${show(idle.floor!)} (MB: ${kinds(idle.floor!)})`,
      target: `≤ ${TARGET.rss_mb} MB RSS, ≤ ${TARGET.cpu_pct} % CPU`,
      pass: d.rss_max_mb <= TARGET.rss_mb && d.cpu_pct <= TARGET.cpu_pct,
    });
  } finally {
    for (const p of Object.values(procs)) await p.stop();
    await server.stop();
    tmp.cleanup();
  }
});
process.exit();
