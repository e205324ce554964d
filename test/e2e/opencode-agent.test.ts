// The agent process against the real OpenCode CLI (opencode-ai devDependency) and the
// scripted model server: nothing here pretends OpenCode ran.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { findOpencode, killAllOpencode, opencodeNotFoundMessage, runOpencode, type RunOpencodeOptions } from "../../src/opencode/index.ts";
import { Database } from "bun:sqlite";
import { opencodeDbPath } from "../../src/opencode/env.ts";
import { startModelServer, type RecordedRequest } from "../fixtures/model-server.ts";
import { createOpencodeEnv, OPENCODE_BIN, processesUnder, waitUntil, type OpencodeEnv } from "../helpers/opencode-env.ts";

const ms = startModelServer();
let oe: OpencodeEnv;

beforeAll(() => {
  oe = createOpencodeEnv({ modelServerUrl: ms.url });
});
afterAll(async () => {
  await ms.stop();
  oe.cleanup();
});

function run(cwd: string, prompt: string, extra: Partial<RunOpencodeOptions> = {}) {
  const lines: { line: string; stream: string }[] = [];
  const p = runOpencode({
    bin: OPENCODE_BIN,
    cwd,
    agent: "build",
    prompt,
    env: oe.env,
    timeoutMs: 120_000,
    onLine: (line, stream) => lines.push({ line, stream }),
    ...extra,
  });
  return { p, lines };
}

