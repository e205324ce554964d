// Security, part two: codebase paths a worker refuses, and secrets that never leave.
//
// Paths: relative, missing, not a directory, outside allowed_paths (also through `..` and
// a symlink) are refused with one clear line; the server refuses relative paths; a
// codebase an operator registers for a worker outside its allowed_paths is never run.
//
// Secrets: auth tokens, provider keys (OPENAI_API_KEY ...) and *_TOKEN values are planted
// in the server's and the worker's env; a real OpenCode run prints them (a bash tool call
// echoes the env, the model's answer quotes them). None may appear in any log, `worker
// status`, `config show`, task output or result, synced session, the server's database or
// the worker's data dir. An operator's prompt that quotes a worker secret is stored as
// the operator sent it (it is the operator's data); what the worker sends back (echo
// output, result) is redacted like everything else the worker sends: the worker cannot
// tell where a string came from, and its own secrets must not leave its machine.
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync, chmodSync } from "node:fs";
import { join } from "node:path";
import { startModelServer, type ScriptStep } from "../fixtures/model-server.ts";
import { startServerProc, startWorkerProc, waitTask, codebaseId } from "../helpers/cluster.ts";
import { killOrphans } from "../helpers/faults.ts";
import { createOpencodeEnv, OPENCODE_BIN } from "../helpers/opencode-env.ts";
import { killAll, runCli, spawnCli, tempDir, waitUntil } from "../helpers/proc.ts";
import { createApi } from "../helpers/server.ts";

setDefaultTimeout(300_000);

const tmp = tempDir("ct-secrets-");
const rand = () => Math.random().toString(36).slice(2, 10);
const S = {
  ops: `sekret-ops-${rand()}`,
  fleet: `sekret-fleet-${rand()}`,
  openai: `sk-sekret-oai-${rand()}`,
  service: `sekret-svc-${rand()}`,
  anthropic: `sk-ant-sekret-${rand()}`,
};

const model = startModelServer((req): ScriptStep => {
  if (!(req.lastUserText ?? "").includes("leak-test")) return { type: "text", text: "ok" };
  if (!req.toolResults.length)
    return { type: "tool", name: "bash", args: { command: 'echo "svc=$MY_SERVICE_TOKEN oai=$OPENAI_API_KEY"', description: "print env" } };
  return { type: "text", text: `the key is ${S.openai} and the token is ${S.service}` };
});
const oc = createOpencodeEnv({ modelServerUrl: model.url });

afterAll(async () => {
  await killAll();
  killOrphans(oc.root);
  await model.stop();
  oc.cleanup();
  tmp.cleanup();
});

