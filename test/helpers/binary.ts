// The compiled `codetether`, as users run it: built once per test process from this tree.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "./proc.ts";

let built: Promise<string> | null = null;

/** Path of a freshly compiled binary (scripts/build.ts), shared by the tests of one run. */
export function compiledCli(): Promise<string> {
  built ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), "ct-bin-"));
    process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
    const out = join(dir, "codetether");
    const p = Bun.spawn([process.execPath, join(ROOT, "scripts/build.ts"), "--out", out], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
    const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    if (code !== 0 || !existsSync(out)) throw new Error(`build failed (${code}):\n${stdout}\n${stderr}`);
    return out;
  })();
  return built;
}

export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the binary with a clean environment (no config file, no colour unless asked). */
export async function runBin(
  bin: string,
  args: string[],
  o: { env?: Record<string, string | undefined>; cwd?: string; stdin?: string; timeoutMs?: number } = {},
): Promise<Ran> {
  const p = Bun.spawn([bin, ...args], {
    cwd: o.cwd ?? ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, A2A_CONFIG: undefined, ...o.env } as Record<string, string | undefined> as Record<string, string>,
    stdout: "pipe",
    stderr: "pipe",
    stdin: o.stdin === undefined ? "ignore" : new TextEncoder().encode(o.stdin),
  });
  const timer = setTimeout(() => p.kill("SIGKILL"), o.timeoutMs ?? 30_000);
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/** Runs the binary in a pseudo-terminal (util-linux `script`): what a person sees, colours included. */
export async function runInTty(bin: string, args: string[], o: { env?: Record<string, string>; columns?: number } = {}): Promise<Ran> {
  const cmd = [bin, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ");
  const p = Bun.spawn(["script", "-qefc", `stty cols ${o.columns ?? 80} 2>/dev/null; ${cmd}`, "/dev/null"], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, TERM: "xterm-256color", ...o.env } as Record<string, string>,
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, stdout: stdout.replaceAll("\r\n", "\n"), stderr };
}
