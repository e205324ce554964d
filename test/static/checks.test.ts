// The checks a reviewer would otherwise run by hand, as counted tests: the type checker
// and Biome (lint rules and formatting, config in biome.json). A failure prints the
// tools' own diagnostics, file and line first.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "../..");
const bin = (name: string) => join(ROOT, "node_modules/.bin", name);

async function run(cmd: string[]): Promise<{ code: number; out: string }> {
  const p = Bun.spawn(cmd, { cwd: ROOT, stdout: "pipe", stderr: "pipe", env: { ...process.env, NO_COLOR: "1" } });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, out: `${out}${err}`.trim() };
}

describe("static checks", () => {
  test("tsc --noEmit: no type errors in src, test, bench, scripts", async () => {
    const r = await run([bin("tsc"), "--noEmit", "--pretty", "false"]);
    expect(r.out).toBe("");
    expect(r.code).toBe(0);
  }, 240_000);

  test("biome ci: lint rules and formatting hold everywhere", async () => {
    const r = await run([bin("biome"), "ci", "--colors=off", "--max-diagnostics=50"]);
    if (r.code !== 0) console.error(r.out);
    expect(r.code).toBe(0);
  }, 120_000);
});
