// End to end: our server and `codetether worker start` as real processes, the real
// OpenCode CLI as the agent, a scripted OpenAI-compatible model server on loopback.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";

setDefaultTimeout(180_000);
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { startModelServer, type ModelServer, type ScriptStep } from "../fixtures/model-server.ts";
import { codebaseId, startServerProc, startWorkerProc, waitTask, type ServerProc, type WorkerProc } from "../helpers/cluster.ts";
import { createOpencodeEnv, OPENCODE_BIN, processesUnder, waitUntil, type OpencodeEnv } from "../helpers/opencode-env.ts";
import { killAll, tempDir } from "../helpers/proc.ts";

const tmp = tempDir("ct-e2e-");
let model: ModelServer;
let oc: OpencodeEnv;
let server: ServerProc;
let worker: WorkerProc;
let repo: string;
let repoId: string;

/** The model's behaviour is chosen by a keyword in the task's prompt. */
function script(req: { lastUserText: string | null; toolResults: unknown[] }): ScriptStep | Promise<ScriptStep> {
  const text = req.lastUserText ?? "";
  const write = text.match(/write-file (\S+)/);
  if (write) {
    return req.toolResults.length
      ? { type: "text", text: "I wrote the file." }
      : { type: "tool", name: "write", args: { filePath: write[1], content: "hello from the model\n" } };
  }
  if (text.includes("tools-demo")) {
    // a write, a failing command, then the answer: what people read in `task logs`
    const steps: ScriptStep[] = [
      { type: "tool", name: "write", args: { filePath: "demo.txt", content: "demo\n" }, text: "Writing the demo file." },
      { type: "tool", name: "bash", args: { command: "exit 3", description: "Fail on purpose" } },
      { type: "text", text: "Demo finished." },
    ];
    return steps[Math.min(req.toolResults.length, 2)]!;
  }
  if (text.includes("hang-forever")) return { type: "hang" };
  if (text.includes("reject-key"))
    return { type: "error", status: 401, message: "Incorrect API key provided: sk-te****", code: "invalid_api_key", errorType: "invalid_request_error" };
  if (text.includes("together")) return together();
  return { type: "text", text: `answer to: ${text}` };
}

/** Answers only once three "together" requests are waiting: proof that three runs overlap. */
const waiting: (() => void)[] = [];
function together(): Promise<ScriptStep> {
  return new Promise((resolve) => {
    waiting.push(() => resolve({ type: "text", text: "done together" }));
    if (waiting.length === 3) for (const go of waiting.splice(0)) go();
  });
}

beforeAll(async () => {
  model = startModelServer(script);
  oc = createOpencodeEnv({ modelServerUrl: model.url });
  repo = oc.makeProject("repo");
  server = await startServerProc(join(tmp.path, "server"));
  worker = startWorkerProc(server.url, {
    name: "w-oc",
    dataDir: join(tmp.path, "w-oc"),
    codebases: [`repo:${repo}`],
    env: oc.env,
    args: ["--opencode-bin", OPENCODE_BIN, "--max-concurrent-tasks", "3"],
  });
  await worker.waitFor(/task stream connected/, 30_000);
  repoId = await codebaseId(server.client, "w-oc", "repo");
});

afterAll(async () => {
  await killAll();
  await model?.stop();
  oc?.cleanup();
  tmp.cleanup();
});

