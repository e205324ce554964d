// The worker's periodic session sync (every session_sync_interval), on its own: a session
// OpenCode recorded outside any task (someone ran `opencode` in the codebase by hand)
// reaches the server with no task to trigger an after-task sync.
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { startModelServer } from "../fixtures/model-server.ts";
import { codebaseId, startServerProc, startWorkerProc } from "../helpers/cluster.ts";
import { killOrphans, logsOf } from "../helpers/faults.ts";
import { createOpencodeEnv, OPENCODE_BIN } from "../helpers/opencode-env.ts";
import { killAll, tempDir, waitUntil } from "../helpers/proc.ts";

setDefaultTimeout(240_000);

const tmp = tempDir("ct-sync-loop-");
const model = startModelServer(() => ({ type: "text", text: "answered by hand" }));
const oc = createOpencodeEnv({ modelServerUrl: model.url });
afterAll(async () => {
  await killAll();
  killOrphans(oc.root);
  await model.stop();
  oc.cleanup();
  tmp.cleanup();
});

describe("periodic session sync", () => {
  test("a session made outside any task is uploaded by the next round of the loop", async () => {
    const repo = oc.makeProject("by-hand");
    // OpenCode's first start creates its database; do that before the worker reads it.
    expect((await opencodeByHand(oc.makeProject("warm-up"), "warm up")).code).toBe(0);
    const server = await startServerProc(join(tmp.path, "server"));
    try {
      // Sync on (off by default in tests), a short interval.
      const w = startWorkerProc(server.url, {
        name: "w-sync",
        dataDir: join(tmp.path, "w-sync"),
        codebases: [`repo:${repo}`],
        env: oc.env,
        syncSessions: true,
        args: ["--opencode-bin", OPENCODE_BIN, "--session-sync-interval", "2", "--log-format", "json"],
      });
      await w.waitFor(/task stream connected/, 30_000);
      const repoId = await codebaseId(server.client, "w-sync", "repo");
      // The start-up round uploads the warm-up session (to global: it is in no codebase).
      await waitUntil(() => logsOf(w, "sessions synced").length > 0, "the start-up round", 60_000);
      expect(await server.client.listSessions(repoId)).toEqual([]);

      // OpenCode run by hand in the codebase: no task, so no after-task sync; only the loop can send it.
      const { code, out } = await opencodeByHand(repo, "say something");
      expect(code).toBe(0);
      const sessionId = /"sessionID":"(ses_[^"]+)"/.exec(out)?.[1];
      expect(sessionId).toBeDefined();

      const s = await waitUntil(
        async () => (await server.client.listSessions(repoId)).find((x) => x.id === sessionId),
        "the hand-made session on the server",
        60_000,
        200,
      );
      expect(s.task_id ?? null).toBeNull();
      // Its messages, with the model's answer, follow (in the same round or the next).
      await waitUntil(
        async () => JSON.stringify(await server.client.listMessages(repoId, sessionId!)).includes("answered by hand"),
        "the answer synced",
        30_000,
        200,
      );
      expect(logsOf(w, "sessions synced").length).toBeGreaterThanOrEqual(1);
      expect(logsOf(w, "task claimed")).toEqual([]); // no task was involved
      w.kill("SIGTERM");
      expect(await w.exited).toBe(0);
    } finally {
      await server.stop();
    }
  });
});

async function opencodeByHand(cwd: string, prompt: string) {
  const p = Bun.spawn([OPENCODE_BIN, "run", "--format", "json", "-m", oc.model, prompt], {
    cwd,
    // PWD too: OpenCode takes the session's directory from it, as from a user's shell.
    env: { ...process.env, ...oc.env, PWD: cwd } as Record<string, string>,
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) console.warn(`opencode by hand exited ${code}: ${err.slice(-500)}`);
  return { out, code };
}
