// P7 session sync: 1,000 synthetic OpenCode sessions (a SessionReader in memory, 10
// messages each) synced to a real server: the first sync, a second with nothing changed
// (what it uploads and how long it takes), and a third after one session changed.
import { join } from "node:path";
import { createClient } from "../src/client/index.ts";
import type { MessageRecord, SessionRecord } from "../src/protocol/index.ts";
import { syncSessions, type SessionReader } from "../src/sessions/sync.ts";
import { progress, QUICK, tempDir } from "./lib/env.ts";
import { startServerProc } from "./lib/proc.ts";
import { benchmark } from "./lib/result.ts";
import { fmt, round } from "./lib/stats.ts";

const SESSIONS = 1000;
const MESSAGES = 10;
const REPEAT = QUICK ? 3 : 10; // unchanged syncs, for a stable figure

const iso = (ms: number) => new Date(ms).toISOString();

interface Synthetic {
  s: SessionRecord;
  m: MessageRecord[];
}

function synthetic(repo: string): Synthetic[] {
  return Array.from({ length: SESSIONS }, (_, i) => {
    const id = `ses_bench${String(i).padStart(5, "0")}`;
    return {
      s: {
        id,
        title: `session ${i}`,
        directory: i % 4 ? repo : "/elsewhere",
        project_id: "prj_bench",
        created: iso(1_700_000_000_000 + i),
        updated: iso(1_700_000_100_000 + i),
        messageCount: MESSAGES,
        version: "1.18.33",
      },
      m: Array.from({ length: MESSAGES }, (_, j) => ({
        id: `msg_${i}_${j}`,
        sessionID: id,
        role: j % 2 ? "assistant" : "user",
        time: { created: iso(1_700_000_000_000 + i * 100 + j) },
        parts: [
          { id: `prt_${i}_${j}_0`, type: "text", text: `message ${j} of session ${i}: ${"lorem ipsum ".repeat(20)}` },
          ...(j % 2 ? [{ id: `prt_${i}_${j}_1`, type: "tool", tool: "bash", state: { status: "completed", input: { command: "ls" }, output: "a\nb\n" } }] : []),
        ],
      })) as unknown as MessageRecord[],
    };
  });
}

await benchmark("p7-sessions", "Session sync", { sessions: SESSIONS, messages_per_session: MESSAGES, unchanged_repeats: REPEAT }, async ({ rows, data }) => {
  const tmp = tempDir("p7");
  const server = await startServerProc(tmp.path);
  try {
    const repo = join(tmp.path, "repo");
    const calls = { sessions: 0, messages: 0 };
    const client = createClient({ serverUrl: server.url });
    // Counts uploads; the calls themselves go to the server unchanged.
    const counted = {
      ...client,
      syncSessions: (...a: Parameters<typeof client.syncSessions>) => {
        calls.sessions++;
        return client.syncSessions(...a);
      },
      syncMessages: (...a: Parameters<typeof client.syncMessages>) => {
        calls.messages++;
        return client.syncMessages(...a);
      },
    };
    await client.registerWorker({ worker_id: "p7", name: "p7", capabilities: [], models: [], codebases: [] });
    const g = await client.registerCodebase({ name: "global", path: tmp.path, worker_id: "p7" });
    const c = await client.registerCodebase({ name: "repo", path: repo, worker_id: "p7" });
    const target = { codebases: [{ id: "codebase" in c ? c.codebase.id : "", path: repo }], globalId: "codebase" in g ? g.codebase.id : null };
    const data_ = synthetic(repo);
    const exports = { n: 0 };
    const reader: SessionReader = {
      list: async () => data_.map((d) => d.s),
      export: async (id) => {
        exports.n++;
        return { messages: data_.find((d) => d.s.id === id)!.m };
      },
    };
    const sync = async () => {
      calls.sessions = calls.messages = exports.n = 0;
      const t0 = performance.now();
      const r = await syncSessions({ client: counted as typeof client, workerId: "p7", dataDir: join(tmp.path, "worker"), reader, target, redact: (s) => s });
      return { ms: round(performance.now() - t0, 1), uploads: calls.sessions + calls.messages, exports: exports.n, ...r };
    };
    progress(`P7: first sync of ${SESSIONS} sessions`);
    const first = await sync();
    const unchanged = [];
    for (let i = 0; i < REPEAT; i++) unchanged.push(await sync());
    data_[7]!.s.updated = iso(Date.parse(data_[7]!.s.updated!) + 1000);
    data_[7]!.m.push({ ...data_[7]!.m[0]!, id: "msg_7_new" });
    const oneChanged = await sync();
    const stored = (await client.listSessions(target.codebases[0]!.id)).length + (await client.listSessions(target.globalId!)).length;
    const ms = unchanged.map((u) => u.ms).sort((a, b) => a - b);
    const median = ms[Math.floor(ms.length / 2)]!;
    const worst = ms.at(-1)!;
    const uploads = Math.max(...unchanged.map((u) => u.uploads));
    Object.assign(data, { first, unchanged, one_changed: oneChanged, sessions_on_server: stored });
    rows.push({
      id: "P7",
      what: `session sync, ${SESSIONS.toLocaleString("en-US")} synthetic sessions × ${MESSAGES} messages (in-memory SessionReader → real server)`,
      result: `first ${fmt(first.ms, 0)} ms (${first.uploads} uploads, ${stored} sessions stored) · unchanged ${fmt(median, 1)} ms median / ${fmt(worst, 1)} ms worst of ${REPEAT}, ${uploads} uploads · one changed ${fmt(oneChanged.ms, 1)} ms, ${oneChanged.uploads} uploads`,
      target: "no upload and ≤ 200 ms when nothing changed",
      pass: uploads === 0 && worst <= 200 && stored === SESSIONS,
    });
  } finally {
    await server.stop();
    tmp.cleanup();
  }
});
process.exit();
