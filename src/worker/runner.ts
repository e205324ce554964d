// Runs one claimed task: lease heartbeats, the agent, output, and the final report.
// The report is spooled to disk before delivery so neither a server outage nor a worker
// restart loses it.
import { homedir } from "node:os";
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { ApiError } from "../client/index.ts";
import type { ClaimResponse, Isolation, Task, WorktreeReport } from "../protocol/index.ts";
import { log } from "../util/log.ts";
import { sleep } from "../util/backoff.ts";
import type { AbortReason, WorkerContext } from "./context.ts";
import { createOutputSink } from "./output.ts";
import { findOpencode, opencodeNotFoundMessage, runOpencode } from "../opencode/index.ts";
import { deliverReport } from "./report.ts";
import { writeReport, type Report } from "./spool.ts";
import { effectiveIsolation, occupiedCodebase } from "./isolation.ts";
import { createWorktree, whyNotWorktree, worktreeParent, worktreesDir, type Worktree } from "./worktree.ts";
import { checkCodebasePath, isReplaced, registerLocalCodebase } from "./registration.ts";
import { EXIT, errorMessage } from "../util/errors.ts";

interface Outcome {
  status: Report["status"];
  result?: string | null;
  error?: string | null;
  session_id?: string | null;
  worktree?: WorktreeReport | null;
}

/** Resolves true when the freed slot was handed on (ctx.slots.freed), false when the caller should wake the dispatcher. */
export async function runClaimedTask(ctx: WorkerContext, claim: ClaimResponse, onDone?: (t: Task, o: Outcome) => void): Promise<boolean> {
  const taskId = claim.task_id;
  const attempt = typeof claim.attempt === "number" ? claim.attempt : null;
  const task = claim.task ?? (await ctx.client.getTask(taskId));
  const ac = new AbortController();
  let reason: AbortReason | null = null;
  const abort = (r: AbortReason) => {
    if (reason) {
      if (r === "lease_lost") reason = r; // losing the lease trumps everything: report nothing
      return;
    }
    reason = r;
    ac.abort(r);
  };
  // Synchronously after the claim, before any await: the next claim of this fill names the codebase busy.
  const occupies = occupiedCodebase(ctx, task);
  ctx.running.set(taskId, { id: taskId, attempt, started_at: new Date().toISOString(), occupies, abort });
  log("info", "task claimed", { task: taskId, attempt, agent: task.agent_type, codebase: task.codebase_id });

  const output = createOutputSink({
    api: ctx.api,
    taskId,
    attempt,
    redact: ctx.redact,
    onStale: () => abort("lease_lost"),
  });
  const stopBeat = new AbortController();
  const beat = heartbeatLoop(ctx, taskId, attempt, abort, stopBeat.signal);

  let outcome: Outcome;
  try {
    // Progress only: the final report carries the outcome whether or not this arrived.
    await ctx.api.markRunning(taskId).catch((err) => log("debug", `could not mark task ${taskId} running: ${errorMessage(err)}`, { task: taskId }));
    outcome = await inDirectory(ctx, occupies, ac.signal, () => execute(ctx, task, ac.signal, (l) => output.push(l)));
  } catch (err) {
    outcome = { status: "failed", error: `worker error: ${errorMessage(err)}` };
  } finally {
    stopBeat.abort();
  }
  await beat;

  if (reason === "lease_lost") {
    output.close();
    ctx.running.delete(taskId);
    log("warn", "task lease lost; result dropped", { task: taskId, attempt });
    return false;
  }
  if (reason === "shutdown") outcome = { status: null, session_id: outcome.session_id };
  else if (reason === "cancel") outcome = { ...outcome, status: "cancelled", error: outcome.error ?? "cancelled" };

  const report: Report = {
    task_id: taskId,
    worker_id: ctx.workerId,
    attempt,
    status: outcome.status,
    result: outcome.result != null ? ctx.redact(outcome.result) : null,
    error: outcome.error != null ? ctx.redact(outcome.error) : null,
    session_id: outcome.session_id ?? null,
    worktree: outcome.worktree ? { ...outcome.worktree, diff: outcome.worktree.diff != null ? ctx.redact(outcome.worktree.diff) : null } : null,
    created_at: new Date().toISOString(),
  };
  const path = writeReport(ctx.spoolDir, report);
  // All output reaches the server before the final state, so a follower sees every line before `done`.
  const flushDeadline = AbortSignal.timeout(reason === "shutdown" ? 5_000 : 120_000);
  await output.flush(flushDeadline);
  output.close();
  const ask = ctx.slots?.ask(taskId) ?? undefined;
  const { next } = await deliverReport(ctx, path, report, undefined, ask);
  ctx.running.delete(taskId);
  if (report.status === "completed") ctx.stats.completed++;
  else if (report.status === "failed") ctx.stats.failed++;
  else if (report.status === "cancelled") ctx.stats.cancelled++;
  log(report.status === "failed" ? "warn" : "info", `task ${report.status ?? "released"}`, {
    task: taskId,
    attempt,
    error: report.error ? report.error.slice(0, 200) : undefined,
  });
  onDone?.(task, outcome);
  if (!ctx.slots) return false;
  ctx.slots.freed(next);
  return true;
}

