// The `worktree` isolation (issue 15): each task of a git codebase runs in a git worktree of
// its own, on branch `codetether/<task id>` from the codebase's HEAD, under the worker's
// data dir. At the end the agent's changes are committed there (author from git_author_*),
// the worktree is removed and the branch kept (a task that changed nothing leaves no branch);
// the report carries branch, commit, diff totals and the diff (cut at DIFF_CAP_BYTES). Git runs as a child process (`git` on PATH).
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { join, relative } from "node:path";
import { DIFF_CAP_BYTES } from "../protocol/answers.ts";
import type { WorktreeReport } from "../protocol/index.ts";
import { CliError, EXIT } from "../util/errors.ts";
import { log } from "../util/log.ts";

/** The branch a task's worktree is on. */
export const taskBranch = (taskId: string) => `codetether/${taskId}`;

/** Where this worker keeps its tasks' worktrees. */
export function worktreesDir(dataDir: string, workerId: string): string {
  return join(dataDir, "worktrees", workerId.replace(/[^A-Za-z0-9._-]/g, "_"));
}

/** Where the worktrees of one codebase's tasks go (session sync maps their sessions back by it). */
export const worktreeParent = (dir: string, codebaseId: string) => join(dir, codebaseId.replace(/[^A-Za-z0-9._-]/g, "_"));

/** git without what a surrounding git (a hook, a CI step) may have set for its own repository. */
function gitEnv(): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env, GIT_TERMINAL_PROMPT: "0", GIT_OPTIONAL_LOCKS: "0" };
  for (const k of ["GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_COMMON_DIR", "GIT_PREFIX"]) delete env[k];
  return env;
}

interface GitOut {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout was cut at `maxBytes`. */
  cut: boolean;
}