/** pids whose command line contains `marker` (Linux /proc). */
function processesWith(marker: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${d}/cmdline`, "utf8").includes(marker)) out.push(Number(d));
    } catch {}
  }
  return out;
}

describe("runOpencode with the real opencode", () => {
  test("a write-tool task creates the file in the codebase; result is the final text", async () => {
    const cwd = oe.makeProject("write");
    ms.setScript([
      { type: "tool", name: "write", args: { filePath: "hello.txt", content: "hi there\n" } },
      { type: "text", text: "I wrote hello.txt" },
    ]);
    const before = ms.chatRequests().length;
    // quotes, a newline and shell syntax: the prompt must reach the model verbatim
    const prompt = 'Create "hello.txt"\nwith $HOME and `backticks`';
    const { p, lines } = run(cwd, prompt);
    const r = await p;
    expect(r.error).toBeNull();
    expect(r.status).toBe("completed");
    expect(r.result).toBe("I wrote hello.txt");
    expect(r.exitCode).toBe(0);
    expect(r.sessionId).toMatch(/^ses_/);
    expect(r.toolsUsed).toEqual(["write"]);
    expect(readFileSync(join(cwd, "hello.txt"), "utf8")).toBe("hi there\n");
    const chats = ms.chatRequests().slice(before);
    expect(chats.length).toBe(2);
    expect(chats[0]!.lastUserText).toBe(prompt);
    expect(chats[1]!.toolResults[0]?.content).toContain("Wrote file successfully");
    const events = lines.filter((l) => l.stream === "stdout").map((l) => JSON.parse(l.line).type);
    expect(events).toContain("tool_use");
    expect(events).toContain("text");
    // offline: OpenCode did not npm-install anything (provider package is bundled, config dir stubbed)
    expect(existsSync(join(oe.env.HOME!, ".npm"))).toBe(false);
    expect(readdirSync(join(oe.configDir, "node_modules"))).toEqual([]);
  }, 120_000);

  test("HTTP 401 from the provider -> failed with the provider's message and a hint", async () => {
    const cwd = oe.makeProject("unauthorized");
    ms.setScript([{ type: "error", status: 401, message: "Incorrect API key provided: test-key", code: "invalid_api_key" }]);
    const r = await run(cwd, "hello").p;
    expect(r.status).toBe("failed");
    expect(r.error).toContain("Incorrect API key provided: test-key");
    expect(r.error).toContain("HTTP 401");
    expect(r.error).toContain("opencode auth login");
    expect(r.result).toBeNull();
  }, 120_000);

  test("a provider that refuses connections -> stopped early, failed naming the provider and what to check", async () => {
    // A port that was just open and is now closed: connections to it are refused.
    const gone = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("") });
    const url = `http://127.0.0.1:${gone.port}`;
    gone.stop(true);
    const dead = createOpencodeEnv({ modelServerUrl: url, providerId: "deadprov", modelId: "m1" });
    try {
      const cwd = dead.makeProject("refused");
      // OpenCode alone would retry for ever: only the early stop ends this before the test's own timeout.
      const { p, lines } = run(cwd, "hello", { env: dead.env, model: dead.model, timeoutMs: 3_600_000 });
      const r = await p;
      expect(r.status).toBe("failed");
      expect(r.error).toStartWith("cannot reach deadprov/m1: ");
      expect(r.error).toContain("Cannot connect to API");
      expect(r.error).toContain('OpenCode could not reach model provider "deadprov"');
      expect(r.error).toContain("opencode auth login");
      expect(lines.filter((l) => l.line.includes('message="stream error"')).length).toBeGreaterThanOrEqual(2);
      expect(processesUnder(cwd)).toEqual([]);
    } finally {
      dead.cleanup();
    }
  }, 300_000);

  test("an unknown model -> failed naming the model and what to configure", async () => {
    const cwd = oe.makeProject("nomodel");
    const r = await run(cwd, "hello", { model: "nosuchprovider/nosuchmodel" }).p;
    expect(r.status).toBe("failed");
    expect(r.error).toContain("Model not found: nosuchprovider/nosuchmodel");
    expect(r.error).toContain("ANTHROPIC_API_KEY");
  }, 120_000);

  test("a run that ends without text -> failed, not completed", async () => {
    const cwd = oe.makeProject("empty");
    ms.setScript([{ type: "text", text: "" }]);
    const r = await run(cwd, "say nothing").p;
    expect(r.status).toBe("failed");
    expect(r.error).toBe("opencode produced no text answer");
  }, 120_000);

  test("a permission OpenCode would ask for is auto-rejected and explained; autoApprove allows it", async () => {
    const cwd = oe.makeProject("perm");
    const outside = join(oe.root, "outside.txt");
    const env = { ...oe.env, OPENCODE_CONFIG_CONTENT: JSON.stringify({ permission: { external_directory: "ask" } }) };
    const script = () => [
      { type: "tool" as const, name: "write", args: { filePath: outside, content: "x\n" } },
      { type: "text" as const, text: "wrote outside" },
    ];
    ms.setScript(script());
    const denied = await run(cwd, "write outside", { env }).p;
    expect(denied.status).toBe("failed");
    expect(denied.error).toContain("auto-rejected a permission request (external_directory");
    expect(existsSync(outside)).toBe(false);

    ms.setScript(script());
    const allowed = await run(cwd, "write outside", { env, autoApprove: true }).p;
    expect(allowed.status).toBe("completed");
    expect(allowed.result).toBe("wrote outside");
    expect(existsSync(outside)).toBe(true);
  }, 180_000);

  test("timeout stops opencode and leaves nothing running in the codebase", async () => {
    const cwd = oe.makeProject("timeout");
    // The model never answers: only the deadline can end the run (no wall-clock assertion;
    // the run ending at all, as "timeout", is what shows the deadline fired).
    ms.setScript([{ type: "hang" }]);
    const r = await run(cwd, "hang please", { timeoutMs: 15_000, killGraceMs: 3_000 }).p;
    expect(r.status).toBe("timeout");
    expect(r.error).toContain("timed out after 15s");
    expect(await waitUntil(() => processesUnder(cwd).length === 0, 10_000)).toBe(true);
  }, 120_000);

  test("abort -> cancelled; the tool's own process (setsid'd by opencode) is killed too", async () => {
    const cwd = oe.makeProject("cancel");
    const marker = `ct-sleep-marker-${process.pid}-${Date.now()}`;
    ms.setScript([
      { type: "tool", name: "bash", args: { command: `bash -c 'exec -a ${marker} sleep 300'`, description: "sleep a while", timeout: 600_000 } },
      { type: "text", text: "never reached" },
    ]);
    const ac = new AbortController();
    const { p } = run(cwd, "sleep", { signal: ac.signal, killGraceMs: 3_000 });
    expect(await waitUntil(() => processesWith(marker).length > 0, 90_000)).toBe(true);
    ac.abort();
    const r = await p;
    expect(r.status).toBe("cancelled");
    expect(r.sessionId).toMatch(/^ses_/);
    expect(await waitUntil(() => processesWith(marker).length === 0, 10_000)).toBe(true);
    expect(await waitUntil(() => processesUnder(cwd).length === 0, 10_000)).toBe(true);
  }, 120_000);

  test("killAllOpencode (worker shutdown) stops every run in progress", async () => {
    const cwd = oe.makeProject("killall");
    ms.setScript([{ type: "hang" }]);
    const { p } = run(cwd, "hang");
    // the run is in the registry from its spawn on; wait until opencode is really up
    expect(await waitUntil(() => processesUnder(cwd).length > 0, 60_000)).toBe(true);
    expect(killAllOpencode()).toBe(1);
    const r = await p;
    expect(r.status).toBe("failed");
    expect(r.error).toContain("killed by SIGKILL");
    expect(await waitUntil(() => processesUnder(cwd).length === 0, 10_000)).toBe(true);
    expect(killAllOpencode()).toBe(0);
  }, 120_000);

  test("an abort before the start never spawns opencode", async () => {
    const ac = new AbortController();
    ac.abort();
    const r = await run(oe.makeProject("pre-abort"), "x", { signal: ac.signal }).p;
    expect(r).toMatchObject({ status: "cancelled", attempts: 0 });
  });

  test("--session continues the same session with its history", async () => {
    const cwd = oe.makeProject("resume");
    ms.setScript([{ type: "text", text: "noted the word" }]);
    const first = await run(cwd, "remember the word PINEAPPLE").p;
    expect(first.status).toBe("completed");
    ms.setScript([{ type: "echo", prefix: "second: " }]);
    const before = ms.chatRequests().length;
    const second = await run(cwd, "which word?", { sessionId: first.sessionId }).p;
    expect(second.status).toBe("completed");
    expect(second.sessionId).toBe(first.sessionId);
    expect(second.result).toBe("second: which word?");
    const req = ms.chatRequests()[before] as RecordedRequest;
    const history = JSON.stringify(req.body.messages);
    expect(history).toContain("remember the word PINEAPPLE");
    expect(history).toContain("noted the word");
  }, 180_000);

  test("resuming an unknown session fails clearly", async () => {
    const r = await run(oe.makeProject("bad-resume"), "x", { sessionId: "ses_doesnotexist" }).p;
    expect(r.status).toBe("failed");
    expect(r.error).toBe("opencode: session ses_doesnotexist not found, cannot resume it");
  }, 120_000);
});