/** Runs `fn` holding the codebase directory (shared isolation); the lease keeps beating while it waits. */
async function inDirectory<T>(ctx: WorkerContext, codebase: string | null, signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
  if (!codebase) return fn();
  const release = await ctx.directories.acquire(codebase, signal);
  try {
    return await fn();
  } finally {
    release();
  }
}

async function heartbeatLoop(ctx: WorkerContext, taskId: string, attempt: number | null, abort: (r: AbortReason) => void, signal: AbortSignal) {
  if (attempt === null) return; // a claim without attempt holds no lease
  const every = Math.max(200, (ctx.settings.lease_s * 1000) / 3);
  while (await sleep(every, signal)) {
    try {
      const res = await ctx.api.taskHeartbeat(taskId, attempt);
      if (!res) return; // the server has no task leases
      ctx.contact();
      if (res.cancel_requested) abort("cancel");
    } catch (err) {
      if (isReplaced(err)) ctx.replaced(err.message);
      if (err instanceof ApiError && err.status === 409) return abort("lease_lost");
      if (err instanceof ApiError && err.status === 404) return; // server without task heartbeats
      // unreachable: keep the agent running; the report is spooled and the lease may still hold
    }
  }
}

/** Where this worker records its running agents (the watchdog and the next start read it). */
export function agentsDir(dataDir: string, workerId: string): string {
  return join(dataDir, "agents", workerId.replace(/[^A-Za-z0-9._-]/g, "_"));
}

export function codebasePath(ctx: WorkerContext, task: Task): string | null {
  const id = task.codebase_id;
  if (!id || id === "global" || id === ctx.globalCodebaseId) return homedir();
  return ctx.codebases.get(id)?.path ?? null;
}

async function execute(ctx: WorkerContext, task: Task, signal: AbortSignal, onLine: (l: string) => void): Promise<Outcome> {
  switch (task.agent_type) {
    case "noop":
      return { status: "completed", result: "" };
    case "echo":
      onLine(task.prompt);
      return { status: "completed", result: task.prompt };
    case "register_codebase":
      return registerCodebaseTask(ctx, task);
  }
  const cwd = codebasePath(ctx, task) ?? (await adoptCodebase(ctx, task.codebase_id!));
  if (!cwd) return { status: "failed", error: `codebase ${task.codebase_id} is not registered on worker ${ctx.workerId}` };
  if (!existsSync(cwd) || !statSync(cwd).isDirectory()) return { status: "failed", error: `codebase path ${cwd} is not a directory on worker ${ctx.workerId}` };
  if (effectiveIsolation(ctx, task) === "worktree") return inWorktree(ctx, task, cwd, (dir) => runAgent(ctx, task, dir, signal, onLine));
  return runAgent(ctx, task, cwd, signal, onLine);
}

/**
 * A worktree task: the agent runs in a worktree of its own; whatever the run's end, its
 * changes are committed on the task's branch and the worktree removed (see worktree.ts).
 */