/** Runs git in `cwd`; with `maxBytes` reads no more of stdout than that (and stops git). */
async function git(cwd: string, args: string[], maxBytes?: number): Promise<GitOut> {
  const p = Bun.spawn(["git", ...args], { cwd, env: gitEnv(), stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const chunks: Uint8Array[] = [];
  let size = 0;
  let cut = false;
  const reader = p.stdout.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (maxBytes !== undefined && size + value.length > maxBytes) {
      chunks.push(value.subarray(0, maxBytes - size));
      size = maxBytes;
      cut = true;
      p.kill();
      break;
    }
    chunks.push(value);
    size += value.length;
  }
  const [stderr, code] = await Promise.all([new Response(p.stderr).text(), p.exited]);
  const stdout = Buffer.concat(chunks).toString("utf8");
  return { code: cut ? 0 : code, stdout, stderr, cut };
}

async function gitOk(cwd: string, args: string[]): Promise<string> {
  const r = await git(cwd, args);
  if (r.code !== 0) throw new Error(`git ${args[0]} failed in ${cwd}: ${r.stderr.trim().split("\n").at(-1) || `exit ${r.code}`}`);
  return r.stdout.trim();
}

/**
 * Why `path` cannot be a worktree codebase (no git, not in a repository, no commit yet), or
 * null. Synchronous: it runs at start-up, before anything else.
 */
export function whyNotWorktree(path: string): string | null {
  if (!Bun.which("git")) return "isolation worktree needs git, which is not on PATH";
  const top = Bun.spawnSync(["git", "rev-parse", "--show-toplevel"], { cwd: path, env: gitEnv(), stdout: "pipe", stderr: "pipe" });
  if (top.exitCode !== 0) return `isolation worktree needs a git repository, and ${path} is not in one (git init there, or use isolation shared)`;
  const head = Bun.spawnSync(["git", "rev-parse", "--verify", "-q", "HEAD"], { cwd: path, env: gitEnv(), stdout: "pipe", stderr: "pipe" });
  if (head.exitCode !== 0) return `isolation worktree needs a commit to branch from, and the repository at ${path} has none yet`;
  return null;
}

/** Start-up check of the configured codebases: exit 78 naming the first that cannot be a worktree codebase. */
export function checkWorktreeCodebases(codebases: { name: string; path: string; isolation?: string }[]): void {
  for (const c of codebases) {
    if (c.isolation !== "worktree") continue;
    const why = whyNotWorktree(c.path);
    if (why) throw new CliError(`codebase '${c.name}': ${why}`, EXIT.CONFIG);
  }
}

export interface Worktree {
  /** Where the agent runs: the codebase's place inside the worktree. */
  cwd: string;
  /** Commits what the agent changed, removes the worktree (keeping the branch when there is a commit on it) and says what changed. */
  finish(message: string): Promise<WorktreeReport>;
}

export interface WorktreeOptions {
  /** The codebase directory (the repository's top or a directory inside it). */
  path: string;
  taskId: string;
  /** The parent of the task's worktree (worktreeParent). */
  dir: string;
  author: { name: string; email: string };
}

/** A new worktree for a task on branch codetether/<task id> from the codebase's HEAD (a retry starts afresh). */
export async function createWorktree(o: WorktreeOptions): Promise<Worktree> {
  const top = await gitOk(o.path, ["rev-parse", "--show-toplevel"]);
  const base = await gitOk(o.path, ["rev-parse", "--verify", "HEAD"]);
  const branch = taskBranch(o.taskId);
  const dir = join(o.dir, o.taskId);
  // What an earlier attempt of this task left (a killed worker): gone before we start again.
  if (existsSync(dir)) await git(top, ["worktree", "remove", "--force", dir]);
  rmSync(dir, { recursive: true, force: true });
  await git(top, ["worktree", "prune"]);
  mkdirSync(o.dir, { recursive: true });
  await gitOk(top, ["worktree", "add", "--quiet", "-B", branch, dir, base]);
  const cwd = join(dir, relative(top, o.path));
  mkdirSync(cwd, { recursive: true });
  return {
    cwd,
    async finish(message) {
      let report: WorktreeReport;
      try {
        report = await commitAndDescribe(dir, base, branch, message, o.author);
      } finally {
        const rm = await git(top, ["worktree", "remove", "--force", dir]);
        if (rm.code !== 0) {
          rmSync(dir, { recursive: true, force: true });
          await git(top, ["worktree", "prune"]);
        }
      }
      // Nothing changed: the branch would only name the commit it started from, one more
      // codetether/<id> branch to clean up by hand per task. It goes with the worktree.
      if (report.commit === null && (await git(top, ["branch", "-D", branch])).code === 0) return { ...report, branch: null };
      return report;
    },
  };
}

async function commitAndDescribe(dir: string, base: string, branch: string, message: string, author: { name: string; email: string }): Promise<WorktreeReport> {
  await gitOk(dir, ["add", "--all"]);
  const changed = (await git(dir, ["diff", "--cached", "--quiet"])).code !== 0;
  if (!changed) return { branch, commit: null, diff_stat: { files: 0, insertions: 0, deletions: 0 }, diff_truncated: false, diff: "" };
  // The author comes from our config, never the machine's git config; hooks and signing are
  // the repository owner's business when they merge, not this unattended commit's.
  const id = ["-c", `user.name=${author.name}`, "-c", `user.email=${author.email}`, "-c", "commit.gpgsign=false"];
  await gitOk(dir, [...id, "commit", "--quiet", "--no-verify", "-m", message]);
  const commit = await gitOk(dir, ["rev-parse", "HEAD"]);
  let files = 0;
  let insertions = 0;
  let deletions = 0;
  for (const line of (await gitOk(dir, ["diff", "--numstat", base, commit])).split("\n")) {
    const [a, d] = line.split("\t");
    if (!line.trim()) continue;
    files++;
    insertions += Number(a) || 0; // "-" for binary files
    deletions += Number(d) || 0;
  }
  const diff = await git(dir, ["diff", "--no-color", "--no-ext-diff", base, commit], DIFF_CAP_BYTES);
  let text = diff.stdout;
  if (diff.cut) {
    // cut at the last whole line (and never inside a UTF-8 sequence)
    const whole = text.replace(/\uFFFD$/, "");
    const nl = whole.lastIndexOf("\n");
    text = nl > 0 ? whole.slice(0, nl + 1) : whole;
  }
  return { branch, commit, diff_stat: { files, insertions, deletions }, diff_truncated: diff.cut, diff: text };
}

/**
 * A worker killed mid-task leaves worktrees behind: at start-up (nothing of ours runs yet)
 * they are removed and each worktree codebase's repository forgets them (`git worktree prune`).
 * The branches stay.
 */
export async function pruneStaleWorktrees(dir: string, codebases: { path: string; isolation?: string }[]): Promise<void> {
  const had = existsSync(dir);
  rmSync(dir, { recursive: true, force: true });
  for (const c of codebases) {
    if (c.isolation !== "worktree") continue;
    const r = await git(c.path, ["worktree", "prune"]);
    if (r.code !== 0) log("debug", `git worktree prune failed in ${c.path}: ${r.stderr.trim()}`);
  }
  if (had) log("info", "removed worktrees an earlier run of this worker left", { dir });
}
