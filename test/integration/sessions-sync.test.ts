// Incremental session upload against a real server process. The sessions come from a
// synthetic reader here (the e2e suite reads them from the real OpenCode); what is
// tested is the diffing, batching and redaction, and what the server ends up holding.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { MessageRecord, SessionRecord } from "../../src/protocol/index.ts";
import { codebaseFor, syncSessions, type SessionReader } from "../../src/sessions/sync.ts";
import { startServerProc, type ServerProc } from "../helpers/cluster.ts";
import { killAll, tempDir } from "../helpers/proc.ts";

const tmp = tempDir("ct-sync-");
let server: ServerProc;
let cbId: string;
let globalId: string;
const repo = join(tmp.path, "repo");

function session(i: number, updated: number, messages: number): { s: SessionRecord; m: MessageRecord[] } {
  const id = `ses_${String(i).padStart(5, "0")}`;
  return {
    s: {
      id,
      title: `session ${i}`,
      directory: i % 2 ? repo : "/elsewhere",
      created: 1_700_000_000_000,
      updated,
      messageCount: messages,
    } as unknown as SessionRecord,
    m: Array.from({ length: messages }, (_, j) => ({
      id: `msg_${i}_${j}`,
      sessionID: id,
      role: j % 2 ? "assistant" : "user",
      time: { created: "2024-01-01T00:00:00.000Z" },
      parts: [
        {
          id: `prt_${i}_${j}`,
          type: j % 2 ? "tool" : "text",
          text: j % 2 ? undefined : `text ${j} secret-token-123`,
          tool: j % 2 ? "write" : undefined,
          state: j % 2 ? { status: "completed" } : undefined,
        },
      ],
    })) as MessageRecord[],
  };
}

function reader(data: { s: SessionRecord; m: MessageRecord[] }[], calls: { list: number; export: number }): SessionReader {
  return {
    async list() {
      calls.list++;
      return data.map((d) => d.s);
    },
    async export(id) {
      calls.export++;
      return { messages: data.find((d) => d.s.id === id)!.m };
    },
  };
}

beforeAll(async () => {
  server = await startServerProc(join(tmp.path, "server"));
  await server.client.registerWorker({ worker_id: "w-sync", name: "w-sync", capabilities: [], models: [], codebases: [] });
  const g = await server.client.registerCodebase({ name: "global", path: tmp.path, worker_id: "w-sync" });
  const c = await server.client.registerCodebase({ name: "repo", path: repo, worker_id: "w-sync" });
  globalId = "codebase" in g ? g.codebase.id : "";
  cbId = "codebase" in c ? c.codebase.id : "";
});
afterAll(async () => {
  await killAll();
  tmp.cleanup();
});

describe("session sync", () => {
  test("maps directories to the deepest registered codebase, else global", () => {
    const t = {
      codebases: [
        { id: "a", path: "/r" },
        { id: "b", path: "/r/sub" },
      ],
      globalId: "g",
    };
    expect(codebaseFor("/r/x", t)).toBe("a");
    expect(codebaseFor("/r/sub/y", t)).toBe("b");
    expect(codebaseFor("/rx", t)).toBe("g");
    expect(codebaseFor(null, t)).toBe("g");
  });

  test("first sync sends all in batches, a second sends nothing, a change sends only what is new", async () => {
    const data = Array.from({ length: 250 }, (_, i) => session(i, 1_700_000_100_000, 3));
    const calls = { list: 0, export: 0 };
    const base = {
      client: server.client,
      workerId: "w-sync",
      dataDir: join(tmp.path, "data"),
      reader: reader(data, calls),
      target: { codebases: [{ id: cbId, path: repo }], globalId },
      redact: (s: string) => s.replaceAll("secret-token-123", "***"),
      sessionBatch: 100,
    };

    const dry = await syncSessions({ ...base, dryRun: true });
    expect(dry).toEqual({ sessions_scanned: 250, sessions_sent: 250, sessions_unchanged: 0, messages_sent: 750 });
    expect(await server.client.listSessions(cbId)).toHaveLength(0); // dry run sent nothing

    const first = await syncSessions(base);
    expect(first).toEqual({ sessions_scanned: 250, sessions_sent: 250, sessions_unchanged: 0, messages_sent: 750 });
    expect(await server.client.listSessions(cbId)).toHaveLength(125);
    expect(await server.client.listSessions(globalId)).toHaveLength(125);
    const msgs = await server.client.listMessages(cbId, "ses_00001");
    expect(msgs).toHaveLength(3);
    expect(JSON.stringify(msgs)).not.toContain("secret-token-123");
    expect(JSON.stringify(msgs)).toContain("***");

    calls.export = 0;
    const second = await syncSessions(base);
    expect(second).toEqual({ sessions_scanned: 250, sessions_sent: 0, sessions_unchanged: 250, messages_sent: 0 });
    expect(calls.export).toBe(0);

    // Continue one session: two new messages, `updated` moves.
    const more = session(1, 1_700_000_200_000, 5);
    data[1] = more;
    const third = await syncSessions({ ...base, reader: reader(data, calls) });
    expect(third).toEqual({ sessions_scanned: 250, sessions_sent: 1, sessions_unchanged: 249, messages_sent: 2 });
    expect(await server.client.listMessages(cbId, "ses_00001")).toHaveLength(5);
  });

  test("each session carries cost, tokens and tool calls (errors per tool) from its messages; usage none recorded stays null", async () => {
    const priced = session(900, 1_700_000_300_000, 4);
    priced.m[1] = { ...priced.m[1]!, cost: 0.0125, tokens: { input: 1000, output: 200, reasoning: 0, cache: { read: 50, write: 0 } } };
    priced.m[3] = { ...priced.m[3]!, cost: 0.0075, tokens: { input: 1500, output: 300 } };
    priced.m[3]!.parts = [
      { id: "prt_900_err", type: "tool", tool: "bash", state: { status: "error" } },
      { id: "prt_900_w", type: "tool", tool: "write", state: { status: "completed" } },
    ];
    const plain = session(902, 1_700_000_300_000, 2); // even index: the global codebase
    const calls = { list: 0, export: 0 };
    const r = await syncSessions({
      client: server.client,
      workerId: "w-sync",
      dataDir: join(tmp.path, "data-usage"),
      reader: reader([priced, plain], calls),
      target: { codebases: [{ id: cbId, path: repo }], globalId },
      redact: (s: string) => s,
    });
    expect(r.sessions_sent).toBe(2);
    const got = (await server.client.listSessions(globalId)).find((s) => s.id === "ses_00900") as any;
    expect(got.cost).toBeCloseTo(0.02, 10);
    expect(got.tokens).toEqual({ input: 2500, output: 500 });
    // tool calls and failures per tool, busiest first
    expect(got.tools).toEqual([
      { tool: "write", calls: 2, errors: 0 },
      { tool: "bash", calls: 1, errors: 1 },
    ]);
    const none = (await server.client.listSessions(globalId)).find((s) => s.id === "ses_00902") as any;
    expect({ cost: none.cost, tokens: none.tokens, tools: none.tools }).toEqual({ cost: null, tokens: null, tools: [{ tool: "write", calls: 1, errors: 0 }] });
  });
});
