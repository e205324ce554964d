// The agent process: finds the opencode binary and runs `opencode run` for one task in
// its own process group, so a timeout or a cancel stops OpenCode and every tool process
// it started. Facts about OpenCode 1.18 this relies on are noted where they are used;
// the event shapes are in opencode-events.ts.
import { spawn, type ChildProcess } from "node:child_process";
import { opencodeNotFoundMessage } from "./bin.ts";
import { isDir, opencodeEnv, prepareOpencode } from "./env.ts";
import { recordAgent } from "./agents.ts";
import { processTree } from "./proctree.ts";
import {
  applyEvent,
  applyStderr,
  describeError,
  describeNoAnswer,
  describeStall,
  describeUnreachable,
  finalText,
  isStartupDbError,
  newRunState,
  parseEvent,
  providerUnreachable,
  type RunState,
} from "./events.ts";

export type OpencodeStatus = "completed" | "failed" | "cancelled" | "timeout";

export interface RunOpencodeOptions {
  /** Path of the opencode executable (from findOpencode); null = not found. */
  bin: string | null;
  /** The codebase directory: OpenCode's project directory and the tools' cwd. */
  cwd: string;
  agent: string;
  /** provider/model; null = OpenCode's configured default. */
  model?: string | null;
  /** Continue this OpenCode session (`--session`). */
  sessionId?: string | null;
  prompt: string;
  /** Merged over process.env for the opencode process. */
  env?: Record<string, string>;
  timeoutMs: number;
  /** SIGTERM -> SIGKILL delay on timeout/cancel (default 5000). */
  killGraceMs?: number;
  /** Abort = cancel the task. */
  signal?: AbortSignal;
  /** Pass `--auto`: approve permission requests that the config does not deny (a headless run cannot answer them). */
  autoApprove?: boolean;
  /** Every output line: stdout lines are OpenCode's JSON events, stderr lines its warnings/errors. */
  onLine: (line: string, stream: "stdout" | "stderr") => void;
  onEvent?: (e: Record<string, any>) => void;
  /**
   * Record the running agent and its process tree here (agents.ts), so the worker's
   * watchdog, or the next worker, stops it if this process dies without doing so.
   */
  agentsDir?: string;
  /** Name of the config key for error messages (default "opencode_bin"). */
  configKey?: string;
}

export interface OpencodeResult {
  status: OpencodeStatus;
  result: string | null;
  error: string | null;
  sessionId: string | null;
  exitCode: number | null;
  toolsUsed: string[];
  /** Processes started: > 1 when a start-up database race was retried. */
  attempts: number;
}

// ---------------------------------------------------------------- running

const STARTUP_RETRIES = 3;

/**
 * Runs in progress: opencode runs in its own process group, so a Ctrl-C (SIGINT to the
 * terminal's group) or the worker's death does not reach it. The worker calls
 * `killAllOpencode` when it shuts down without waiting; a normal exit does it too.
 */
const live = new Set<() => void>();
export function killAllOpencode(): number {
  const n = live.size;
  for (const k of [...live]) k();
  return n;
}
process.on("exit", () => killAllOpencode());

function waitAbortable(p: Promise<void>, signal?: AbortSignal, ms?: number): Promise<"done" | "aborted" | "timeout"> {
  return new Promise((res) => {
    if (signal?.aborted) return res("aborted");
    let t: ReturnType<typeof setTimeout> | undefined;
    const finish = (r: "done" | "aborted" | "timeout") => {
      clearTimeout(t);
      signal?.removeEventListener("abort", onAbort);
      res(r);
    };
    const onAbort = () => finish("aborted");
    if (ms !== undefined) t = setTimeout(() => finish("timeout"), Math.max(0, ms));
    signal?.addEventListener("abort", onAbort, { once: true });
    p.then(() => finish("done"));
  });
}

interface Attempt {
  state: RunState;
  exitCode: number | null;
  exitSignal: string | null;
  stopped: "timeout" | "cancelled" | "unreachable" | null;
  spawnError: Error | null;
}