describe("worker with the real OpenCode", () => {
  test("a task makes OpenCode call its write tool: the file appears and the result is the model's final text", async () => {
    const file = join(repo, "hello.txt");
    const t = await server.client.createTask({ codebase_id: repoId, prompt: `please write-file ${file}`, agent_type: "build", model: oc.model });
    const done = await waitTask(server.client, t.id, (x) => x.status !== "pending" && x.status !== "running", "task finished", 120_000);
    expect(done.error).toBeNull();
    expect(done.status).toBe("completed");
    expect(done.result).toBe("I wrote the file.");
    expect(done.session_id).toMatch(/^ses_/);
    expect(existsSync(file)).toBe(true);
    expect(readFileSync(file, "utf8")).toBe("hello from the model\n");
    const out = await server.client.getOutput(t.id);
    expect(out.outputs.some((o) => o.line.includes('"tool_use"') || o.line.includes('"tool"'))).toBe(true);
  });

  test("task logs and create --wait show the agent's text and one line per tool call; --raw the events", async () => {
    const { runCli } = await import("../helpers/proc.ts");
    const ct = (args: string[]) => runCli(args, { env: { ...oc.env, A2A_CONFIG: undefined, A2A_SERVER_URL: server.url }, timeoutMs: 150_000 });
    const w = await ct(["task", "create", "--codebase", "repo", "--prompt", "tools-demo", "--model", oc.model, "--wait"]);
    expect(w.stderr).toMatch(/task \S+ completed in/);
    expect(w.code).toBe(0);
    const expected = ["Writing the demo file.", "✓ write demo.txt", "✗ bash exit 3: exit 3", "Demo finished."];
    expect(w.stdout.trimEnd().split("\n")).toEqual(expected);
    const id = w.stderr.match(/task (\S+) created/)![1]!;

    const logs = await ct(["task", "logs", id]);
    expect(logs.code).toBe(0);
    expect(logs.stdout.trimEnd().split("\n")).toEqual(expected);
    expect(logs.stdout).not.toContain("step_start");
    // colour only for a terminal: FORCE_COLOR stands in for one here (piped output above has none)
    const coloured = await runCli(["task", "logs", id], {
      env: { ...oc.env, A2A_CONFIG: undefined, A2A_SERVER_URL: server.url, NO_COLOR: undefined, FORCE_COLOR: "1" },
    });
    expect(coloured.stdout).toContain("\x1b[32m✓\x1b[39m write demo.txt");
    expect(coloured.stdout).toContain("\x1b[31m✗\x1b[39m bash exit 3: exit 3");

    const raw = await ct(["task", "logs", id, "--raw"]);
    expect(raw.code).toBe(0);
    const events = raw.stdout
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l).type);
    expect(events).toContain("step_start");
    expect(events.filter((t) => t === "tool_use")).toHaveLength(2);
  });

  test("the provider answers 401: the task fails with the provider's error", async () => {
    const t = await server.client.createTask({ codebase_id: repoId, prompt: "reject-key please", agent_type: "build", model: oc.model });
    const done = await waitTask(server.client, t.id, (x) => x.status !== "pending" && x.status !== "running", "task finished", 120_000);
    expect(done.status).toBe("failed");
    expect(done.error ?? "").toContain("Incorrect API key");
  });

  test("a task past its timeout_s fails with 'timed out after Ns'", async () => {
    const t = await server.client.createTask({ codebase_id: repoId, prompt: "hang-forever", agent_type: "build", model: oc.model, timeout_s: 3 });
    const done = await waitTask(server.client, t.id, (x) => x.status !== "pending" && x.status !== "running", "task finished", 60_000);
    expect(done.status).toBe("failed");
    expect(done.error ?? "").toStartWith("timed out after 3s");
  });

  test("cancelling a running task stops OpenCode's processes and ends it cancelled", async () => {
    const before = model.chatRequests().length;
    const t = await server.client.createTask({ codebase_id: repoId, prompt: "hang-forever again", agent_type: "build", model: oc.model });
    await waitTask(server.client, t.id, (x) => x.status === "running", "task running", 60_000);
    await model.waitForChatRequests(before + 1, 60_000); // OpenCode is in its model call
    expect(processesUnder(repo).length).toBeGreaterThan(0);
    await server.client.cancelTask(t.id);
    const done = await waitTask(server.client, t.id, (x) => x.status !== "running", "task cancelled", 30_000);
    expect(done.status).toBe("cancelled");
    expect(await waitUntil(() => processesUnder(repo).length === 0, 10_000)).toBe(true);
  });

  test("three concurrent tasks on one worker overlap (all in the model at once) and all complete", async () => {
    // Each "together" answer waits until all three runs are in the model call: run one at a
    // time, the first would wait for ever and the test would fail. In the home directory
    // (global): a shared codebase runs one task at a time (isolation.test.ts).
    const ts = await Promise.all(
      [1, 2, 3].map((i) => server.client.createTask({ codebase_id: "global", prompt: `task ${i} together`, agent_type: "build", model: oc.model })),
    );
    for (const t of ts) {
      const done = await waitTask(server.client, t.id, (x) => x.status !== "pending" && x.status !== "running", `task ${t.id}`, 120_000);
      expect(done.error).toBeNull();
      expect(done.status).toBe("completed");
      expect(done.result).toBe("done together");
    }
  });

  test("after a task its OpenCode session, with messages and the tool part, is on the server linked to the task", async () => {
    const file = join(repo, "synced.txt");
    const t = await server.client.createTask({ codebase_id: repoId, prompt: `sync test write-file ${file}`, agent_type: "build", model: oc.model });
    const done = await waitTask(server.client, t.id, (x) => x.status === "completed", "task completed", 120_000);
    // The worker under test runs with --no-sync-sessions; `sessions sync` is the same round, run once.
    const { runCli } = await import("../helpers/proc.ts");
    const r = await runCli(
      ["sessions", "sync", "--json", "--server", server.url, "--name", "w-oc", "--data-dir", join(tmp.path, "w-oc"), "--opencode-bin", OPENCODE_BIN],
      { env: { ...oc.env, A2A_CONFIG: undefined }, timeoutMs: 60_000 },
    );
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const first = JSON.parse(r.stdout);
    expect(first.sessions_sent).toBeGreaterThanOrEqual(1);
    const sessions = await server.client.listSessions(repoId);
    const s = sessions.find((x) => x.id === done.session_id);
    expect(s).toBeTruthy();
    expect(s?.task_id).toBe(t.id);
    const msgs = await server.client.listMessages(repoId, done.session_id!);
    expect(JSON.stringify(msgs)).toContain('"tool":"write"');
    // Tool statistics and usage of the real run, computed at sync: one write call, no errors;
    // the scripted model reports token usage on every answer.
    expect(s!.tools).toEqual([{ tool: "write", calls: 1, errors: 0 }]);
    expect(s!.tokens!.input + s!.tokens!.output).toBeGreaterThan(0);

    const again = await runCli(
      ["sessions", "sync", "--json", "--server", server.url, "--name", "w-oc", "--data-dir", join(tmp.path, "w-oc"), "--opencode-bin", OPENCODE_BIN],
      { env: { ...oc.env, A2A_CONFIG: undefined }, timeoutMs: 60_000 },
    );
    expect(JSON.parse(again.stdout)).toMatchObject({ sessions_sent: 0, messages_sent: 0 });

    // Continue the session: only the new messages go up, and a dry run first sends nothing.
    const before = (await server.client.listMessages(repoId, done.session_id!)).length;
    // From the CLI, as a person would: no --codebase, it is the session's.
    const created = await runCli(
      ["task", "create", "--resume", done.session_id!, "--prompt", "continue the conversation", "--model", oc.model, "--json", "--server", server.url],
      {
        env: { A2A_CONFIG: undefined },
      },
    );
    expect({ code: created.code, stderr: created.stderr }).toEqual({ code: 0, stderr: "" });
    const cont = JSON.parse(created.stdout);
    expect(cont).toMatchObject({ codebase_id: repoId, metadata: { resume_session_id: done.session_id } });
    const contDone = await waitTask(server.client, cont.id, (x) => x.status === "completed", "continued task completed", 120_000);
    expect(contDone.session_id).toBe(done.session_id);
    // The continued run had the earlier conversation as its context.
    const contReq = model.chatRequests().find((q) => q.lastUserText === "continue the conversation");
    expect(JSON.stringify(contReq?.body.messages)).toContain(`sync test write-file ${file}`);
    const syncArgs = [
      "sessions",
      "sync",
      "--json",
      "--server",
      server.url,
      "--name",
      "w-oc",
      "--data-dir",
      join(tmp.path, "w-oc"),
      "--opencode-bin",
      OPENCODE_BIN,
    ];
    const dry = await runCli([...syncArgs, "--dry-run"], { env: { ...oc.env, A2A_CONFIG: undefined }, timeoutMs: 60_000 });
    const dryOut = JSON.parse(dry.stdout);
    expect(dryOut).toMatchObject({ dry_run: true, sessions_sent: 1 });
    expect(dryOut.messages_sent).toBeGreaterThanOrEqual(2); // the new user message and the answer
    expect(await server.client.listMessages(repoId, done.session_id!)).toHaveLength(before);
    const third = JSON.parse((await runCli(syncArgs, { env: { ...oc.env, A2A_CONFIG: undefined }, timeoutMs: 60_000 })).stdout);
    expect(third.sessions_sent).toBe(1);
    expect(third.messages_sent).toBe(dryOut.messages_sent);
    expect(await server.client.listMessages(repoId, done.session_id!)).toHaveLength(before + third.messages_sent);
  });
});
