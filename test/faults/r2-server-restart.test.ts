// R2: the server SIGKILLed in the middle of a real OpenCode run and started again on the
// same port with the same store, after longer than a lease. The worker keeps the agent
// running, reconnects, delivers every output line and the final state; the task is
// neither lost nor run twice.
import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { startModelServer, type ScriptStep } from "../fixtures/model-server.ts";
import { startServerProc, startWorkerProc, waitTask, type ServerProc } from "../helpers/cluster.ts";
import { FAULT_STORES, faultSkip, killOrphans, logsOf, portOf } from "../helpers/faults.ts";
import { createOpencodeEnv, OPENCODE_BIN } from "../helpers/opencode-env.ts";
import { freshDatabase } from "../helpers/pg.ts";
import { killAll, tempDir, waitUntil } from "../helpers/proc.ts";
import { describeUnless } from "../helpers/skip.ts";

setDefaultTimeout(240_000);

/**
 * Long enough that a heartbeat delayed on a busy machine (two shared cores) cannot cost the
 * live worker its lease (one failure was seen with 3 s: attempt 2 after the outage).
 */
const LEASE_S = 10;
/** Longer than the lease: the restarted server must not take the task away from its live worker. */
const DOWN_MS = 12_000;

const tmp = tempDir("ct-r2-");
const runs = new Map<string, number>(); // marker -> chat requests
// Three model turns: a bash call that prints "before", a bash call that sleeps through the
// outage and then prints "after", the final text.
const model = startModelServer((req): ScriptStep => {
  const m = (req.lastUserText ?? "").match(/r2-task-(\w+)/);
  if (!m) return { type: "text", text: "ok" };
  runs.set(m[1]!, (runs.get(m[1]!) ?? 0) + 1);
  const k = m[1]!;
  switch (req.toolResults.length) {
    case 0:
      return { type: "tool", name: "bash", args: { command: `echo r2-before-${k}`, description: "say before" } };
    case 1:
      return { type: "tool", name: "bash", args: { command: `sleep ${(DOWN_MS + 3000) / 1000} && echo r2-after-${k}`, description: "outlast the outage" } };
    default:
      return { type: "text", text: `r2 done ${k}` };
  }
});
const envs: ReturnType<typeof createOpencodeEnv>[] = [];

afterAll(async () => {
  await killAll();
  for (const e of envs) killOrphans(e.root);
  await model.stop();
  for (const e of envs) e.cleanup();
  tmp.cleanup();
});

for (const kind of FAULT_STORES) {
  describeUnless(faultSkip(kind, true), `R2 server SIGKILLed and restarted mid-task [${kind}]`, () => {
    test("the worker keeps the agent running, reconnects, delivers all output and the final state once", async () => {
      const db = kind === "postgres" ? await freshDatabase() : undefined;
      const dir = join(tmp.path, kind, "server");
      const sargs = ["--lease-seconds", String(LEASE_S), "--heartbeat-interval", "1", "--log-format", "json"];
      let server: ServerProc = await startServerProc(dir, { databaseUrl: db?.url, args: sargs });
      try {
        const oc = createOpencodeEnv({ modelServerUrl: model.url });
        envs.push(oc);
        const name = `r2-w-${kind}`;
        const w = startWorkerProc(server.url, {
          name,
          dataDir: join(tmp.path, kind, "w"),
          env: oc.env,
          args: ["--opencode-bin", OPENCODE_BIN, "--log-format", "json"],
        });
        await w.waitFor(/task stream connected/, 30_000);

        const task = await server.client.createTask({
          codebase_id: "global",
          prompt: `r2-task-${kind}: run two commands`,
          agent_type: "build",
          model: oc.model,
        });
        const hasLine = async (s: string) => (await server.client.getOutput(task.id)).outputs.some((o) => o.line.includes(s));
        await waitUntil(() => hasLine(`r2-before-${kind}`), "the first command's output on the server", 90_000, 200);
        await waitUntil(() => runs.get(kind) === 2, "OpenCode in its second (sleeping) command", 30_000);

        const first = server;
        first.proc.kill("SIGKILL");
        await first.proc.exited;
        await Bun.sleep(DOWN_MS); // the outage itself: a fixed length is the point here
        server = await startServerProc(dir, { port: portOf(first.url), databaseUrl: db?.url, args: sargs });
        expect(server.url).toBe(first.url);

        const done = await waitTask(server.client, task.id, (t) => t.status !== "pending" && t.status !== "running", "task finished", 120_000);
        expect(done).toMatchObject({ status: "completed", attempt: 1, worker_id: name, result: `r2 done ${kind}`, error: null });

        // All output, each line once, numbered without gaps, all from the one attempt.
        const out = (await server.client.getOutput(task.id)).outputs;
        expect(out.map((o) => o.seq)).toEqual(out.map((_, i) => i));
        expect(new Set(out.map((o) => o.attempt))).toEqual(new Set([1]));
        expect(new Set(out.map((o) => o.line)).size).toBe(out.length);
        expect(out.some((o) => o.line.includes(`r2-before-${kind}`))).toBe(true);
        expect(out.some((o) => o.line.includes(`r2-after-${kind}`))).toBe(true);
        expect(out.some((o) => o.line.includes(`r2 done ${kind}`))).toBe(true);

        // One OpenCode run (three model turns), never restarted; the worker process never exited.
        expect(runs.get(kind)).toBe(3);
        expect(w.proc.exitCode).toBeNull();
        expect(logsOf(w, "task lease lost; result dropped")).toEqual([]);
        expect(logsOf(w, "task completed", task.id)).toHaveLength(1);
        expect(logsOf(server.proc, "task requeued", task.id)).toEqual([]);
        expect(logsOf(server.proc, "task completed", task.id)).toHaveLength(1);
        expect((await server.client.listTasks({ limit: 100 })).map((t) => t.id)).toEqual([task.id]);

        // And it keeps working: a new task after the restart completes on the same worker process.
        const next = await server.client.createTask({ codebase_id: "global", prompt: "after the restart", agent_type: "echo", target_worker_id: name });
        expect((await waitTask(server.client, next.id, (t) => t.status === "completed", "new task completed", 60_000)).result).toBe("after the restart");
        w.kill("SIGTERM");
        expect(await w.exited).toBe(0);
      } finally {
        await server.stop();
        await db?.drop();
      }
    });
  });
}