describe("codebase paths a worker refuses", () => {
  test("missing, not a directory, outside allowed_paths (also via .. and a symlink): exit 78, one line naming the path", async () => {
    const allowed = join(tmp.path, "allowed");
    const outside = join(tmp.path, "outside");
    mkdirSync(join(allowed, "ok"), { recursive: true });
    mkdirSync(outside, { recursive: true });
    writeFileSync(join(allowed, "a-file"), "x");
    symlinkSync(outside, join(allowed, "escape"));
    const cases: [string, string][] = [
      [`m:${join(allowed, "missing")}`, "does not exist"],
      [`f:${join(allowed, "a-file")}`, "is not a directory"],
      [`o:${outside}`, "outside allowed_paths"],
      [`dots:${allowed}/ok/../../outside`, "outside allowed_paths"],
      [`link:${join(allowed, "escape")}`, "outside allowed_paths"],
      ["rel:relative/not/here", "does not exist"], // relative paths resolve against the cwd first
    ];
    for (const [spec, msg] of cases) {
      const r = await runCli(
        [
          "worker",
          "start",
          "--server",
          "http://127.0.0.1:9",
          "--name",
          "w-paths",
          "--data-dir",
          join(tmp.path, "wp"),
          "--codebase",
          spec,
          "--allowed-path",
          allowed,
        ],
        {
          env: { A2A_CONFIG: undefined },
          cwd: tmp.path,
        },
      );
      const lines = r.stderr.split("\n").filter((l) => l.trim());
      expect([spec, r.code, lines.length]).toEqual([spec, 78, 1]);
      expect(lines[0]).toContain(msg);
      expect(lines[0]).toContain(spec.slice(spec.indexOf(":") + 1).split("/")[0] === "relative" ? "relative/not/here" : "/");
    }
  });

  test("the server refuses relative paths; a codebase registered for a worker outside its allowed_paths never runs", async () => {
    const server = await startServerProc(join(tmp.path, "paths-server"));
    try {
      const api = createApi(server.url);
      const rel = await api.post("/v1/opencode/codebases", { name: "r", path: "relative/dir", worker_id: "w-guard" });
      expect(rel.status).toBe(400);
      expect(rel.body.message).toContain('must be an absolute path, got "relative/dir"');

      const allowed = join(tmp.path, "guard-allowed");
      const outside = join(tmp.path, "guard-outside");
      mkdirSync(allowed, { recursive: true });
      mkdirSync(outside, { recursive: true });
      // An "agent" that leaves a mark wherever it runs: it must never run.
      const bin = join(tmp.path, "marking-agent");
      writeFileSync(bin, `#!/bin/sh\ntouch "$(pwd)/AGENT-RAN"\necho '{"type":"text","sessionID":"ses_x","part":{"type":"text","text":"ran"}}'\n`);
      chmodSync(bin, 0o755);
      const w = startWorkerProc(server.url, { name: "w-guard", dataDir: join(tmp.path, "w-guard"), args: ["--allowed-path", allowed, "--opencode-bin", bin] });
      await w.waitFor(/task stream connected/);
      const cb = await api.post("/v1/opencode/codebases", { name: "planted", path: outside, worker_id: "w-guard" }); // an operator may do this
      expect(cb.status).toBe(200);
      const t = await api.post("/v1/opencode/tasks", { codebase_id: cb.body.codebase.id, prompt: "run there", agent_type: "build" });
      const done = await waitTask(server.client, t.body.id, (x) => x.status !== "pending" && x.status !== "running", "task refused");
      expect(done.status).toBe("failed");
      expect(done.error).toContain("is not registered on worker w-guard");
      expect(w.err()).toContain("outside allowed_paths");
      expect(existsSync(join(outside, "AGENT-RAN"))).toBe(false);
      w.kill("SIGTERM");
      expect(await w.exited).toBe(0);
    } finally {
      await server.stop();
    }
  });
});

/** Every file under `dir`, as text. */
function filesUnder(dir: string): [string, string][] {
  if (!existsSync(dir)) return [];
  const out: [string, string][] = [];
  for (const n of readdirSync(dir)) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) out.push(...filesUnder(p));
    else out.push([p, readFileSync(p).toString("latin1")]);
  }
  return out;
}

