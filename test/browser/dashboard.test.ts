// The dashboard in a real browser (headless Chromium) against a real `codetether server
// start` and a real `codetether worker start` running the real OpenCode CLI on the
// scripted model server: Fleet, the New task form with live output, Cancel, a session
// with its write tool call, Resume into the same session, and the token prompt.
// Screenshots land in test/browser/screenshots/ (git-ignored).
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { startModelServer, type ModelServer, type ScriptStep } from "../fixtures/model-server.ts";
import { codebaseId, startServerProc, type ServerProc } from "../helpers/cluster.ts";
import { createOpencodeEnv, OPENCODE_BIN, type OpencodeEnv } from "../helpers/opencode-env.ts";
import { killAll, spawnCli, tempDir, waitUntil, type CliProc } from "../helpers/proc.ts";
import { describeUnless } from "../helpers/skip.ts";
import { haveChromium, launch, openPage, shot } from "./browser.ts";

setDefaultTimeout(180_000);
const WAIT = { timeout: 120_000 };
const RUN = haveChromium();

/** The model's behaviour is chosen by a keyword in the prompt (as in the worker e2e tests). */
function script(req: { lastUserText: string | null; toolResults: unknown[] }): ScriptStep {
  const text = req.lastUserText ?? "";
  const write = text.match(/write-file (\S+)/);
  if (write) {
    return req.toolResults.length
      ? { type: "text", text: "I wrote the file." }
      : { type: "tool", name: "write", args: { filePath: write[1], content: "from the browser test\n" } };
  }
  if (text.includes("hang-forever")) return { type: "hang" };
  return { type: "text", text: `answer to: ${text}` };
}