describe("concurrency", () => {
  test("3 concurrent runs on a fresh OpenCode database all complete", async () => {
    // Fresh data dir: the case where OpenCode's migrations race (SQLITE_BUSY / "database is
    // locked" / "Failed query: CREATE TABLE") without the start-up gate in runOpencode.
    const fresh = createOpencodeEnv({ modelServerUrl: ms.url });
    try {
      ms.setScript((req) => {
        const n = /task (\d)/.exec(req.lastUserText ?? "")?.[1] ?? "x";
        return req.toolResults.length === 0
          ? { type: "tool", name: "write", args: { filePath: `out-${n}.txt`, content: `task ${n}\n` } }
          : { type: "text", text: `done ${n}` };
      });
      const dirs = [0, 1, 2].map((i) => fresh.makeProject(`c${i}`));
      const results = await Promise.all(
        dirs.map((cwd, i) =>
          runOpencode({ bin: OPENCODE_BIN, cwd, agent: "build", prompt: `task ${i}`, env: fresh.env, timeoutMs: 150_000, onLine: () => {} }),
        ),
      );
      results.forEach((r, i) => {
        expect({ i, status: r.status, error: r.error }).toEqual({ i, status: "completed", error: null });
        expect(r.result).toBe(`done ${i}`);
        expect(readFileSync(join(dirs[i]!, `out-${i}.txt`), "utf8")).toBe(`task ${i}\n`);
      });
      expect(new Set(results.map((r) => r.sessionId)).size).toBe(3);
    } finally {
      fresh.cleanup();
    }
  }, 240_000);

  test("a database lock at start-up is retried: the run starts again and completes in the same codebase", async () => {
    // Another process holds OpenCode's database (as a concurrent first start does while it
    // migrates): OpenCode fails before any step with "Failed query" / "database is locked".
    // The lock is released when our retry line appears, so the second start gets the db.
    const dbPath = await opencodeDbPath(OPENCODE_BIN, oe.env);
    expect(dbPath).not.toBeNull();
    const holder = new Database(dbPath!);
    holder.run("BEGIN EXCLUSIVE");
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      holder.run("COMMIT");
      holder.close();
    };
    try {
      const cwd = oe.makeProject("dblock");
      ms.setScript([
        { type: "tool", name: "write", args: { filePath: "after-lock.txt", content: "ok\n" } },
        { type: "text", text: "written after the lock" },
      ]);
      const before = ms.chatRequests().length;
      const { p, lines } = run(cwd, "write after-lock.txt", {
        onLine: (line, stream) => {
          lines.push({ line, stream });
          if (line.includes("hit a database lock while starting")) release();
        },
      });
      const r = await p;
      expect({ status: r.status, error: r.error }).toEqual({ status: "completed", error: null });
      expect(r.attempts).toBe(2);
      expect(r.result).toBe("written after the lock");
      expect(readFileSync(join(cwd, "after-lock.txt"), "utf8")).toBe("ok\n");
      // The first start failed on the db, before reaching the model: the model saw one run only.
      expect(lines.some((l) => l.stream === "stderr" && /Failed query|database is locked/i.test(l.line))).toBe(true);
      expect(lines.filter((l) => l.line.includes("retrying (1/")).length).toBe(1);
      expect(ms.chatRequests().length - before).toBe(2);
    } finally {
      release();
    }
  }, 180_000);
});

