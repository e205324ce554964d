// P4 start-up: `codetether --version` and `--help` of the compiled binary (wall time,
// CPU time, max RSS over many runs), against `bun src/cli.ts`, and the same binary built
// with each combination of --minify / --bytecode / --splitting (scripts/build.ts uses all
// three). Then `worker start`: from exec until the (already running) server lists the worker.
import { join } from "node:path";
import { binary, build, BUN, CLI_SRC, progress, QUICK, ROOT, tempDir } from "./lib/env.ts";
import { hasChildren, spawnLogged, startServerProc } from "./lib/proc.ts";
import { benchmark } from "./lib/result.ts";
import { fmt, round, summarize, type Summary } from "./lib/stats.ts";

const RUNS = QUICK ? 15 : 60;
const WORKER_RUNS = QUICK ? 8 : 25;
const TARGET = { version: 25, help: 35, worker: 200 }; // ms, wall p50

const VARIANTS: { name: string; flags: string[] }[] = [
  { name: "plain", flags: [] },
  { name: "--minify", flags: ["--minify"] },
  { name: "--bytecode", flags: ["--bytecode"] },
  { name: "--minify --bytecode", flags: ["--minify", "--bytecode"] },
  // Lazy subcommands become chunks (and their node: imports) that are not loaded until used.
  { name: "--minify --bytecode --splitting", flags: ["--minify", "--bytecode", "--splitting"] },
];

interface Sample {
  wall: number[];
  cpu: number[];
  rss: number[];
}

function runOnce(cmd: string[], into: Sample): void {
  const t0 = performance.now();
  const r = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe", cwd: ROOT, env: { ...process.env, NO_COLOR: "1" } });
  const wall = performance.now() - t0;
  if (r.exitCode !== 0) throw new Error(`${cmd.join(" ")} exited ${r.exitCode}: ${r.stderr.toString().slice(0, 500)}`);
  into.wall.push(wall);
  into.cpu.push(Number(r.resourceUsage.cpuTime.total) / 1000);
  into.rss.push(r.resourceUsage.maxRSS / 2 ** 20);
}

interface Stat {
  wall: Summary;
  cpu_ms_p50: number;
  max_rss_mb_p50: number;
}
const stat = (s: Sample): Stat => ({
  wall: summarize(s.wall.map((x) => round(x, 2))),
  cpu_ms_p50: summarize(s.cpu).p50,
  max_rss_mb_p50: round(summarize(s.rss).p50, 1),
});
const show = (s: Stat) => `p50 ${fmt(s.wall.p50, 1)} / p95 ${fmt(s.wall.p95, 1)} ms, ${fmt(s.max_rss_mb_p50, 0)} MB`;

/** `worker start` from exec until GET /workers lists it, `runs` times (each worker stopped before the next). */
async function workerStart(dir: string, runs: number): Promise<number[]> {
  await Bun.$`mkdir -p ${join(dir, "home")}`.quiet();
  const server = await startServerProc(dir);
  const env = { HOME: join(dir, "home"), XDG_STATE_HOME: undefined, XDG_DATA_HOME: undefined, XDG_CONFIG_HOME: undefined };
  const listed: number[] = [];
  try {
    for (let i = -1; i < runs; i++) {
      const name = `start-${i + 1}`;
      const t0 = performance.now();
      const w = spawnLogged(
        [
          binary(),
          "worker",
          "start",
          "--server",
          server.url,
          "--name",
          name,
          "--data-dir",
          join(dir, name),
          "--opencode-bin",
          join(ROOT, "node_modules/.bin/opencode"),
        ],
        dir,
        name,
        env,
      );
      try {
        for (;;) {
          const ws = (await (await fetch(`${server.url}/v1/opencode/workers`)).json()) as { worker_id: string }[];
          if (ws.some((x) => x.worker_id === name)) break;
          if (w.proc.exitCode !== null || performance.now() - t0 > 15_000) throw new Error(`worker ${name} not listed:\n${w.log().slice(-2000)}`);
          await Bun.sleep(2);
        }
        if (i >= 0) {
          listed.push(performance.now() - t0);
          // Its start-up children (the `opencode models` probe, ~1 s of CPU) finish before the next
          // run starts: left running they slowed the next worker's start to over a second.
          for (let t = 0; t < 50 && hasChildren(w.pid); t++) await Bun.sleep(100);
        }
        // Run -1 warms the page cache and lets session sync's first round create OpenCode's
        // db in the shared HOME (`opencode db path`, seconds of CPU): later runs find it, as
        // a deployed worker does, instead of each leaving one more of those running.
        else {
          await Bun.sleep(2000); // the round starts after registering
          for (let t = 0; t < 600 && hasChildren(w.pid); t++) await Bun.sleep(100);
        }
      } finally {
        await w.stop();
      }
    }
  } finally {
    await server.stop();
  }
  return listed;
}

