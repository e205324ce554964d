// R1: a worker SIGKILLed in the middle of a real OpenCode run. The task goes back to
// pending when its lease runs out, another worker completes it, exactly one final result
// is accepted, and every late call of the dead attempt gets 409 and changes nothing.
import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { startModelServer, type ScriptStep } from "../fixtures/model-server.ts";
import { startServerProc, startWorkerProc, waitTask } from "../helpers/cluster.ts";
import { FAULT_STORES, faultSkip, killOrphans, logsOf } from "../helpers/faults.ts";
import { createOpencodeEnv, OPENCODE_BIN } from "../helpers/opencode-env.ts";
import { freshDatabase } from "../helpers/pg.ts";
import { killAll, tempDir, waitUntil } from "../helpers/proc.ts";
import { createApi } from "../helpers/server.ts";
import { describeUnless } from "../helpers/skip.ts";

setDefaultTimeout(240_000);

const tmp = tempDir("ct-r1-");
const runs = new Map<string, number>(); // marker -> chat requests seen
// The first run of a task hangs in the model call (the worker is killed meanwhile); the
// next one answers after ~2 s, long enough to send the dead attempt's calls while it runs.
const model = startModelServer((req): ScriptStep => {
  const m = (req.lastUserText ?? "").match(/r1-task-(\w+)/);
  if (!m) return { type: "text", text: "ok" };
  const n = (runs.get(m[1]!) ?? 0) + 1;
  runs.set(m[1]!, n);
  return n === 1 ? { type: "hang" } : { type: "slow", text: `finished ${m[1]}`, delayMs: 700, chunks: 3 };
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
  describeUnless(faultSkip(kind), `R1 worker SIGKILLed mid-task [${kind}]`, () => {
    test("the task is re-run by another worker after the lease; one result; the dead attempt is fenced (409)", async () => {
      const db = kind === "postgres" ? await freshDatabase() : undefined;
      const server = await startServerProc(join(tmp.path, kind, "server"), {
        databaseUrl: db?.url,
        // 10 s, not less: worker B's heartbeats (every lease/3) must hold its attempt even when
        // starved for a few seconds on a busy machine; A's expiry is what the test waits for anyway.
        args: ["--lease-seconds", "10", "--heartbeat-interval", "1", "--log-format", "json"],
      });
      try {
        const ocA = createOpencodeEnv({ modelServerUrl: model.url });
        const ocB = createOpencodeEnv({ modelServerUrl: model.url });
        envs.push(ocA, ocB);
        const wargs = ["--opencode-bin", OPENCODE_BIN, "--log-format", "json"];
        const a = startWorkerProc(server.url, { name: `r1-a-${kind}`, dataDir: join(tmp.path, kind, "a"), env: ocA.env, args: wargs });
        await a.waitFor(/task stream connected/, 30_000);

        const task = await server.client.createTask({ codebase_id: "global", prompt: `r1-task-${kind}: think hard`, agent_type: "build", model: ocA.model });
        await waitTask(server.client, task.id, (t) => t.status === "running" && t.worker_id === `r1-a-${kind}`, "running on worker A");
        await waitUntil(() => runs.get(kind) === 1, "OpenCode of worker A in its model call", 60_000);

        a.kill("SIGKILL");
        await a.exited;
        killOrphans(ocA.root); // what SIGKILL leaves behind: A's OpenCode, hanging in the model call

        const b = startWorkerProc(server.url, { name: `r1-b-${kind}`, dataDir: join(tmp.path, kind, "b"), env: ocB.env, args: wargs });
        const second = await waitTask(server.client, task.id, (t) => t.attempt === 2 && t.status === "running", "attempt 2 running on worker B", 60_000);
        expect(second.worker_id).toBe(`r1-b-${kind}`);

        // The dead attempt speaks up late, while attempt 2 runs and after it finished: always 409, nothing changes.
        const api = createApi(server.url);
        const dead = { "x-worker-id": `r1-a-${kind}` };
        const lateCalls = async () => {
          const before = await api.get(`/v1/opencode/tasks/${task.id}`);
          const outBefore = await api.get(`/v1/opencode/tasks/${task.id}/output`);
          const calls = [
            await api.post("/v1/worker/tasks/heartbeat", { task_id: task.id, worker_id: `r1-a-${kind}`, attempt: 1 }, dead),
            await api.post(`/v1/opencode/tasks/${task.id}/output`, { worker_id: `r1-a-${kind}`, attempt: 1, seq: 0, lines: ["late line"] }, dead),
            await api.post(`/v1/opencode/tasks/${task.id}/output`, { worker_id: `r1-a-${kind}`, output: "late legacy line" }, dead),
            await api.put(`/v1/opencode/tasks/${task.id}/status`, { status: "completed", worker_id: `r1-a-${kind}`, attempt: 1, result: "late" }, dead),
            await api.post("/v1/worker/tasks/release", { task_id: task.id, worker_id: `r1-a-${kind}`, attempt: 1, status: "completed", result: "late" }, dead),
            await api.post("/v1/worker/tasks/release", { task_id: task.id, worker_id: `r1-a-${kind}` }, dead),
          ];
          for (const c of calls) {
            expect(c.status).toBe(409);
            expect(c.body.error).toBe("stale_attempt");
          }
          const after = await api.get(`/v1/opencode/tasks/${task.id}`);
          // updated_at and the lease move with B's heartbeats; everything the dead attempt could touch must not
          const pick = (t: any) => ({ status: t.status, attempt: t.attempt, worker_id: t.worker_id, result: t.result, error: t.error });
          if (after.body.status === before.body.status) expect(pick(after.body)).toEqual(pick(before.body));
          else expect(pick(after.body)).toMatchObject({ status: "completed", attempt: 2, worker_id: `r1-b-${kind}`, result: `finished ${kind}` }); // B finished meanwhile
          const outAfter = await api.get(`/v1/opencode/tasks/${task.id}/output`);
          expect(outAfter.body.outputs.filter((o: any) => o.line.startsWith("late"))).toEqual([]);
          expect(outAfter.body.outputs.filter((o: any) => o.attempt === 1)).toEqual(outBefore.body.outputs.filter((o: any) => o.attempt === 1));
        };
        await lateCalls();

        const done = await waitTask(server.client, task.id, (t) => t.status !== "pending" && t.status !== "running", "task finished", 90_000);
        expect(done).toMatchObject({ status: "completed", attempt: 2, worker_id: `r1-b-${kind}`, result: `finished ${kind}`, error: null });
        await lateCalls();
        expect((await server.client.getTask(task.id)).result).toBe(`finished ${kind}`);

        // Exactly one requeue (the lease ran out: the dead worker never released it) and one accepted final state.
        const requeued = logsOf(server.proc, "task requeued", task.id);
        expect(requeued).toHaveLength(1);
        expect(requeued[0]!.why).toBe("lease expired");
        expect(logsOf(server.proc, "task completed", task.id)).toHaveLength(1);
        expect(logsOf(b, "task completed", task.id)).toHaveLength(1);
        expect(runs.get(kind)).toBe(2);
        expect((await server.client.listTasks({ limit: 100 })).filter((t) => t.prompt.startsWith(`r1-task-${kind}`))).toHaveLength(1);
        b.kill("SIGTERM");
        expect(await b.exited).toBe(0);
      } finally {
        await server.stop();
        await db?.drop();
      }
    });
  });
}