describe("finding opencode", () => {
  test("opencode_bin wins; a wrong one is not silently replaced", () => {
    expect(findOpencode(OPENCODE_BIN)).toBe(OPENCODE_BIN);
    expect(findOpencode("/nonexistent/opencode")).toBeNull();
    expect(findOpencode("no-such-opencode-name", { PATH: "/usr/bin:/bin" })).toBeNull();
  });

  test("PATH, then the usual install places", () => {
    const binDir = join(OPENCODE_BIN, "..");
    expect(findOpencode(undefined, { PATH: `/nonexistent:${binDir}`, HOME: "/nonexistent-home" })).toBe(OPENCODE_BIN);
    expect(findOpencode("opencode", { PATH: binDir })).toBe(OPENCODE_BIN);
    const home = join(oe.root, "fakehome");
    mkdirSync(join(home, ".opencode", "bin"), { recursive: true });
    symlinkSync(OPENCODE_BIN, join(home, ".opencode", "bin", "opencode"));
    expect(findOpencode(undefined, { PATH: "/nonexistent", HOME: home })).toBe(join(home, ".opencode", "bin", "opencode"));
  });

  test("a missing binary fails the run with a message naming opencode_bin and where we looked", async () => {
    const cwd = oe.makeProject("nobin");
    const notFound = await runOpencode({ bin: null, cwd, agent: "build", prompt: "x", timeoutMs: 5000, onLine: () => {} });
    expect(notFound.status).toBe("failed");
    expect(notFound.error).toContain("opencode_bin");
    expect(notFound.error).toContain(".opencode/bin/opencode");
    const wrong = await runOpencode({ bin: "/nonexistent/opencode", cwd, agent: "build", prompt: "x", timeoutMs: 5000, onLine: () => {} });
    expect(wrong.status).toBe("failed");
    expect(wrong.error).toContain("cannot run opencode at /nonexistent/opencode (ENOENT)");
    expect(wrong.error).toContain("opencode_bin");
    expect(opencodeNotFoundMessage("/x/opencode")).toContain("opencode_bin=/x/opencode");
  });
});
