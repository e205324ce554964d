// Spawning the real `codetether` CLI in tests and waiting for what it does.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const ROOT = resolve(import.meta.dir, "../..");
export const BUN = process.execPath; // the bun running the tests
export const CLI = join(ROOT, "src/cli.ts");

export interface CliProc {
  proc: ReturnType<typeof Bun.spawn>;
  out: () => string;
  err: () => string;
  /** Resolves with the first match of `re` on stdout+stderr (rejects on timeout or exit). */
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  exited: Promise<number>;
  kill(sig?: NodeJS.Signals | number): void;
}

const live = new Set<CliProc>();

export function spawnCli(args: string[], opts: { env?: Record<string, string | undefined>; cwd?: string; stdin?: string } = {}): CliProc {
  const proc = Bun.spawn([BUN, CLI, ...args], {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, NO_COLOR: "1", ...opts.env } as Record<string, string>,
    stdout: "pipe",
    stderr: "pipe",
    stdin: opts.stdin !== undefined ? new Blob([opts.stdin]) : "ignore",
  });
  let out = "";
  let err = "";
  const waiters: (() => void)[] = [];
  const pump = async (stream: ReadableStream<Uint8Array>, onText: (s: string) => void) => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream() as unknown as ReadableWritablePair<string, Uint8Array>)) {
      onText(chunk);
      for (const w of waiters) w();
    }
  };
  void pump(proc.stdout as ReadableStream<Uint8Array>, (s) => (out += s));
  void pump(proc.stderr as ReadableStream<Uint8Array>, (s) => (err += s));
  const exited = proc.exited.then((c) => {
    for (const w of waiters) w();
    return c;
  });
  const p: CliProc = {
    proc,
    out: () => out,
    err: () => err,
    exited,
    kill: (sig = "SIGTERM") => {
      try {
        proc.kill(sig as any);
      } catch {}
    },
    waitFor(re, timeoutMs = 20_000) {
      return new Promise((res, rej) => {
        const check = () => {
          const m = (out + err).match(re);
          if (m) {
            cleanup();
            res(m);
          } else if (proc.exitCode !== null) {
            cleanup();
            rej(new Error(`process exited (${proc.exitCode}) before ${re}; output:\n${out}\n${err}`));
          }
        };
        const t = setTimeout(() => {
          cleanup();
          rej(new Error(`timed out waiting for ${re}; output:\n${out}\n${err}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(t);
          const i = waiters.indexOf(check);
          if (i >= 0) waiters.splice(i, 1);
        };
        waiters.push(check);
        check();
      });
    },
  };
  live.add(p);
  void exited.then(() => live.delete(p));
  return p;
}

/** Kill every CLI process a test left running (call in afterAll/afterEach). */
export async function killAll(): Promise<void> {
  const all = [...live];
  for (const p of all) p.kill("SIGKILL");
  await Promise.all(all.map((p) => p.exited));
}

export async function runCli(args: string[], opts: { env?: Record<string, string | undefined>; cwd?: string; stdin?: string; timeoutMs?: number } = {}) {
  const p = spawnCli(args, opts);
  const timer = setTimeout(() => p.kill("SIGKILL"), opts.timeoutMs ?? 30_000);
  const code = await p.exited;
  clearTimeout(timer);
  await Bun.sleep(10); // let the pipes drain
  return { code, stdout: p.out(), stderr: p.err() };
}

export async function waitUntil<T>(fn: () => T | Promise<T>, what: string, timeoutMs = 20_000, intervalMs = 50): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    await Bun.sleep(intervalMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ""}`);
}

export function tempDir(prefix = "ct-"): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}
