// Session history read back through the real OpenCode CLI after real runs, mapped to the
// wire shapes and checked against the protocol schemas.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { MessageRecord, SessionRecord } from "../../src/protocol/index.ts";
import { exportSession, listSessions } from "../../src/opencode/sessions-cli.ts";
import { mapListEntry } from "../../src/opencode/sessions-map.ts";
import { opencodeReader, runOpencode } from "../../src/opencode/index.ts";
import { startModelServer } from "../fixtures/model-server.ts";
import { createOpencodeEnv, OPENCODE_BIN, type OpencodeEnv } from "../helpers/opencode-env.ts";

const ms = startModelServer();
let oe: OpencodeEnv;
let plainDir: string;
let gitDir: string;
let toolSession: string;
let gitSession: string;

beforeAll(async () => {
  oe = createOpencodeEnv({ modelServerUrl: ms.url });
  plainDir = oe.makeProject("plain");
  gitDir = oe.makeProject("gitrepo");
  // a git repo is its own OpenCode project: `opencode session list` would not show it from elsewhere
  const git = (...a: string[]) => spawnSync("git", ["-c", "user.email=t@example.com", "-c", "user.name=t", ...a], { cwd: gitDir });
  git("init", "-q");
  git("commit", "-q", "--allow-empty", "-m", "init");

  ms.setScript([
    { type: "tool", name: "write", args: { filePath: "notes.md", content: "# notes\n" } },
    { type: "text", text: "Created notes.md" },
    { type: "text", text: "hello from git" },
  ]);
  const base = { bin: OPENCODE_BIN, agent: "build", env: oe.env, timeoutMs: 120_000, onLine: () => {} };
  const a = await runOpencode({ ...base, cwd: plainDir, prompt: "write notes" });
  const b = await runOpencode({ ...base, cwd: gitDir, prompt: "say hello" });
  if (a.status !== "completed" || b.status !== "completed") throw new Error(`setup runs failed: ${a.error} / ${b.error}`);
  toolSession = a.sessionId!;
  gitSession = b.sessionId!;
}, 240_000);

afterAll(async () => {
  await ms.stop();
  oe.cleanup();
});

const timed = async <T>(label: string, f: () => Promise<T>): Promise<T> => {
  const t0 = performance.now();
  const v = await f();
  console.log(`[timing] ${label}: ${Math.round(performance.now() - t0)} ms`);
  return v;
};

describe("OpenCode sessions through the CLI", () => {
  test("listSessions: every project's sessions with counts, as SessionRecords", async () => {
    const list = await timed("listSessions (opencode db)", () => listSessions(OPENCODE_BIN, oe.env));
    const byId = new Map(list.map((s) => [s.id, s]));
    const s = byId.get(toolSession)!;
    expect(s).toBeDefined();
    expect(byId.get(gitSession)?.directory).toBe(gitDir);
    expect(s.directory).toBe(plainDir);
    expect(s.project_id).toBe("global");
    expect(byId.get(gitSession)?.project_id).not.toBe("global");
    expect(s.messageCount).toBe(3); // user, assistant (tool call), assistant (text)
    expect(s.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(typeof s.title).toBe("string");
    expect(Date.parse(s.created!)).toBeLessThanOrEqual(Date.parse(s.updated!));
    for (const rec of list) expect(SessionRecord.safeParse(rec).success).toBe(true);
    // newest first
    expect(list.map((x) => x.updated)).toEqual([...list.map((x) => x.updated)].sort().reverse());
  }, 60_000);

  test("`opencode session list --format json` (the fallback) maps to the same records, per project", async () => {
    const r = spawnSync(OPENCODE_BIN, ["session", "list", "--format", "json"], {
      cwd: gitDir,
      env: { ...process.env, ...oe.env, PWD: gitDir },
      encoding: "utf8",
    });
    expect(r.status).toBe(0);
    const list = (JSON.parse(r.stdout) as Record<string, unknown>[]).map(mapListEntry);
    expect(list.map((s) => s.id)).toEqual([gitSession]); // project-scoped: the plain dir's session is not here
    expect(list[0]).toMatchObject({ id: gitSession, directory: gitDir, messageCount: null });
    expect(SessionRecord.safeParse(list[0]).success).toBe(true);
  }, 60_000);

  test("exportSession: messages with text, tool (state, timing), step-finish (cost, tokens)", async () => {
    const { session, messages } = await timed("exportSession", () => exportSession(OPENCODE_BIN, toolSession, oe.env));
    expect(session).toMatchObject({ id: toolSession, directory: plainDir, project_id: "global", messageCount: 3 });
    expect(messages.map((m) => m.role)).toEqual(["user", "assistant", "assistant"]);
    for (const m of messages) {
      expect(MessageRecord.safeParse(m).success).toBe(true);
      expect(m.sessionID).toBe(toolSession);
      expect(m.time?.created).toMatch(/Z$/);
    }
    const [user, toolMsg, answer] = messages as [MessageRecord, MessageRecord, MessageRecord];
    expect(user.parts.find((p) => p.type === "text")?.text).toBe("write notes");
    expect(user.model).toEqual({ providerID: "scripted", modelID: "scripted" });
    expect(toolMsg.model).toEqual({ providerID: "scripted", modelID: "scripted" });
    expect(toolMsg.agent).toBe("build");
    expect(toolMsg.tokens).toMatchObject({ input: 10, output: 5 });
    expect(toolMsg.cost).toBe(0);

    const tool = toolMsg.parts.find((p) => p.type === "tool")!;
    expect(tool.tool).toBe("write");
    const state = tool.state as { status: string; input: Record<string, unknown>; output: string; time: { start: number; end: number } };
    expect(state.status).toBe("completed");
    expect(state.input).toEqual({ filePath: "notes.md", content: "# notes\n" });
    expect(state.output).toContain("Wrote file successfully");
    expect(state.time.end).toBeGreaterThanOrEqual(state.time.start);
    const finish = toolMsg.parts.find((p) => p.type === "step-finish")!;
    expect(finish).toMatchObject({ reason: "tool-calls", cost: 0, tokens: { input: 10, output: 5 } });

    expect(answer.parts.find((p) => p.type === "text")?.text).toBe("Created notes.md");
  }, 60_000);

  test("the reader used by session sync lists and exports", async () => {
    const reader = opencodeReader(OPENCODE_BIN, oe.env);
    const ids = (await reader.list()).map((s) => s.id);
    expect(ids).toContain(gitSession);
    const exp = await reader.export(gitSession);
    expect(exp.messages.at(-1)?.parts.find((p) => p.type === "text")?.text).toBe("hello from git");
  }, 60_000);

  test("exporting an unknown session fails with OpenCode's reason", async () => {
    await expect(exportSession(OPENCODE_BIN, "ses_doesnotexist", oe.env)).rejects.toThrow("Session not found: ses_doesnotexist");
  }, 60_000);
});
