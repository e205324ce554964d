// `sessions list` and `sessions show` as people run them, over sessions a worker synced.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { startServerProc, type ServerProc } from "../helpers/cluster.ts";
import { killAll, runCli, tempDir } from "../helpers/proc.ts";
import { createApi, registerWorker } from "../helpers/server.ts";

const tmp = tempDir("ct-sessions-cli-");
let server: ServerProc;
let apiCb = "";
let webCb = "";
const O = "/v1/opencode";

beforeAll(async () => {
  server = await startServerProc(join(tmp.path, "server"));
  const api = createApi(server.url);
  const w = await registerWorker(api, "sess");
  apiCb = w.codebaseId;
  webCb = (await api.post(`${O}/codebases`, { name: "web", path: `/srv/${w.id}-web`, worker_id: w.id })).body.codebase.id;
  const sync = async (cb: string, id: string, title: string, updated: string, messages: unknown[], usage = {}) => {
    const s = await api.post(`${O}/codebases/${cb}/sessions/sync`, {
      worker_id: w.id,
      sessions: [{ id, title, directory: "/srv/x", created: "2026-12-01T10:00:00Z", updated, messageCount: messages.length, ...usage }],
    });
    expect(s.status).toBe(200);
    const m = await api.post(`${O}/codebases/${cb}/sessions/${id}/messages/sync`, { worker_id: w.id, messages });
    expect(m.status).toBe(200);
  };
  const msg = (sid: string, n: number, role: string, parts: unknown[]) => ({
    id: `msg_${sid}_${n}`,
    sessionID: sid,
    role,
    time: { created: 1_764_000_000_000 + n },
    parts,
  });
  await sync(apiCb, "ses_old", "Older session", "2026-12-01T11:00:00Z", [msg("old", 1, "user", [{ id: "p1", type: "text", text: "hello old" }])]);
  await sync(
    webCb,
    "ses_new",
    "Newer session",
    "2026-12-01T12:00:00Z",
    [
      msg("new", 1, "user", [{ id: "p1", type: "text", text: "write the file" }]),
      msg("new", 2, "assistant", [
        { id: "p2", type: "tool", tool: "write", state: { status: "completed" } },
        { id: "p3", type: "text", text: "I wrote it." },
      ]),
    ],
    {
      cost: 0.0213,
      tokens: { input: 1200, output: 300 },
      tools: [
        { tool: "write", calls: 1, errors: 0 },
        { tool: "bash", calls: 2, errors: 1 },
      ],
    },
  );
});
afterAll(async () => {
  await killAll();
  tmp.cleanup();
});

// NODE_ENV=test (set by bun test) silences consola's default logger, which prints these
// commands' human output: run them with the environment a user's shell has.
const env = () => ({ A2A_CONFIG: undefined, A2A_SERVER_URL: server.url, NODE_ENV: undefined });

describe("sessions list", () => {
  test("--json: every codebase's sessions, newest first, each with its codebase", async () => {
    const r = await runCli(["sessions", "list", "--json"], { env: env() });
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    const rows = JSON.parse(r.stdout);
    expect(rows.map((s: any) => [s.id, s.codebase_id])).toEqual([
      ["ses_new", webCb],
      ["ses_old", apiCb],
    ]);
  });

  test("--codebase NAME narrows to that codebase; the human form names each session", async () => {
    const r = await runCli(["sessions", "list", "--codebase", "web", "--json"], { env: env() });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).map((s: any) => s.id)).toEqual(["ses_new"]);
    const human = await runCli(["sessions", "list"], { env: env() });
    expect(human.code).toBe(0);
    const lines = human.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^ID\s+CODEBASE\s+UPDATED\s+MSGS\s+USAGE\s+TITLE$/);
    // usage where the worker reported it (tokens in + out, cost), a dash where not
    expect(lines.find((l) => l.includes("ses_new"))).toMatch(/\s1\.5k tok \$0\.02\s+Newer session$/);
    expect(lines.find((l) => l.includes("ses_old"))).toMatch(/\s—\s+Older session$/);
    expect(lines.findIndex((l) => l.includes("ses_new") && l.includes("Newer session"))).toBeLessThan(
      lines.findIndex((l) => l.includes("ses_old") && l.includes("Older session")),
    );
  });

  test("--limit N shows the newest N across codebases and says on stderr that more exist; --all shows all; both is a usage error", async () => {
    const one = await runCli(["sessions", "list", "--limit", "1", "--json"], { env: env() });
    expect(one.code).toBe(0);
    expect(JSON.parse(one.stdout).map((s: any) => s.id)).toEqual(["ses_new"]);
    expect(one.stderr).toBe("showing the newest 1; more exist (--limit N or --all)\n");
    const within = await runCli(["sessions", "list", "--codebase", "web", "--limit", "1", "--json"], { env: env() });
    expect({ code: within.code, stderr: within.stderr }).toEqual({ code: 0, stderr: "" }); // one session there: nothing more
    const all = await runCli(["sessions", "list", "--all", "--json"], { env: env() });
    expect({ code: all.code, stderr: all.stderr }).toEqual({ code: 0, stderr: "" });
    expect(JSON.parse(all.stdout)).toHaveLength(2);
    const both = await runCli(["sessions", "list", "--all", "--limit", "5"], { env: env() });
    expect(both.code).toBe(2);
    expect(both.stderr).toContain("--all and --limit: give one of them");
  });

  test("an unknown codebase fails (exit 1) naming it", async () => {
    const r = await runCli(["sessions", "list", "--codebase", "nope"], { env: env() });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("nope");
  });
});

