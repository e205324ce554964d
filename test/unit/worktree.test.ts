// The worktree isolation's git side (src/worker/worktree.ts) on a real repository: a task
// that changed files leaves its branch with one commit; one that changed nothing leaves no
// branch behind; either way the worktree itself is gone and the checkout untouched.
import { afterAll, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createWorktree } from "../../src/worker/worktree.ts";
import { tempDir } from "../helpers/proc.ts";

const tmp = tempDir("ct-worktree-");
afterAll(() => tmp.cleanup());

const git = (cwd: string, ...args: string[]) => {
  const r = Bun.spawnSync(["git", ...args], { cwd, stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode, out: r.stdout.toString().trim() };
};

const repo = join(tmp.path, "repo");
mkdirSync(repo, { recursive: true });
writeFileSync(join(repo, "README"), "base\n");
for (const args of [
  ["init", "-q", "-b", "main"],
  ["add", "."],
  ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "base"],
])
  git(repo, ...args);
const base = git(repo, "rev-parse", "HEAD").out;
const options = (taskId: string) => ({ path: repo, taskId, dir: join(tmp.path, "worktrees"), author: { name: "CodeTether", email: "ct@example.invalid" } });

test("a task that changed a file: its branch keeps one commit on the base, with the diff reported", async () => {
  const wt = await createWorktree(options("t-changed"));
  writeFileSync(join(wt.cwd, "new.txt"), "hello\n");
  const r = await wt.finish("task t-changed");
  expect(r).toMatchObject({ branch: "codetether/t-changed", diff_stat: { files: 1, insertions: 1, deletions: 0 }, diff_truncated: false });
  expect(r.commit).toBe(git(repo, "rev-parse", "codetether/t-changed").out);
  expect(git(repo, "rev-parse", "codetether/t-changed~1").out).toBe(base);
  expect(r.diff).toContain("+hello");
});

test("a task that changed nothing: no branch is left behind and the report names none", async () => {
  const wt = await createWorktree(options("t-idle"));
  const r = await wt.finish("task t-idle");
  expect(r).toMatchObject({ branch: null, commit: null, diff_stat: { files: 0, insertions: 0, deletions: 0 } });
  expect(git(repo, "rev-parse", "--verify", "--quiet", "codetether/t-idle").code).not.toBe(0);
});

test("the checkout is untouched and only its own worktree remains", () => {
  expect(git(repo, "rev-parse", "HEAD").out).toBe(base);
  expect(git(repo, "branch", "--show-current").out).toBe("main");
  expect(git(repo, "status", "--porcelain").out).toBe("");
  expect(git(repo, "worktree", "list", "--porcelain").out.match(/^worktree /gm)).toHaveLength(1);
  expect(
    git(repo, "branch", "--list", "codetether/*")
      .out.split("\n")
      .map((b) => b.trim()),
  ).toEqual(["codetether/t-changed"]);
});