async function inWorktree(ctx: WorkerContext, task: Task, path: string, run: (cwd: string) => Promise<Outcome>): Promise<Outcome> {
  const why = whyNotWorktree(path);
  if (why) return { status: "failed", error: `codebase ${task.codebase_id}: ${why}` };
  const author = { name: ctx.config.git_author_name, email: ctx.config.git_author_email };
  let wt: Worktree;
  try {
    const dir = worktreeParent(worktreesDir(ctx.config.data_dir, ctx.workerId), task.codebase_id!);
    wt = await createWorktree({ path, taskId: task.id, dir, author });
  } catch (err) {
    return { status: "failed", error: `cannot create a worktree for task ${task.id}: ${errorMessage(err)}` };
  }
  let outcome: Outcome;
  try {
    outcome = await run(wt.cwd);
  } catch (err) {
    outcome = { status: "failed", error: `worker error: ${errorMessage(err)}` };
  }
  try {
    const worktree = await wt.finish(commitMessage(task));
    log("info", "worktree task committed", { task: task.id, branch: worktree.branch, commit: worktree.commit ?? "(no changes)" });
    return { ...outcome, worktree };
  } catch (err) {
    log("warn", `could not commit the changes of task ${task.id}: ${errorMessage(err)}`, { task: task.id });
    return { ...outcome, error: outcome.error ?? `the agent's changes could not be committed: ${errorMessage(err)}` };
  }
}

/** The task's title (or its prompt's first line), and which task it was. */
function commitMessage(task: Task): string {
  const subject = (task.title || task.prompt.split("\n").find((l) => l.trim()) || "task").trim().slice(0, 72);
  return `${subject}\n\nCodeTether-Task: ${task.id}\n`;
}

async function runAgent(ctx: WorkerContext, task: Task, cwd: string, signal: AbortSignal, onLine: (l: string) => void): Promise<Outcome> {
  const bin = findOpencode(ctx.config.opencode_bin);
  if (!bin) return { status: "failed", error: opencodeNotFoundMessage(ctx.config.opencode_bin) };
  const timeoutS = task.timeout_s ?? ctx.config.task_timeout;
  const resume = typeof task.metadata?.resume_session_id === "string" ? (task.metadata.resume_session_id as string) : null;
  const r = await runOpencode({
    bin,
    cwd,
    agent: task.agent_type,
    model: task.model,
    sessionId: resume,
    prompt: task.prompt,
    timeoutMs: timeoutS * 1000,
    signal,
    onLine,
    // A headless run cannot answer permission prompts (OpenCode rejects "ask"); explicit denies still hold.
    autoApprove: true,
    agentsDir: agentsDir(ctx.config.data_dir, ctx.workerId),
  });
  if (r.status === "timeout") {
    // Keep OpenCode's diagnosis (e.g. which provider it kept retrying) after the documented prefix.
    const why = r.error?.replace(/^opencode timed out after \d+s/, "") ?? "";
    return { status: "failed", error: `timed out after ${timeoutS}s${why}`, session_id: r.sessionId };
  }
  if (r.status === "cancelled") return { status: "cancelled", error: "cancelled", session_id: r.sessionId };
  return { status: r.status, result: r.result, error: r.error, session_id: r.sessionId };
}

/** A codebase registered for this worker by someone else (`codebase register --worker-id`) after we started. */
async function adoptCodebase(ctx: WorkerContext, id: string): Promise<string | null> {
  try {
    const cb = await ctx.client.getCodebase(id);
    if (cb.worker_id !== ctx.workerId) return null;
    const path = checkCodebasePath(cb.name, cb.path, ctx.config.allowed_paths, EXIT.FAILURE);
    ctx.codebases.set(cb.id, { id: cb.id, name: cb.name, path, ...(cb.isolation ? { isolation: cb.isolation } : {}) });
    log("info", "codebase adopted", { codebase: cb.name, id: cb.id, path });
    return path;
  } catch (err) {
    log("warn", `codebase ${id} cannot be used here: ${errorMessage(err)}`);
    return null;
  }
}

async function registerCodebaseTask(ctx: WorkerContext, task: Task): Promise<Outcome> {
  const m = task.metadata as { name?: string; path?: string; description?: string; isolation?: Isolation };
  if (!m.path || !m.name) return { status: "failed", error: "register_codebase task needs metadata.name and metadata.path" };
  // Not ours: hand it back so a worker that has the path can take it (max_attempts bounds the search).
  try {
    checkCodebasePath(m.name, m.path, ctx.config.allowed_paths);
  } catch (err) {
    return { status: null, error: `${errorMessage(err)} on worker ${ctx.workerId}` };
  }
  try {
    const isolation = m.isolation === "worktree" || m.isolation === "shared" ? m.isolation : undefined;
    const cb = await registerLocalCodebase(ctx, { name: m.name, path: m.path, description: m.description, isolation });
    return { status: "completed", result: cb.id };
  } catch (err) {
    return { status: "failed", error: errorMessage(err) };
  }
}
