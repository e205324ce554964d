// R6: the worker is killed after its task finished but before the report reached the
// server. For real: the server goes away while a real OpenCode run is under way, the run
// ends, the report sits in the worker's spool, the worker is SIGKILLed; then the server
// comes back and the worker is started again: the spooled report is delivered, once.
import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { startModelServer, type ScriptStep } from "../fixtures/model-server.ts";
import { startServerProc, startWorkerProc, waitTask, type ServerProc } from "../helpers/cluster.ts";
import { FAULT_STORES, faultSkip, killOrphans, logsOf, portOf } from "../helpers/faults.ts";
import { createOpencodeEnv, OPENCODE_BIN } from "../helpers/opencode-env.ts";
import { freshDatabase } from "../helpers/pg.ts";
import { killAll, tempDir, waitUntil } from "../helpers/proc.ts";
import { spoolDir } from "../../src/worker/spool.ts";
import { describeUnless } from "../helpers/skip.ts";

setDefaultTimeout(240_000);

const tmp = tempDir("ct-r6-");
const runs = new Map<string, number>();
// About 3 s of answer: long enough to take the server down while OpenCode waits for it.
const model = startModelServer((req): ScriptStep => {
  const m = (req.lastUserText ?? "").match(/r6-task-(\w+)/);
  if (!m) return { type: "text", text: "ok" };
  runs.set(m[1]!, (runs.get(m[1]!) ?? 0) + 1);
  return { type: "slow", text: `r6 done ${m[1]}`, delayMs: 1000, chunks: 3 };
});
const envs: ReturnType<typeof createOpencodeEnv>[] = [];

afterAll(async () => {
  await killAll();
  for (const e of envs) killOrphans(e.root);
  await model.stop();
  for (const e of envs) e.cleanup();
  tmp.cleanup();
});

const reports = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((n) => n.endsWith(".json")) : []);

for (const kind of FAULT_STORES) {
  describeUnless(faultSkip(kind), `R6 worker killed with its report in the spool [${kind}]`, () => {
    test("after server and worker restarts the spooled report is delivered, once", async () => {
      const db = kind === "postgres" ? await freshDatabase() : undefined;
      const dir = join(tmp.path, kind, "server");
      // The lease outlasts the outage plus the restarts: the spool can only help while the attempt is still current.
      const sargs = ["--lease-seconds", "30", "--heartbeat-interval", "1", "--log-format", "json"];
      let server: ServerProc = await startServerProc(dir, { databaseUrl: db?.url, args: sargs });
      const port = portOf(server.url);
      try {
        const oc = createOpencodeEnv({ modelServerUrl: model.url });
        envs.push(oc);
        const name = `r6-w-${kind}`;
        const dataDir = join(tmp.path, kind, "w");
        const wopts = { name, dataDir, env: oc.env, args: ["--opencode-bin", OPENCODE_BIN, "--log-format", "json"] };
        const w1 = startWorkerProc(server.url, wopts);
        await w1.waitFor(/task stream connected/, 30_000);
        const task = await server.client.createTask({ codebase_id: "global", prompt: `r6-task-${kind}`, agent_type: "build", model: oc.model });
        await waitUntil(() => runs.get(kind) === 1, "OpenCode in its model call", 90_000);

        // The server goes away while the agent is still answering...
        server.proc.kill("SIGKILL");
        await server.proc.exited;
        // ...the run ends and its report is spooled (and cannot be delivered)...
        const spool = spoolDir(dataDir, name);
        const [file] = await waitUntil(() => (reports(spool).length ? reports(spool) : null), "the report in the spool", 60_000, 100);
        const spooled = JSON.parse(readFileSync(join(spool, file!), "utf8"));
        expect(spooled).toMatchObject({ task_id: task.id, attempt: 1, status: "completed", result: `r6 done ${kind}` });
        // ...and the worker dies with it there.
        w1.kill("SIGKILL");
        await w1.exited;
        killOrphans(oc.root);
        expect(reports(spool)).toEqual([file]);

        server = await startServerProc(dir, { port, databaseUrl: db?.url, args: sargs });
        expect((await server.client.getTask(task.id)).status).toBe("running");
        const w2 = startWorkerProc(server.url, wopts);
        const done = await waitTask(server.client, task.id, (t) => t.status !== "running", "spooled report delivered", 60_000);
        expect(done).toMatchObject({ status: "completed", attempt: 1, worker_id: name, result: `r6 done ${kind}`, error: null });
        await waitUntil(() => reports(spool).length === 0, "spool emptied", 10_000);
        expect(logsOf(w2, "delivering spooled report", task.id)).toHaveLength(1);
        expect(logsOf(server.proc, "task completed", task.id)).toHaveLength(1);
        expect(runs.get(kind)).toBe(1); // delivered, not re-run
        w2.kill("SIGTERM");
        expect(await w2.exited).toBe(0);

        // Once: another restart has nothing left to deliver and the task stays as it was.
        const w3 = startWorkerProc(server.url, wopts);
        await w3.waitFor(/task stream connected/, 30_000);
        expect(logsOf(w3, "delivering spooled report")).toEqual([]);
        expect(await server.client.getTask(task.id)).toEqual(done);
        w3.kill("SIGTERM");
        expect(await w3.exited).toBe(0);
      } finally {
        await server.stop();
        await db?.drop();
      }
    });
  });
}
