// One benchmark's result: table rows plus the raw numbers, written to
// bench/results/<name>.json with the machine and versions it was measured on.
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ensureDir, machine, QUICK, RESULTS_DIR, versions, type Machine, type Versions } from "./env.ts";

export interface Row {
  /** "P1" ... "P7". */
  id: string;
  /** What was measured, and how (short). */
  what: string;
  result: string;
  /** A side-by-side comparison, when there is one. */
  baseline?: string;
  target?: string;
  /** null: no target, or not measurable on this run. */
  pass?: boolean | null;
}

export interface BenchResult {
  name: string;
  title: string;
  date: string;
  quick: boolean;
  seconds: number;
  machine: Machine;
  versions: Versions;
  params: Record<string, unknown>;
  rows: Row[];
  data: Record<string, unknown>;
  error?: string;
}

export function resultPath(name: string): string {
  return join(RESULTS_DIR, `${name}.json`);
}

/** Runs `body`, records its rows and data (or its error) in bench/results/<name>.json. */
export async function benchmark(
  name: string,
  title: string,
  params: Record<string, unknown>,
  body: (out: { rows: Row[]; data: Record<string, unknown> }) => Promise<void>,
): Promise<BenchResult> {
  const started = performance.now();
  const out = { rows: [] as Row[], data: {} as Record<string, unknown> };
  const res: BenchResult = {
    name,
    title,
    date: new Date().toISOString(),
    quick: QUICK,
    seconds: 0,
    machine: machine(),
    versions: versions(),
    params,
    rows: out.rows,
    data: out.data,
  };
  try {
    await body(out);
  } catch (err) {
    res.error = (err as Error).stack ?? String(err);
    process.stderr.write(`${name} failed: ${res.error}\n`);
  }
  res.seconds = Math.round((performance.now() - started) / 100) / 10;
  ensureDir(RESULTS_DIR);
  const path = resultPath(name);
  writeFileSync(`${path}.tmp`, JSON.stringify(res, null, 2) + "\n");
  renameSync(`${path}.tmp`, path);
  if (res.error) process.exitCode = 1;
  return res;
}

export function readResult(name: string): BenchResult | null {
  try {
    return JSON.parse(readFileSync(resultPath(name), "utf8"));
  } catch {
    return null;
  }
}

export const mark = (pass: boolean | null | undefined) => (pass === true ? "✓" : pass === false ? "✗" : "");

const cell = (s: string | undefined) => (s ?? "").replaceAll("|", "\\|").replaceAll("\n", " ");

export function markdownTable(rows: Row[]): string {
  const lines = ["| # | Benchmark | Result | Baseline / comparison | Target | |", "|---|---|---|---|---|---|"];
  for (const r of rows) lines.push(`| ${r.id} | ${cell(r.what)} | ${cell(r.result)} | ${cell(r.baseline)} | ${cell(r.target)} | ${mark(r.pass)} |`);
  return lines.join("\n");
}
