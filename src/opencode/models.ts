// Which models this machine's OpenCode can run (`opencode models` prints one provider/model
// per line): a worker advertises them so the server routes a task with a `model` only to a
// worker that has it (issue 15). A failed probe advertises nothing, which the server reads
// as "unknown: may take any model", so a worker whose probe broke keeps working as before.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { opencodeEnv, prepareOpencode, trackHelper } from "./env.ts";

/** `opencode models` reads config and a cached catalogue; a few seconds, bounded here. */
const PROBE_TIMEOUT_MS = 60_000;

/** provider/model lines of `opencode models` output; anything else (warnings, blank lines) is skipped. */
export function parseModelList(out: string): string[] {
  const models = new Set<string>();
  for (const line of out.split("\n")) {
    const m = line.trim();
    if (/^[^\s/]+\/\S+$/.test(m)) models.add(m);
  }
  return [...models].sort();
}

export type ModelProbe = { ok: true; models: string[] } | { ok: false; error: string };

/**
 * Runs `opencode models` with the env every opencode process gets, in $HOME (a project's own
 * opencode.json in the worker's directory is not the machine's), after OpenCode's database
 * was opened once (its migrations race with a task's first run otherwise); never throws.
 * Killed when `signal` aborts.
 */
export async function opencodeModels(bin: string, env?: Record<string, string>, timeoutMs = PROBE_TIMEOUT_MS, signal?: AbortSignal): Promise<ModelProbe> {
  await prepareOpencode(bin, env);
  const e = opencodeEnv(env);
  const cwd = e.HOME && existsSync(e.HOME) ? e.HOME : undefined;
  return new Promise((resolve) => {
    let out = "";
    let err = "";
    // `signal`: the worker is stopping; the probe must not outlive it.
    const p = spawn(bin, ["models"], { cwd, env: e, stdio: ["ignore", "pipe", "pipe"], signal, killSignal: "SIGKILL" });
    trackHelper(p);
    const timer = setTimeout(() => p.kill("SIGKILL"), timeoutMs);
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (err += d));
    p.on("error", (e) => {
      clearTimeout(timer);
      resolve({ ok: false, error: e.message });
    });
    p.on("close", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve({ ok: true, models: parseModelList(out) });
      else resolve({ ok: false, error: signal ? `killed by ${signal} after ${timeoutMs} ms` : `exit ${code}: ${err.trim().split("\n")[0] ?? ""}` });
    });
  });
}