describe("sessions show", () => {
  test("--json: the session with its codebase and its messages in order", async () => {
    const r = await runCli(["sessions", "show", "ses_new", "--json"], { env: env() });
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    const { session, messages } = JSON.parse(r.stdout);
    expect(session).toMatchObject({ id: "ses_new", title: "Newer session", codebase_id: webCb });
    expect(messages.map((m: any) => m.id)).toEqual(["msg_new_1", "msg_new_2"]);
  });

  test("the human form shows the conversation: text by role, one line per tool call", async () => {
    const r = await runCli(["sessions", "show", "ses_new"], { env: env() });
    expect(r.code).toBe(0);
    const out = r.stdout;
    expect(out).toContain("Newer session");
    expect(out).toContain("[user] write the file");
    expect(out).toMatch(/\[assistant\] tool write completed/);
    expect(out.indexOf("write the file")).toBeLessThan(out.indexOf("I wrote it."));
    expect(out).toContain("\nusage 1.5k tok $0.02\n");
    expect(out).toContain("\ntools write 1, bash 2 (1 failed)\n");
  });

  test("against a server without GET /v1/opencode/sessions/{sid} (an older one): found through the codebases' lists", async () => {
    let asked = 0;
    const older = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      async fetch(req) {
        const u = new URL(req.url);
        if (u.pathname.startsWith("/v1/opencode/sessions/")) {
          asked++;
          return Response.json({ error: "not_found", message: `no route GET ${u.pathname}` }, { status: 404 });
        }
        return fetch(server.url + u.pathname + u.search, { method: req.method, headers: req.headers, body: req.body });
      },
    });
    try {
      const r = await runCli(["sessions", "show", "ses_new", "--json"], { env: { ...env(), A2A_SERVER_URL: `http://127.0.0.1:${older.port}` } });
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
      expect(JSON.parse(r.stdout).session).toMatchObject({ id: "ses_new", codebase_id: webCb });
      expect(asked).toBe(1);
    } finally {
      older.stop(true);
    }
  });

  test("an unknown session: exit 1, one line naming it and the server", async () => {
    const r = await runCli(["sessions", "show", "ses_nowhere"], { env: env() });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`session ses_nowhere not found on ${server.url}`);
  });
});

describe("resuming a session", () => {
  test("sessions resume ID --prompt: a task on the session's codebase that continues it", async () => {
    const r = await runCli(["sessions", "resume", "ses_new", "--prompt", "and now the tests", "--json"], { env: env() });
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    const t = JSON.parse(r.stdout);
    expect(t).toMatchObject({
      codebase_id: webCb,
      prompt: "and now the tests",
      agent_type: "build",
      status: "pending",
      metadata: { resume_session_id: "ses_new" },
    });
  });

  test("task create --resume takes the session's codebase; a different --codebase is a usage error naming both", async () => {
    const ok = await runCli(["task", "create", "--resume", "ses_old", "--prompt", "more", "--agent", "echo"], { env: env() });
    expect({ code: ok.code, stderr: ok.stderr }).toEqual({ code: 0, stderr: "" });
    const t = await createApi(server.url).get(`${O}/tasks/${ok.stdout.trim()}`);
    expect(t.body).toMatchObject({ codebase_id: apiCb, agent_type: "echo", metadata: { resume_session_id: "ses_old" } });

    const clash = await runCli(["task", "create", "--resume", "ses_old", "--codebase", "web", "--prompt", "more"], { env: env() });
    expect(clash.code).toBe(2);
    expect(clash.stderr).toContain(`session ses_old belongs to codebase app (${apiCb}), not web; leave out --codebase`);
  });

  test("an unknown session, or neither --codebase nor --resume: one line, nothing created", async () => {
    const before = (await createApi(server.url).get(`${O}/tasks?limit=100`)).body.length;
    const unknown = await runCli(["sessions", "resume", "ses_gone", "--prompt", "x"], { env: env() });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain(`session ses_gone not found on ${server.url}`);
    const neither = await runCli(["task", "create", "--prompt", "x"], { env: env() });
    expect(neither.code).toBe(2);
    expect(neither.stderr).toContain("missing --codebase (or --resume SESSION");
    expect((await createApi(server.url).get(`${O}/tasks?limit=100`)).body.length).toBe(before);
  });
});
