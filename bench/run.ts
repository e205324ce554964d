// `npm run bench [-- --quick] [-- --only p1,p4]`: builds the binary under test, runs every
// benchmark in its own process (each writes bench/results/<name>.json), then prints one
// markdown table. Progress goes to stderr, the table to stdout (and bench/results/summary.md).
import { existsSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { build, BUN, ensureDir, machine, QUICK, RESULTS_DIR, ROOT, tempDir, versions } from "./lib/env.ts";
import { markdownTable, readResult, type Row } from "./lib/result.ts";

const BENCHES = [
  { id: "p1", name: "p1-dispatch" },
  { id: "p2", name: "p2-throughput" },
  { id: "p3", name: "p3-idle-worker" },
  { id: "p4", name: "p4-startup" },
  { id: "p5", name: "p5-output" },
  { id: "p6", name: "p6-streams" },
  { id: "p7", name: "p7-sessions" },
  { id: "p8", name: "p8-dashboard" },
  { id: "p10", name: "p10-overhead" },
];

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  if (i >= 0) return process.argv[i + 1];
  return process.argv.find((a) => a.startsWith(`${name}=`))?.slice(name.length + 1);
}

const only = arg("--only")
  ?.toLowerCase()
  .split(",")
  .map((s) => s.trim())
  .filter(Boolean);
const unknown = only?.filter((o) => !BENCHES.some((b) => b.id === o || b.name === o));
if (unknown?.length) {
  console.error(`--only: unknown benchmark(s) ${unknown.join(", ")}; known: ${BENCHES.map((b) => b.id).join(", ")}`);
  process.exit(2);
}
const selected = BENCHES.filter((b) => !only || only.includes(b.id) || only.includes(b.name));

const started = performance.now();
const tmp = tempDir("run");
// The binary under test: built fresh with scripts/build.ts's flags (dist/ is left alone), or BENCH_BIN.
let bin = process.env.BENCH_BIN;
if (!bin) {
  bin = join(tmp.path, "codetether");
  process.stderr.write("building the binary under test (--minify --bytecode) ...\n");
  build(bin);
} else if (!existsSync(bin)) {
  console.error(`BENCH_BIN=${bin}: no such file`);
  process.exit(2);
} else bin = resolve(bin);

const failed: string[] = [];
try {
  for (const b of selected) {
    process.stderr.write(`${b.name}${QUICK ? " (quick)" : ""} ...\n`);
    const t0 = performance.now();
    const since = Date.now() - 1000;
    const p = Bun.spawn([BUN, join(ROOT, "bench", `${b.name}.ts`), ...(QUICK ? ["--quick"] : [])], {
      cwd: ROOT,
      env: { ...process.env, BENCH_BIN: bin, BENCH_QUICK: QUICK ? "1" : "" },
      stdin: "ignore",
      stdout: "inherit",
      stderr: "inherit",
    });
    const code = await p.exited;
    const res = readResult(b.name);
    const fresh = !!res && Date.parse(res.date) >= since; // not a result left by an earlier run
    if (code !== 0 || !fresh || res?.error) failed.push(b.name);
    process.stderr.write(`${b.name}: ${code === 0 && fresh ? "done" : "FAILED"} in ${Math.round((performance.now() - t0) / 1000)} s\n`);
  }
} finally {
  tmp.cleanup();
}

const rows: Row[] = [];
for (const b of selected) {
  const r = readResult(b.name);
  if (!r) rows.push({ id: b.id.toUpperCase(), what: b.name, result: "no result" });
  else if (r.error) rows.push({ id: b.id.toUpperCase(), what: r.title, result: `failed: ${r.error.split("\n")[0]}`, pass: false });
  else rows.push(...r.rows);
}
const m = machine();
const v = versions();
const title =
  `CodeTether benchmarks — ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC${QUICK ? " (--quick)" : ""}; ` +
  `${m.cpu_model} × ${m.cpu_count}, ${Math.round(m.mem_total_mb / 1024)} GB, ${m.os}; ` +
  `codetether ${v.codetether}${v.git ? ` (${v.git})` : ""}, Bun ${v.bun}, OpenCode ${v.opencode ?? "n/a"}; load avg ${m.load_avg_1m}`;
const table = `${title}\n\n${markdownTable(rows)}\n`;
ensureDir(RESULTS_DIR);
writeFileSync(join(RESULTS_DIR, "summary.md"), table);
process.stdout.write(table);
process.stderr.write(`total ${Math.round((performance.now() - started) / 1000)} s${failed.length ? `; failed: ${failed.join(", ")}` : ""}\n`);
process.exit(failed.length ? 1 : 0);