await benchmark("p4-startup", "Start-up", { runs: RUNS, worker_runs: WORKER_RUNS, target_ms: TARGET }, async ({ rows, data }) => {
  const tmp = tempDir("p4");
  try {
    // The subjects: the binary under test, `bun src/cli.ts`, and one build per flag set.
    const subjects: { name: string; cmd: string[] }[] = [
      { name: "binary", cmd: [binary()] },
      { name: "bun src/cli.ts", cmd: [BUN, CLI_SRC] },
    ];
    for (const v of VARIANTS) {
      progress(`P4: building with ${v.name}`);
      const out = join(tmp.path, `codetether-${v.flags.join("").replaceAll("-", "") || "plain"}`);
      build(out, v.flags);
      subjects.push({ name: `build ${v.name}`, cmd: [out] });
    }
    // The floor: Bun's own start-up, a compiled one-line program with the same flags.
    const hello = join(tmp.path, "hello.ts");
    await Bun.write(hello, 'console.log("0.0.0");\n');
    const floor = join(tmp.path, "hello");
    const r = Bun.spawnSync([BUN, "build", hello, "--compile", "--minify", "--bytecode", "--outfile", floor], { stdout: "pipe", stderr: "pipe" });
    if (r.exitCode !== 0) throw new Error(`cannot build the floor program: ${r.stderr.toString()}`);
    subjects.push({ name: "floor", cmd: [floor] });
    const samples = new Map<string, Sample>();
    const key = (s: string, arg: string) => `${s} ${arg}`;
    progress(`P4: ${RUNS} runs of --version and --help for ${subjects.length} subjects`);
    const args = (s: { name: string }) => (s.name === "floor" ? ["--version"] : ["--version", "--help"]);
    for (const s of subjects) for (const arg of args(s)) runOnce([...s.cmd, arg], { wall: [], cpu: [], rss: [] }); // warm the page cache
    // Interleaved, so load from elsewhere on the machine hits every subject alike.
    for (let i = 0; i < RUNS; i++) {
      for (const s of subjects) {
        for (const arg of args(s)) {
          const k = key(s.name, arg);
          if (!samples.has(k)) samples.set(k, { wall: [], cpu: [], rss: [] });
          runOnce([...s.cmd, arg], samples.get(k)!);
        }
      }
    }
    const stats: Record<string, Stat> = {};
    for (const [k, s] of samples) stats[k] = stat(s);
    data.stats = stats;
    const v = stats[key("binary", "--version")]!;
    const h = stats[key("binary", "--help")]!;
    const src = stats[key("bun src/cli.ts", "--help")]!;
    const floorStat = stats[key("floor", "--version")]!;
    const builds = VARIANTS.map((x) => ({ name: x.name, s: stats[key(`build ${x.name}`, "--version")]! }));
    const fastest = [...builds].sort((a, b) => a.s.wall.p50 - b.s.wall.p50)[0]!;
    data.fastest_build = fastest.name;
    rows.push({
      id: "P4",
      what: `start-up of the compiled binary (scripts/build.ts: --minify --bytecode --splitting), ${RUNS} runs each: \`--version\` · \`--help\` (wall, max RSS)`,
      result: `--version ${show(v)} · --help ${show(h)}`,
      baseline: `\`bun src/cli.ts --help\`: ${show(src)} · floor (compiled \`console.log\`, same flags): ${show(floorStat)}`,
      target: `--version ≤ ${TARGET.version} ms, --help ≤ ${TARGET.help} ms (p50)`,
      pass: v.wall.p50 <= TARGET.version && h.wall.p50 <= TARGET.help,
    });
    rows.push({
      id: "P4",
      what: "build flags, `--version` wall p50 (CPU p50)",
      result: builds.map((b) => `${b.name}: ${fmt(b.s.wall.p50, 1)} ms (${fmt(b.s.cpu_ms_p50, 1)})`).join(" · ") + ` → fastest: ${fastest.name}`,
    });
    progress(`P4: ${WORKER_RUNS} worker starts against a running server`);
    const ws = summarize((await workerStart(join(tmp.path, "ws"), WORKER_RUNS)).map((x) => round(x, 1)));
    data.worker_start_ms = ws;
    rows.push({
      id: "P4",
      what: `\`worker start\` (compiled, session sync on): from exec until the running server lists the worker (GET /workers polled every 2 ms), ${WORKER_RUNS} runs`,
      result: `p50 ${fmt(ws.p50, 1)} / p95 ${fmt(ws.p95, 1)} ms`,
      baseline: `--version of the same binary: p50 ${fmt(v.wall.p50, 1)} ms`,
      target: `≤ ${TARGET.worker} ms`,
      pass: ws.p50 <= TARGET.worker,
    });
  } finally {
    tmp.cleanup();
  }
});
process.exit();