function runOnce(o: RunOpencodeOptions & { bin: string }, deadline: number): Promise<Attempt> {
  const args = ["run", "--format", "json", "--print-logs", "--log-level", "ERROR", "--agent", o.agent];
  if (o.model) args.push("--model", o.model);
  if (o.sessionId) args.push("--session", o.sessionId);
  if (o.autoApprove) args.push("--auto");
  const state = newRunState();
  const grace = o.killGraceMs ?? 5000;

  return new Promise<Attempt>((done) => {
    const a: Attempt = { state, exitCode: null, exitSignal: null, stopped: null, spawnError: null };
    let child: ChildProcess;
    try {
      child = spawn(o.bin, args, {
        cwd: o.cwd,
        env: opencodeEnv(o.env, o.cwd),
        detached: true, // own process group: kill(-pid) reaches the tools too
        stdio: ["pipe", "pipe", "pipe"],
      });
    } catch (err) {
      a.spawnError = err as Error;
      return done(a);
    }
    // The prompt goes in on stdin, not argv: `opencode run -- <msg>` wraps a message that
    // contains spaces in quotes (escaping inner quotes), and one argv string is capped at
    // 128 KiB on Linux. stdin is read verbatim when it is not a TTY.
    child.stdin!.on("error", () => undefined); // EPIPE when opencode exits before reading
    child.stdin!.end(o.prompt);

    const lines = (stream: NodeJS.ReadableStream, onLine: (l: string) => void) => {
      let buf = "";
      stream.setEncoding("utf8");
      stream.on("data", (chunk: string) => {
        buf += chunk;
        let i: number;
        while ((i = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, i).replace(/\r$/, "");
          buf = buf.slice(i + 1);
          onLine(line);
        }
      });
      return new Promise<void>((res) => {
        const end = () => {
          if (buf) onLine(buf);
          buf = "";
          res();
        };
        stream.on("end", end);
        stream.on("close", end);
        stream.on("error", end);
      });
    };
    const safe = (f: () => void) => {
      try {
        f();
      } catch {} // a throwing callback must not kill the run
    };
    const outDone = lines(child.stdout!, (l) => {
      const ev = parseEvent(l);
      if (ev) {
        applyEvent(state, ev);
        if (o.onEvent) safe(() => o.onEvent!(ev));
      }
      safe(() => o.onLine(l, "stdout"));
    });
    const errDone = lines(child.stderr!, (l) => {
      applyStderr(state, l);
      if (l.trim()) safe(() => o.onLine(l, "stderr"));
      // stderr is read only once the process runs, after `stop` below is defined
      if (providerUnreachable(state)) stop("unreachable");
    });

    // opencode's group (detached) plus every descendant: its bash tool setsid()s commands
    const tree = child.pid ? processTree(child.pid) : null;
    const kill = (sig: NodeJS.Signals) => {
      tree?.snapshot();
      tree?.signal(sig);
    };
    let graceTimer: ReturnType<typeof setTimeout> | undefined;
    const stop = (why: NonNullable<Attempt["stopped"]>) => {
      if (a.stopped || a.exitCode !== null || a.exitSignal !== null) return;
      a.stopped = why;
      kill("SIGTERM");
      graceTimer = setTimeout(() => kill("SIGKILL"), grace);
    };
    const killNow = () => kill("SIGKILL");
    live.add(killNow);
    // The tree as last seen goes into the record: a tool re-parented after OpenCode died
    // can only be found that way. Every 2 s: one /proc scan, a few ms.
    const record = o.agentsDir && child.pid ? recordAgent(o.agentsDir, child.pid) : null;
    const refresh = record
      ? setInterval(() => {
          tree?.snapshot();
          record.update(tree?.seen ?? new Map());
        }, 2000)
      : undefined;
    const forget = () => {
      clearInterval(refresh);
      record?.remove();
    };
    const timer = setTimeout(() => stop("timeout"), Math.max(0, deadline - Date.now()));
    const onAbort = () => stop("cancelled");
    o.signal?.addEventListener("abort", onAbort, { once: true });
    if (o.signal?.aborted) onAbort();

    child.on("error", (err) => {
      a.spawnError = err;
      live.delete(killNow);
      forget();
      clearTimeout(timer);
      o.signal?.removeEventListener("abort", onAbort);
      done(a);
    });
    child.on("exit", async (code, sig) => {
      a.exitCode = code;
      a.exitSignal = sig;
      live.delete(killNow);
      clearTimeout(timer);
      clearTimeout(graceTimer);
      o.signal?.removeEventListener("abort", onAbort);
      if (a.stopped) kill("SIGKILL"); // tools that outlived opencode
      forget();
      // A tool's background process can hold the pipes open: don't wait for it forever.
      await waitAbortable(
        Promise.all([outDone, errDone]).then(() => undefined),
        undefined,
        2000,
      );
      child.stdout?.destroy();
      child.stderr?.destroy();
      done(a);
    });
  });
}

