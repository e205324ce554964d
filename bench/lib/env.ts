// What every benchmark shares: paths, the command line (--quick), the machine and version
// facts recorded with each result, and the binary under test (built once by run.ts).
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { cpus, release, tmpdir, totalmem, type } from "node:os";
import { join, resolve } from "node:path";
import { version } from "../../package.json";

export const ROOT = resolve(import.meta.dir, "../..");
export const BUN = process.execPath;
export const CLI_SRC = join(ROOT, "src/cli.ts");
export const RESULTS_DIR = join(ROOT, "bench/results");

export const QUICK = process.argv.includes("--quick") || process.env.BENCH_QUICK === "1";

/** The compiled binary under test: BENCH_BIN (run.ts builds a fresh one), else dist/codetether. */
export function binary(): string {
  const p = resolve(process.env.BENCH_BIN || join(ROOT, "dist/codetether")); // processes run in temp dirs
  if (!existsSync(p)) throw new Error(`no binary at ${p}: run \`npm run build\` or \`npm run bench\` (which builds one)`);
  return p;
}

/** Builds with scripts/build.ts-equivalent flags into `out` (flags: e.g. ["--minify", "--bytecode"]). */
export function build(out: string, flags = ["--minify", "--bytecode", "--splitting"]): void {
  const r = spawnSync(BUN, ["build", CLI_SRC, "--compile", ...flags, "--format=esm", "--sourcemap=none", "--outfile", out], { cwd: ROOT, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`bun build ${flags.join(" ")} failed: ${r.stderr || r.stdout}`);
}

/** PostgreSQL for P2: BENCH_DATABASE_URL, else TEST_DATABASE_URL, else the local default. */
export const PG_URL = process.env.BENCH_DATABASE_URL || process.env.TEST_DATABASE_URL || "postgres://postgres@127.0.0.1:5432/test";

export interface TmpDir {
  path: string;
  cleanup(): void;
}
export function tempDir(prefix: string): TmpDir {
  const path = mkdtempSync(join(tmpdir(), `ctbench-${prefix}-`));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

function cpuModel(): string {
  try {
    const m = readFileSync("/proc/cpuinfo", "utf8").match(/^model name\s*:\s*(.+)$/m);
    if (m) return m[1]!.trim();
  } catch {}
  return cpus()[0]?.model ?? "unknown";
}

function cmd(bin: string, args: string[]): string | null {
  try {
    return execFileSync(bin, args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], timeout: 20_000 }).trim();
  } catch {
    return null;
  }
}

export interface Machine {
  os: string;
  cpu_model: string;
  cpu_count: number;
  mem_total_mb: number;
  load_avg_1m: number | null;
}

export function machine(): Machine {
  let load: number | null = null;
  try {
    load = Number(readFileSync("/proc/loadavg", "utf8").split(" ")[0]);
  } catch {}
  return {
    os: `${type()} ${release()} ${process.arch}`,
    cpu_model: cpuModel(),
    cpu_count: cpus().length,
    mem_total_mb: Math.round(totalmem() / 2 ** 20),
    load_avg_1m: load,
  };
}

export interface Versions {
  codetether: string;
  git: string | null;
  bun: string;
  opencode: string | null;
}

let versionsCache: Versions | null = null;
export function versions(): Versions {
  if (versionsCache) return versionsCache;
  const oc = join(ROOT, "node_modules/.bin/opencode");
  const head = cmd("git", ["-C", ROOT, "rev-parse", "--short", "HEAD"]);
  const dirty = head && cmd("git", ["-C", ROOT, "status", "--porcelain", "--untracked-files=no"]);
  return (versionsCache = {
    codetether: version,
    git: head ? `${head}${dirty ? "+dirty" : ""}` : null,
    bun: Bun.version,
    opencode: existsSync(oc) ? cmd(oc, ["--version"]) : cmd("opencode", ["--version"]),
  });
}

export function ensureDir(p: string): string {
  mkdirSync(p, { recursive: true });
  return p;
}

/** Progress goes to stderr: stdout of run.ts is the table only. */
export function progress(msg: string): void {
  process.stderr.write(`  ${msg}\n`);
}
