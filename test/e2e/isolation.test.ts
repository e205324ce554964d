// Isolation per codebase (issue 15), end to end: our server and `codetether worker start`
// as real processes, the real OpenCode CLI against the scripted model server.
//  - shared: two tasks of one codebase never run at once, though the worker has two slots;
//  - worktree: two tasks of one git codebase run at once, each in its own worktree, each
//    writing the same file; each branch holds its own change, the checkout is untouched.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startModelServer, type ModelServer, type RecordedRequest, type ScriptStep } from "../fixtures/model-server.ts";
import { codebaseId, startServerProc, startWorkerProc, waitTask, type ServerProc } from "../helpers/cluster.ts";
import { createOpencodeEnv, OPENCODE_BIN, type OpencodeEnv } from "../helpers/opencode-env.ts";
import { killAll, runCli, tempDir, waitUntil } from "../helpers/proc.ts";

setDefaultTimeout(240_000);

const tmp = tempDir("ct-iso-");
let model: ModelServer;
let oc: OpencodeEnv;
let server: ServerProc;
let sharedDir: string;
let repo: string;
let sharedId: string;
let repoId: string;

/** Answers only once `n` requests wait at the gate: proof that `n` runs are in the model at once. */
function gate(n: number) {
  const waiting: (() => void)[] = [];
  return () =>
    new Promise<void>((resolve) => {
      waiting.push(resolve);
      if (waiting.length === n) for (const go of waiting.splice(0)) go();
    });
}
const bothWriting = gate(2);

function script(req: RecordedRequest): ScriptStep | Promise<ScriptStep> {
  const text = req.lastUserText ?? "";
  const slow = text.match(/slow-shared (\d+)/);
  if (slow) return { type: "slow", text: `done ${slow[1]}`, delayMs: 250, chunks: 4 };
  const wt = text.match(/wt-write (\d+)/);
  if (wt) {
    if (req.toolResults.length) return { type: "text", text: `wrote ${wt[1]}` };
    return bothWriting().then(() => ({ type: "tool", name: "write", args: { filePath: "same.txt", content: `change ${wt[1]}\n` } }));
  }
  if (text.includes("hang-in-worktree")) return { type: "hang" };
  return { type: "text", text: `answer to: ${text}` };
}

async function git(cwd: string, ...args: string[]): Promise<string> {
  const p = Bun.spawn(["git", ...args], { cwd, stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) throw new Error(`git ${args.join(" ")}: ${err}`);
  return out.trim();
}

const finished = (id: string) => waitTask(server.client, id, (x) => x.status !== "pending" && x.status !== "running", `task ${id} finished`, 150_000);

beforeAll(async () => {
  model = startModelServer(script);
  oc = createOpencodeEnv({ modelServerUrl: model.url });
  sharedDir = oc.makeProject("shared");
  repo = oc.makeProject("repo");
  await git(repo, "init", "-q", "-b", "main");
  writeFileSync(join(repo, "README.md"), "base\n");
  await git(repo, "add", ".");
  await git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "base");
  server = await startServerProc(join(tmp.path, "server"));
  const worker = startWorkerProc(server.url, {
    name: "w-iso",
    dataDir: join(tmp.path, "w-iso"),
    codebases: [`shared:${sharedDir}`, `repo:${repo}:worktree`],
    env: oc.env,
    args: ["--opencode-bin", OPENCODE_BIN, "--max-concurrent-tasks", "2", "--git-author-name", "Iso Bot", "--git-author-email", "iso@example.test"],
  });
  await worker.waitFor(/task stream connected/, 30_000);
  sharedId = await codebaseId(server.client, "w-iso", "shared");
  repoId = await codebaseId(server.client, "w-iso", "repo");
});

afterAll(async () => {
  await killAll();
  await model?.stop();
  oc?.cleanup();
  tmp.cleanup();
});