function outcome(a: Attempt, o: RunOpencodeOptions, attempts: number): OpencodeResult {
  const s = a.state;
  const base = { result: finalText(s), sessionId: s.sessionId, exitCode: a.exitCode, toolsUsed: s.toolsUsed, attempts };
  const key = o.configKey ?? "opencode_bin";
  if (a.spawnError) {
    const code = (a.spawnError as NodeJS.ErrnoException).code;
    const error =
      code === "ENOENT" || code === "EACCES"
        ? `cannot run opencode at ${o.bin} (${code}): fix ${key} (env A2A_OPENCODE_BIN, flag --opencode-bin)`
        : `cannot start opencode at ${o.bin}: ${a.spawnError.message}`;
    return { ...base, status: "failed", error };
  }
  if (a.stopped === "cancelled") return { ...base, status: "cancelled", error: "cancelled" };
  if (a.stopped === "unreachable") return { ...base, status: "failed", error: describeUnreachable(s) };
  if (a.stopped === "timeout") return { ...base, status: "timeout", error: `opencode timed out after ${Math.round(o.timeoutMs / 1000)}s${describeStall(s)}` };
  if (s.error) return { ...base, status: "failed", error: describeError(s, o.model) };
  if (a.exitCode !== 0) {
    if (o.sessionId && s.stderrTail.some((l) => /Session not found/i.test(l)))
      return { ...base, status: "failed", error: `opencode: session ${o.sessionId} not found, cannot resume it` };
    const tail = s.stderrTail.slice(-5).join(" | ").slice(-1500);
    const how = a.exitSignal ? `was killed by ${a.exitSignal}` : `exited with code ${a.exitCode}`;
    return { ...base, status: "failed", error: `opencode ${how}${tail ? `: ${tail}` : ""}` };
  }
  if (base.result === null) return { ...base, status: "failed", error: describeNoAnswer(s) };
  return { ...base, status: "completed", error: null };
}

/** Runs one task with `opencode run`; never throws. */
export async function runOpencode(o: RunOpencodeOptions): Promise<OpencodeResult> {
  const empty = { result: null, sessionId: null, exitCode: null, toolsUsed: [], attempts: 0 };
  if (!o.bin) return { ...empty, status: "failed", error: opencodeNotFoundMessage(null, o.configKey) };
  if (o.signal?.aborted) return { ...empty, status: "cancelled", error: "cancelled" };
  if (!isDir(o.cwd)) return { ...empty, status: "failed", error: `codebase directory ${o.cwd} does not exist` };
  const bin = o.bin;

  // The gate's own time does not count against the task's timeout; a cancel still ends it.
  if ((await waitAbortable(prepareOpencode(bin, o.env), o.signal, 90_000)) === "aborted") return { ...empty, status: "cancelled", error: "cancelled" };

  const deadline = Date.now() + o.timeoutMs;
  let attempts = 0;
  for (;;) {
    attempts++;
    const a = await runOnce({ ...o, bin }, deadline);
    const r = outcome(a, o, attempts);
    if (r.status !== "failed" || !isStartupDbError(a.state) || attempts >= STARTUP_RETRIES) return r;
    // Nothing ran yet (no step started): safe to start again after a jittered pause.
    const pause = 500 + Math.random() * 1500 * attempts;
    try {
      o.onLine(`[codetether] opencode hit a database lock while starting; retrying (${attempts}/${STARTUP_RETRIES - 1})`, "stderr");
    } catch {
      // the caller's line sink failing (a closed stream) must not stop the retry
    }
    if ((await waitAbortable(new Promise((r) => setTimeout(r, pause)), o.signal)) === "aborted") return { ...r, status: "cancelled", error: "cancelled" };
    if (Date.now() >= deadline) return { ...r, status: "timeout", error: `opencode timed out after ${Math.round(o.timeoutMs / 1000)}s` };
  }
}