describeUnless(RUN ? undefined : "no Chromium at /usr/bin/chromium (apt install chromium; .ci/run installs it)", "dashboard in Chromium", () => {
  const tmp = tempDir("ct-browser-");
  let model: ModelServer;
  let oc: OpencodeEnv;
  let server: ServerProc;
  let worker: CliProc;
  let repo: string;
  let repoId: string;
  let wtRepo: string;
  let browser: Browser;
  let page: Page;
  let errors: string[];

  beforeAll(async () => {
    model = startModelServer(script);
    oc = createOpencodeEnv({ modelServerUrl: model.url });
    repo = oc.makeProject("repo");
    // a git codebase whose tasks each run in a worktree of their own
    wtRepo = oc.makeProject("wt-repo");
    writeFileSync(join(wtRepo, "README"), "base\n");
    for (const args of [
      ["init", "-q", "-b", "main"],
      ["add", "."],
      ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "base"],
    ]) {
      const g = Bun.spawnSync(["git", ...args], { cwd: wtRepo, stderr: "pipe" });
      if (g.exitCode !== 0) throw new Error(`git ${args.join(" ")}: ${g.stderr.toString()}`);
    }
    server = await startServerProc(join(tmp.path, "server"));
    const dataDir = join(tmp.path, "worker");
    mkdirSync(dataDir, { recursive: true });
    // Session sync on (the default): the worker uploads a task's session right after it.
    worker = spawnCli(
      [
        "worker",
        "start",
        "--server",
        server.url,
        "--name",
        "w-dash",
        "--data-dir",
        dataDir,
        "--poll-interval",
        "1",
        "--codebase",
        `repo:${repo}`,
        "--codebase",
        `wt:${wtRepo}:worktree`,
        "--opencode-bin",
        OPENCODE_BIN,
      ],
      { env: { A2A_CONFIG: undefined, ...oc.env } },
    );
    await worker.waitFor(/task stream connected/, 60_000);
    repoId = await codebaseId(server.client, "w-dash", "repo");
    browser = await launch();
    ({ page, errors } = await openPage(browser));
  });

  afterAll(async () => {
    await browser?.close();
    await killAll();
    await model?.stop();
    oc?.cleanup();
    tmp.cleanup();
  });

  test("Fleet shows the worker as active with its codebases; no warning banner on loopback", async () => {
    await page.goto(`${server.url}/#/fleet`);
    const row = page.locator('tr[data-worker="w-dash"]');
    await row.waitFor(WAIT);
    await page.locator('tr[data-worker="w-dash"] .badge', { hasText: "active" }).waitFor(WAIT);
    const cells = await row.locator("td").allTextContents();
    expect(cells[2]).toMatch(/^\d+ (s|min) ago$/); // heartbeat age
    expect(Number(cells[5])).toBe(3); // repo, wt and global
    expect(await page.locator(".banner").count()).toBe(0);
    await shot(page, "fleet");
    expect(errors).toEqual([]);
  });

  test("Fleet at 390 px: nothing wider than the screen (tables scroll in their box)", async () => {
    const narrow = await openPage(browser, { width: 390, height: 800 });
    await narrow.page.goto(`${server.url}/#/fleet`);
    await narrow.page.locator('tr[data-worker="w-dash"]').waitFor(WAIT);
    expect(await narrow.page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await shot(narrow.page, "fleet-390");
    await narrow.close();
  });

  test("a task created from the New task form runs and its output arrives on the open page", async () => {
    await page.goto(`${server.url}/#/new`);
    await page.locator(`select[name="codebase_id"] option[value="${repoId}"]`).waitFor({ state: "attached", ...WAIT });
    await page.getByLabel("Codebase").selectOption(repoId);
    await page.getByLabel("Prompt").fill("hello from the browser form");
    await page.getByLabel("Agent", { exact: true }).fill("echo");
    await page.getByRole("button", { name: "Create task" }).click();
    await page.waitForURL(/#\/tasks\/[0-9a-f-]{36}$/, WAIT);
    // A marker on the window: still there at the end means the page was never reloaded.
    await page.evaluate(() => ((window as any).__sameLoad = true));
    const id = page.url().split("/").pop()!;
    await page.locator(`pre[data-output="${id}"]`, { hasText: "hello from the browser form" }).waitFor(WAIT);
    await page.locator("#task-status", { hasText: "completed" }).waitFor(WAIT);
    expect(await page.evaluate(() => (window as any).__sameLoad)).toBe(true);
    const t = await server.client.getTask(id);
    expect(t).toMatchObject({ status: "completed", agent_type: "echo", codebase_id: repoId, worker_id: "w-dash", prompt: "hello from the browser form" });
    expect(await page.locator("#task-result").textContent()).toBe("hello from the browser form");
    await shot(page, "task-echo");
  });

  test("Cancel stops a running OpenCode task", async () => {
    const t = await server.client.createTask({ codebase_id: repoId, prompt: "hang-forever please", agent_type: "build", model: oc.model });
    await page.goto(`${server.url}/#/tasks/${t.id}`);
    await page.locator("#task-status", { hasText: "running" }).waitFor(WAIT);
    // OpenCode is inside the model call (the scripted server holds it) before we cancel.
    await waitUntil(() => model.chatRequests().some((r) => r.lastUserText?.includes("hang-forever please")), "OpenCode asked the model", 60_000);
    await page.getByRole("button", { name: "Cancel" }).click();
    await page.locator("#task-status", { hasText: "cancelled" }).waitFor(WAIT);
    expect((await server.client.getTask(t.id)).status).toBe("cancelled");
    expect(await page.getByRole("button", { name: "Cancel" }).count()).toBe(0);
  });

  let sessionId: string;
  test("a real OpenCode session shows its messages in order and the write tool call, compact", async () => {
    const file = join(repo, "from-browser.txt");
    const prompt = `please write-file ${file}`;
    const t = await server.client.createTask({ codebase_id: repoId, prompt, agent_type: "build", model: oc.model });
    await page.goto(`${server.url}/#/tasks/${t.id}`);
    await page.locator("#task-status", { hasText: "completed" }).waitFor(WAIT);
    expect(existsSync(file)).toBe(true);
    // From the task to its session, as a person would.
    await page.locator("#session-link").click();
    await page.waitForURL(/#\/sessions\/[^/]+\/ses_/, WAIT);
    sessionId = decodeURIComponent(page.url().split("/").pop()!);
    expect(sessionId).toBe((await server.client.getTask(t.id)).session_id!);
    // The messages are there once the worker synced the session after the task.
    const tool = page.locator('#messages details[data-tool="write"]');
    await tool.waitFor(WAIT);
    await page.locator("#messages article.assistant", { hasText: "I wrote the file." }).waitFor(WAIT);
    const roles = await page.locator("#messages article").evaluateAll((els) => els.map((e) => e.className.replace("message ", "")));
    expect(roles).toEqual(["user", "assistant", "assistant"]); // prompt, tool call, final text
    expect(await page.locator("#messages article").first().textContent()).toContain(prompt);
    // Folded: the input shows only once opened.
    expect(await tool.evaluate((d) => (d as HTMLDetailsElement).open)).toBe(false);
    await tool.locator("summary").click();
    expect(await tool.locator("pre").first().textContent()).toContain(file);
    expect(await tool.locator(".badge").textContent()).toBe("completed");
    expect(await page.locator('#tool-usage tr[data-tool="write"] td').allTextContents()).toEqual(["write", "1", "0"]);
    await shot(page, "session");
    // The codebase's session list shows the tokens OpenCode recorded (the scripted model reports usage).
    const rec = (await server.client.listSessions(repoId)).find((s) => s.id === sessionId) as any;
    const total = (rec?.tokens?.input ?? 0) + (rec?.tokens?.output ?? 0);
    expect(total).toBeGreaterThan(0);
    await page.goto(`${server.url}/#/sessions/${repoId}`);
    const cells = page.locator(`#sessions tr[data-session="${sessionId}"] td`);
    await cells.first().waitFor(WAIT);
    expect((await cells.allTextContents())[3]).toBe(total.toLocaleString("en-US"));
    // and back to the session from the list, where Resume (next test) starts
    await page.locator(`#sessions tr[data-session="${sessionId}"] a`).first().click();
    await page.locator('#messages details[data-tool="write"]').waitFor(WAIT);
  });

  test("Resume creates a task with resume_session_id; it completes and its messages join the same session", async () => {
    expect(sessionId).toBeTruthy();
    const before = await page.locator("#messages article").count();
    await page.getByLabel("Prompt").fill("continue from the browser");
    await page.getByRole("button", { name: "Resume" }).click();
    await page.locator("#resume-status", { hasText: "completed" }).waitFor(WAIT);
    const resumeId = (await page.locator(".resume-task").getAttribute("data-task"))!;
    const rt = await server.client.getTask(resumeId);
    expect(rt.metadata.resume_session_id).toBe(sessionId);
    expect(rt.status).toBe("completed");
    expect(rt.session_id).toBe(sessionId);
    await page.locator("#messages article.assistant", { hasText: "answer to: continue from the browser" }).waitFor(WAIT);
    await page.locator("#messages article.user", { hasText: "continue from the browser" }).waitFor(WAIT);
    expect(await page.locator("#messages article").count()).toBe(before + 2);
    expect(page.url()).toContain(sessionId); // still the same session page
    await shot(page, "session-resumed");
    expect(errors).toEqual([]);
  });

  test("Fleet's charts count the tasks finished in the last hour and the queue", async () => {
    // So far: the form's echo task, the cancelled one, the write task and the resumed one.
    const api = (await (await fetch(`${server.url}/v1/monitor/activity`)).json()) as any;
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    expect([sum(api.completed), sum(api.failed), sum(api.cancelled)]).toEqual([3, 0, 1]);
    expect(api.queued.at(-1)).toBe(0);
    await page.goto(`${server.url}/#/fleet`);
    await page.locator("#charts figcaption", { hasText: "Tasks finished per minute (last hour: 4)" }).waitFor(WAIT);
    await page.locator("#charts figcaption", { hasText: "Queue depth (now: 0)" }).waitFor(WAIT);
    expect(await page.locator("#charts canvas").count()).toBe(2);
    await shot(page, "fleet-charts");
    expect(errors).toEqual([]);
  });

  test("with auth on the page asks for a token, refuses a wrong one, keeps the right one for the tab only", async () => {
    const authed = await startServerProc(join(tmp.path, "auth"), { env: { A2A_AUTH_TOKENS: "ops:right-token-123" } });
    const tab = await openPage(browser);
    const p = tab.page;
    await p.goto(`${authed.url}/`);
    await p.getByRole("heading", { name: "Sign in" }).waitFor(WAIT);
    expect(await p.locator("#workers, #tasks").count()).toBe(0);
    await p.getByLabel("Token").fill("wrong-token");
    await p.getByRole("button", { name: "Sign in" }).click();
    await p.getByRole("alert").filter({ hasText: "refused" }).waitFor(WAIT);
    expect(await p.evaluate(() => sessionStorage.getItem("codetether.token"))).toBeNull();
    await shot(p, "login-refused");

    await p.getByLabel("Token").fill("right-token-123");
    await p.getByRole("button", { name: "Sign in" }).click();
    await p.getByRole("heading", { name: "Fleet" }).waitFor(WAIT);
    expect(p.url()).not.toContain("right-token-123");
    expect(await p.evaluate(() => sessionStorage.getItem("codetether.token"))).toBe("right-token-123");
    expect(await p.evaluate(() => localStorage.length)).toBe(0);
    // The token rides on live streams too: a line a worker posts shows on the open task page.
    const api = async (method: string, path: string, body: unknown, headers: Record<string, string> = {}) => {
      const r = await fetch(authed.url + path, {
        method,
        headers: { authorization: "Bearer right-token-123", "content-type": "application/json", ...headers },
        body: JSON.stringify(body),
      });
      expect(r.status).toBeLessThan(300);
      return r.json() as Promise<any>;
    };
    const cb = (await api("POST", "/v1/opencode/codebases", { name: "x", path: "/srv/x", worker_id: "wk" })).codebase.id;
    await api("POST", "/v1/opencode/workers/register", { worker_id: "wk", name: "wk", codebases: [cb] });
    const t = await api("POST", "/v1/opencode/tasks", { codebase_id: cb, prompt: "p" });
    const claim = await api("POST", "/v1/worker/tasks/claim", { task_id: t.id }, { "x-worker-id": "wk" });
    await p.goto(`${authed.url}/#/tasks/${t.id}`);
    await p.locator("#task-status", { hasText: "running" }).waitFor(WAIT);
    await api("POST", `/v1/opencode/tasks/${t.id}/output`, { worker_id: "wk", attempt: claim.attempt, seq: 0, lines: ["streamed with the token"] });
    await p.locator(`pre[data-output="${t.id}"]`, { hasText: "streamed with the token" }).waitFor(WAIT);
    await tab.close();

    // Another tab (a new browsing context) starts signed out.
    const other = await openPage(browser);
    await other.page.goto(`${authed.url}/`);
    await other.page.getByRole("heading", { name: "Sign in" }).waitFor(WAIT);
    await other.close();
    expect(authed.proc.out() + authed.proc.err()).not.toContain("right-token-123");
    expect(authed.proc.out() + authed.proc.err()).not.toContain("wrong-token");
    await authed.stop();
  });

  test("without auth on a network address the page shows a warning banner", async () => {
    const open = await startServerProc(join(tmp.path, "open"), { args: ["--host", "0.0.0.0"] });
    const tab = await openPage(browser);
    await tab.page.goto(`${open.url}/`);
    await tab.page.locator(".banner", { hasText: "without authentication" }).waitFor(WAIT);
    await tab.close();
    await open.stop();
  });

  test("a task no live worker can take shows why it waits, and Run again keeps its requirements", async () => {
    const t = await server.client.createTask({ codebase_id: "global", prompt: "needs a tpu", agent_type: "echo", required_capabilities: ["tpu"] });
    await page.goto(`${server.url}/#/tasks/${t.id}`);
    const waiting = page.locator("#task-waiting");
    await waiting.waitFor(WAIT);
    expect(await waiting.textContent()).toBe("no active worker has capability tpu");
    await shot(page, "task-waiting");
    await page.getByRole("button", { name: "Run again" }).click();
    await page.waitForURL((u) => u.hash.startsWith("#/tasks/") && !u.hash.includes(t.id), WAIT);
    const again = await server.client.getTask(page.url().split("/").pop()!);
    expect(again.required_capabilities).toEqual(["tpu"]);
    for (const id of [t.id, again.id]) await server.client.cancelTask(id);
  });

  test("registering by path with no worker running explains why in place and what to run", async () => {
    const empty = await startServerProc(join(tmp.path, "no-workers"));
    const tab = await openPage(browser);
    try {
      await tab.page.goto(`${empty.url}/#/codebases`);
      await tab.page.getByLabel("Name").fill("api");
      await tab.page.getByLabel(/^Path/).fill("/srv/api");
      await tab.page.getByRole("button", { name: "Register" }).click();
      const alert = tab.page.getByRole("alert");
      await alert.filter({ hasText: "No workers available" }).waitFor(WAIT);
      expect(await alert.textContent()).toContain(`codetether worker start --server ${empty.url}`);
      expect(await empty.client.listCodebases()).toEqual([]); // nothing half-registered
      await shot(tab.page, "codebases-no-workers");
      // the browser logs the refused POST itself; nothing else went wrong on the page
      expect(tab.errors.filter((e) => !e.includes("status of 400"))).toEqual([]);
    } finally {
      await tab.close();
      await empty.stop();
    }
  });

  test("task output follows the end, pauses while scrolled up (new lines do not move it), follows again at the end", async () => {
    // A worker id no process runs: the test claims the task and sends its output over the
    // protocol, so it decides when each line arrives.
    await server.client.registerWorker({ worker_id: "w-manual", name: "w-manual", capabilities: [], models: [], codebases: [] });
    const reg = await server.client.registerCodebase({ name: "manual", path: "/srv/manual", worker_id: "w-manual" });
    const cb = "codebase" in reg ? reg.codebase.id : "";
    const t = await server.client.createTask({ codebase_id: cb, prompt: "scroll test", agent_type: "echo" });
    const claim = await server.client.claim("w-manual", t.id);
    expect(claim?.task?.id).toBe(t.id);
    const attempt = claim!.attempt!;
    // seq numbers lines (the server drops a line whose (attempt, seq) it has): a batch starts at its first line's.
    const send = async (from: number, n: number) => {
      const lines = Array.from({ length: n }, (_, i) => `line ${from + i}`);
      expect((await server.client.postOutput(t.id, { worker_id: "w-manual", attempt, seq: from, lines })).stored).toBe(n);
    };
    await send(0, 200);
    await page.goto(`${server.url}/#/tasks/${t.id}`);
    const out = page.locator(`pre[data-output="${t.id}"]`);
    const lines = page.locator(".output-wrap p.muted");
    await lines.filter({ hasText: "200 lines" }).waitFor(WAIT);
    const pos = () => out.evaluate((el) => ({ top: el.scrollTop, gap: el.scrollHeight - el.clientHeight - el.scrollTop }));
    await waitUntil(async () => (await pos()).gap < 10, "the box scrolled to the newest line", 10_000);
    expect((await pos()).top).toBeGreaterThan(0); // 200 lines do not fit: it really scrolled

    // A person scrolls up to read: it pauses, and new lines leave the view where it is.
    await out.evaluate((el) => el.scrollTo({ top: 100 }));
    await lines.filter({ hasText: "paused" }).waitFor(WAIT);
    await send(200, 100);
    await lines.filter({ hasText: "300 lines" }).waitFor(WAIT);
    expect((await pos()).top).toBe(100);
    await shot(page, "output-paused");

    // Back at the end: it follows again, and the next lines keep it at the end.
    await out.evaluate((el) => el.scrollTo({ top: el.scrollHeight }));
    await waitUntil(async () => !(await lines.textContent())?.includes("paused"), "following again", 10_000);
    await send(300, 100);
    await lines.filter({ hasText: "400 lines" }).waitFor(WAIT);
    await waitUntil(async () => (await pos()).gap < 10, "the box follows the newest line", 10_000);
    expect(await out.textContent()).toContain("line 399");
    await server.client.release("w-manual", { task_id: t.id, worker_id: "w-manual", attempt, status: "completed", result: "done" });
    await page.locator("#task-status", { hasText: "completed" }).waitFor(WAIT);
    // Run again on a finished task retries it: a new task with the same fields, linked back.
    await page.getByRole("button", { name: "Run again" }).click();
    await page.waitForURL((u) => u.hash.startsWith("#/tasks/") && !u.hash.endsWith(t.id), WAIT);
    const again = decodeURIComponent(page.url().split("/").pop()!);
    await page.locator("#retry-of", { hasText: t.id }).waitFor(WAIT);
    expect(await server.client.getTask(again)).toMatchObject({ prompt: "scroll test", agent_type: "echo", codebase_id: cb, metadata: { retry_of: t.id } });
    await server.client.cancelTask(again); // nobody runs w-manual's tasks
    expect(errors).toEqual([]);
  });

  test("a codebase's sessions page 50 at a time (Older, Newest); a session's page reads its own record", async () => {
    const workerId = (await server.client.listWorkers()).find((w) => w.name === "w-dash")!.worker_id;
    const dir = join(tmp.path, "paged");
    mkdirSync(dir, { recursive: true });
    const post = async (path: string, body: unknown) => {
      const r = await fetch(server.url + path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
      if (r.status !== 200) throw new Error(`${path}: ${r.status} ${await r.text()}`);
      return r.json() as Promise<any>;
    };
    const cb = (await post("/v1/opencode/codebases", { name: "paged", path: dir, worker_id: workerId })).codebase.id as string;
    const pad = (i: number) => String(i).padStart(3, "0");
    const sessions = Array.from({ length: 60 }, (_, i) => ({
      id: `ses_paged_${pad(i)}`,
      title: `paged session ${i}`,
      directory: dir,
      created: new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString(),
      updated: new Date(Date.UTC(2026, 0, 2, 0, i)).toISOString(), // as a worker sends them: the list's order
    }));
    await post(`/v1/opencode/codebases/${cb}/sessions/sync`, { worker_id: workerId, sessions });
    const rows = page.locator("#sessions tbody tr");
    const ids = () => rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-session")));
    await page.goto(`${server.url}/#/sessions/${cb}`);
    await page.locator('#sessions tr[data-session="ses_paged_059"]').waitFor(WAIT);
    expect(await ids()).toEqual(Array.from({ length: 50 }, (_, i) => `ses_paged_${pad(59 - i)}`));
    const pager = page.getByRole("navigation", { name: "Pages" });
    expect(await pager.getByRole("link", { name: "Newest" }).count()).toBe(0);
    await pager.getByRole("link", { name: "Older" }).click();
    await page.locator('#sessions tr[data-session="ses_paged_009"]').waitFor(WAIT);
    expect(await ids()).toEqual(Array.from({ length: 10 }, (_, i) => `ses_paged_${pad(9 - i)}`));
    expect(await pager.getByRole("link", { name: "Older" }).count()).toBe(0);
    await shot(page, "sessions-older-page");
    await pager.getByRole("link", { name: "Newest" }).click();
    await page.locator('#sessions tr[data-session="ses_paged_059"]').waitFor(WAIT);
    // A session on the first page opens with its own title (GET /v1/opencode/sessions/{sid}).
    await page.locator('#sessions tr[data-session="ses_paged_042"] a').first().click();
    await page.locator("#session-h", { hasText: "paged session 42" }).waitFor(WAIT);
    expect(errors).toEqual([]);
  });

  test("a worktree task's page shows its branch, commit and changes, and its diff on demand", async () => {
    const wtId = await codebaseId(server.client, "w-dash", "wt");
    const t = await server.client.createTask({ codebase_id: wtId, prompt: "please write-file wt-file.txt", agent_type: "build", model: oc.model });
    await page.goto(`${server.url}/#/tasks/${t.id}`);
    await page.locator("#task-status", { hasText: "completed" }).waitFor(WAIT);
    await page.locator("#task-branch", { hasText: `codetether/${t.id}` }).waitFor(WAIT);
    expect(await page.locator("#task-commit").textContent()).toMatch(/^[0-9a-f]{40}$/);
    expect(await page.locator("#task-changes").textContent()).toBe("1 file changed, +1 −0");
    await page.locator("#task-diff summary").click();
    await page.locator("#task-diff pre", { hasText: "+from the browser test" }).waitFor(WAIT);
    expect(existsSync(join(wtRepo, "wt-file.txt"))).toBe(false); // the main checkout is untouched
    // The output reads as OpenCode's terminal does (text, one line per tool call), the events with "Raw events".
    const out = page.locator(`pre[data-output="${t.id}"]`);
    await out.filter({ hasText: "I wrote the file." }).waitFor(WAIT);
    expect(await out.textContent()).toMatch(/✓ write\b/);
    expect(await out.textContent()).not.toContain('"type":"step_start"');
    await shot(page, "task-worktree-rendered");
    await page.getByLabel("Raw events").check();
    await out.filter({ hasText: '"type":"step_start"' }).waitFor(WAIT);
    await shot(page, "task-worktree");
    expect(errors).toEqual([]);
  });
});