describe("isolation per codebase", () => {
  test("shared: two tasks of one codebase on a worker with two slots run one after the other", async () => {
    expect((await server.client.getCodebase(sharedId)).isolation).toBeNull();
    const ts = await Promise.all([1, 2].map((i) => server.client.createTask({ codebase_id: sharedId, prompt: `slow-shared ${i}`, model: oc.model })));
    const done = await Promise.all(ts.map((t) => finished(t.id)));
    for (const d of done) expect(d).toMatchObject({ status: "completed", error: null, branch: null, commit: null });
    const [a, b] = [...done].sort((x, y) => x.started_at!.localeCompare(y.started_at!));
    expect(b!.started_at! >= a!.completed_at!).toBe(true);
    // The model saw every request of one run before the first of the other.
    const at = (i: number) =>
      model
        .chatRequests()
        .filter((r) => r.lastUserText?.includes(`slow-shared ${i}`))
        .map((r) => r.at);
    const [r1, r2] = [at(1), at(2)];
    expect(r1.length && r2.length).toBeTruthy();
    expect(Math.max(...r1) < Math.min(...r2) || Math.max(...r2) < Math.min(...r1)).toBe(true);
  });

  test("worktree: two tasks write the same file at once, each on its own branch; the checkout is untouched", async () => {
    const head = await git(repo, "rev-parse", "HEAD");
    const ts = await Promise.all(
      [1, 2].map((i) => server.client.createTask({ codebase_id: repoId, title: `write ${i}`, prompt: `wt-write ${i}`, model: oc.model })),
    );
    // Both answers wait at a gate that opens only when both runs are in the model: they overlap.
    const done = await Promise.all(ts.map((t) => finished(t.id)));
    for (const [i, d] of done.entries()) {
      expect(d).toMatchObject({ status: "completed", error: null, isolation: "worktree", branch: `codetether/${d.id}`, diff_truncated: false });
      expect(d.result).toBe(`wrote ${i + 1}`);
      expect(d.commit).toMatch(/^[0-9a-f]{40}$/);
      expect(d.diff_stat).toEqual({ files: 1, insertions: 1, deletions: 0 });
      expect(await git(repo, "rev-parse", `codetether/${d.id}`)).toBe(d.commit!);
      expect(await git(repo, "show", `codetether/${d.id}:same.txt`)).toBe(`change ${i + 1}`);
      expect(await git(repo, "diff", "--name-only", head, d.commit!)).toBe("same.txt");
      expect(await git(repo, "log", "-1", "--format=%an <%ae>|%s", d.commit!)).toBe(`Iso Bot <iso@example.test>|write ${i + 1}`);
      expect(await git(repo, "rev-parse", `${d.commit}^`)).toBe(head);
    }
    const [a, b] = done;
    expect(a!.started_at! < b!.completed_at! && b!.started_at! < a!.completed_at!).toBe(true);
    // The checkout: same HEAD, same branch, nothing new; the worktrees are gone, the branches stay.
    expect(await git(repo, "rev-parse", "HEAD")).toBe(head);
    expect(await git(repo, "branch", "--show-current")).toBe("main");
    expect(await git(repo, "status", "--porcelain")).toBe("");
    expect(existsSync(join(repo, "same.txt"))).toBe(false);
    expect((await git(repo, "worktree", "list", "--porcelain")).match(/^worktree /gm)).toHaveLength(1);

    // The CLI: task diff prints the change, task show names branch and commit.
    const env = { ...oc.env, A2A_CONFIG: undefined, A2A_SERVER_URL: server.url };
    const diff = await runCli(["task", "diff", a!.id], { env });
    expect(diff.code).toBe(0);
    expect(diff.stdout).toContain("+++ b/same.txt");
    expect(diff.stdout).toContain("+change 1");
    const show = await runCli(["task", "show", a!.id], { env });
    expect(show.stdout).toContain(`codetether/${a!.id}`);
    expect(show.stdout).toContain(a!.commit!);
    expect(show.stdout).toContain("1 file changed, 1 insertion(+), 0 deletions(-)");
    // Their OpenCode sessions (run in the worktrees) are synced under the codebase.
    const sync = await runCli(
      ["sessions", "sync", "--json", "--server", server.url, "--name", "w-iso", "--data-dir", join(tmp.path, "w-iso"), "--opencode-bin", OPENCODE_BIN],
      { env: { ...oc.env, A2A_CONFIG: undefined }, timeoutMs: 60_000 },
    );
    expect(sync.code).toBe(0);
    const sessions = (await server.client.listSessions(repoId)).map((x: { id: string }) => x.id);
    for (const d of done) expect(sessions).toContain(d.session_id!);
    const none = await runCli(["task", "diff", (await Promise.all([1].map(() => server.client.listTasks({ codebase_id: sharedId }))))[0]![0]!.id], { env });
    expect(none.code).toBe(1);
    expect(none.stderr).toContain("did not run in a worktree");
  });

  test("worktree: a task that changes nothing leaves no branch, and task diff says why there is none", async () => {
    const t = await server.client.createTask({ codebase_id: repoId, prompt: "just answer, change nothing", model: oc.model });
    const d = await finished(t.id);
    expect(d).toMatchObject({ status: "completed", isolation: "worktree", branch: null, commit: null, diff_stat: { files: 0, insertions: 0, deletions: 0 } });
    expect(await git(repo, "branch", "--list", `codetether/${t.id}`)).toBe("");
    expect((await git(repo, "worktree", "list", "--porcelain")).match(/^worktree /gm)).toHaveLength(1);
    const r = await runCli(["task", "diff", t.id], { env: { ...oc.env, A2A_CONFIG: undefined, A2A_SERVER_URL: server.url } });
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(`error: task ${t.id} has no diff: the agent changed nothing (no branch is kept for such a task)`);
  });

  test("a worker killed mid-task leaves a worktree; its next start removes it and prunes the repository's record", async () => {
    const dataDir = join(tmp.path, "w-kill");
    const start = () =>
      startWorkerProc(server.url, { name: "w-kill", dataDir, codebases: [`repo:${repo}:worktree`], env: oc.env, args: ["--opencode-bin", OPENCODE_BIN] });
    const w = start();
    await w.waitFor(/task stream connected/, 30_000);
    const id = await codebaseId(server.client, "w-kill", "repo");
    const t = await server.client.createTask({ codebase_id: id, prompt: "hang-in-worktree", model: oc.model });
    const dir = join(dataDir, "worktrees", "w-kill", id, t.id);
    await waitTask(server.client, t.id, (x) => x.status === "running", "task running", 60_000);
    await waitUntil(() => existsSync(dir), "worktree made", 60_000);
    const worktrees = async () => (await git(repo, "worktree", "list", "--porcelain")).match(/^worktree /gm)!.length;
    expect(await worktrees()).toBe(2);
    w.kill("SIGKILL");
    await w.exited;
    await server.client.cancelTask(t.id); // nobody runs it now; its branch stays, as any task's does
    const again = start();
    await again.waitFor(/task stream connected/, 30_000);
    expect(existsSync(dir)).toBe(false);
    expect(await worktrees()).toBe(1);
    expect(await git(repo, "branch", "--list", `codetether/${t.id}`)).toContain(`codetether/${t.id}`);
    again.kill("SIGTERM");
    await again.exited;
  });

  test("a worktree codebase that is not a git repository is a config error naming it (exit 78)", async () => {
    const plain = oc.makeProject("plain");
    const r = await runCli(
      ["worker", "start", "--server", server.url, "--name", "w-bad", "--data-dir", join(tmp.path, "w-bad"), "--codebase", `plain:${plain}:worktree`],
      { env: { ...oc.env, A2A_CONFIG: undefined }, timeoutMs: 30_000 },
    );
    expect(r.code).toBe(78);
    expect(r.stderr).toContain("codebase 'plain'");
    expect(r.stderr).toContain("not in one");
  });
});