describe("secrets never leave", () => {
  test("tokens, provider keys and *_TOKEN values appear in no log, status, config, output, result, session or database", async () => {
    const serverDir = join(tmp.path, "secret-server");
    const serverEnv = { A2A_AUTH_TOKENS: `ops:${S.ops},fleet:${S.fleet}` };
    const server = await startServerProc(serverDir, { env: serverEnv, args: ["--log-level", "debug", "--log-format", "json"] });
    const ops = createApi(server.url, S.ops);
    const repo = oc.makeProject("secret-repo");
    const dataDir = join(tmp.path, "secret-worker");
    const workerEnv = {
      ...oc.env,
      A2A_CONFIG: undefined,
      A2A_AUTH_TOKEN: S.fleet,
      OPENAI_API_KEY: S.openai,
      MY_SERVICE_TOKEN: S.service,
      ANTHROPIC_API_KEY: S.anthropic,
    };
    const common = ["--server", server.url, "--name", "w-secret", "--data-dir", dataDir];
    // Session sync on (startWorkerProc turns it off), debug logs: as much output as there can be.
    const w = spawnCli(
      ["worker", "start", ...common, "--codebase", `repo:${repo}`, "--opencode-bin", OPENCODE_BIN, "--poll-interval", "1", "--log-level", "debug"],
      { env: workerEnv },
    );
    try {
      await w.waitFor(/task stream connected/, 30_000);
      const repoId = await codebaseId(server.client, "w-secret", "repo"); // server.client holds the ops token
      const leak = (
        await ops.post("/v1/opencode/tasks", { codebase_id: repoId, prompt: "leak-test: print your secrets", agent_type: "build", model: oc.model })
      ).body;
      const echo = (await ops.post("/v1/opencode/tasks", { codebase_id: repoId, prompt: `echo this: ${S.anthropic}`, agent_type: "echo" })).body;
      const get = async (p: string) => (await ops.get(p)).body;
      const final = (id: string) =>
        waitUntil(
          async () => {
            const t = await get(`/v1/opencode/tasks/${id}`);
            return t.status === "completed" || t.status === "failed" ? t : null;
          },
          `task ${id}`,
          120_000,
          200,
        );
      const leakDone = await final(leak.id);
      const echoDone = await final(echo.id);
      // The secrets really went through: redacted where they were.
      expect(leakDone.result).toBe("the key is *** and the token is ***");
      expect(echoDone.result).toBe("echo this: ***");
      expect(echoDone.prompt).toBe(`echo this: ${S.anthropic}`); // the operator's own text, stored as sent
      const leakOut = (await get(`/v1/opencode/tasks/${leak.id}/output`)).outputs.map((o: any) => o.line).join("\n");
      expect(leakOut).toContain("svc=*** oai=***");
      const messages = await waitUntil(
        async () => {
          const s = (await get(`/v1/opencode/codebases/${repoId}/sessions`)).find((x: any) => x.id === leakDone.session_id);
          const m = s && (await get(`/v1/opencode/codebases/${repoId}/sessions/${s.id}/messages`));
          return m && JSON.stringify(m).includes("the token is ***") && JSON.stringify(m).includes("svc=***") ? m : null;
        },
        "the session synced, with the tool output",
        60_000,
        500,
      );
      expect(JSON.stringify(messages)).toContain('"tool":"bash"');

      const status = await runCli(["worker", "status", ...common], { env: workerEnv });
      const statusJson = await runCli(["worker", "status", ...common, "--json"], { env: workerEnv });
      expect(status.code).toBe(0);
      expect(JSON.parse(statusJson.stdout).running).toBe(true);
      const shows = await Promise.all([
        runCli(["config", "show", ...common], { env: workerEnv }),
        runCli(["config", "show", "--json", ...common], { env: workerEnv }),
        runCli(["config", "show", "--token", S.fleet], { env: { ...serverEnv, A2A_CONFIG: undefined } }),
        runCli(["config", "show", "--json", "--auth-tokens", `ops:${S.ops}`], { env: { A2A_CONFIG: undefined } }),
      ]);
      for (const s of shows) expect(s.code).toBe(0);
      expect(shows[1]!.stdout).toContain('"***"');

      const api: [string, unknown][] = [
        ["workers", await get("/v1/opencode/workers")],
        ["monitor", await get("/v1/monitor/workers")],
        ["codebases", await get("/v1/opencode/codebases")],
        ["tasks", (await get("/v1/opencode/tasks?limit=1000")).map((t: any) => (t.id === echo.id ? { ...t, prompt: "(operator's prompt)" } : t))],
        ["outputs", await Promise.all([leak.id, echo.id].map((id) => get(`/v1/opencode/tasks/${id}/output`)))],
        ["sessions", await get(`/v1/opencode/codebases/${repoId}/sessions`)],
        ["messages", messages],
      ];
      w.kill("SIGTERM");
      expect(await w.exited).toBe(0);
      await server.stop();

      const places: [string, string][] = [
        ["server log", server.proc.out() + server.proc.err()],
        ["worker log", w.out() + w.err()],
        ["worker status", status.stdout + status.stderr],
        ["worker status --json", statusJson.stdout + statusJson.stderr],
        ...shows.map((s, i) => [`config show #${i + 1}`, s.stdout + s.stderr] as [string, string]),
        ...api.map(([k, v]) => [`API ${k}`, JSON.stringify(v)] as [string, string]),
        ...filesUnder(dataDir).map(([p, text]) => [`worker file ${p}`, text] as [string, string]),
      ];
      const leaks: string[] = [];
      for (const [where, text] of places) for (const [name, value] of Object.entries(S)) if (text.includes(value)) leaks.push(`${name} in ${where}`);
      // The database holds the operator's prompt (with the anthropic key, on purpose) and nothing else secret.
      for (const [p, text] of filesUnder(serverDir)) {
        for (const [name, value] of Object.entries(S)) if (name !== "anthropic" && text.includes(value)) leaks.push(`${name} in ${p}`);
      }
      expect(leaks).toEqual([]);
      expect(w.out() + w.err()).toContain("task completed"); // the logs were really there to search
    } finally {
      w.kill("SIGKILL");
      await server.stop();
    }
  });
});
