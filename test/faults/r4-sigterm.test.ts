// R4: SIGTERM to a worker running two real OpenCode tasks. The one that ends within
// shutdown_grace completes on it; the one that does not is released at the end of the
// grace (not left to its lease) and re-run by a second worker; the first worker stops its
// agents, unregisters (offline) and exits 0.
import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { startModelServer, type ScriptStep } from "../fixtures/model-server.ts";
import { startServerProc, startWorkerProc, waitTask } from "../helpers/cluster.ts";
import { FAULT_STORES, faultSkip, killOrphans, logsOf } from "../helpers/faults.ts";
import { createOpencodeEnv, OPENCODE_BIN, processesUnder } from "../helpers/opencode-env.ts";
import { freshDatabase } from "../helpers/pg.ts";
import { killAll, tempDir, waitUntil } from "../helpers/proc.ts";
import { describeUnless } from "../helpers/skip.ts";

setDefaultTimeout(240_000);

const GRACE_S = 10;
/** Far longer than the test: a requeue can only come from the release, never from lease expiry. */
const LEASE_S = 120;

const tmp = tempDir("ct-r4-");
const runs = new Map<string, number>();
const model = startModelServer((req): ScriptStep => {
  const m = (req.lastUserText ?? "").match(/r4-(quick|stuck)-(\w+)/);
  if (!m) return { type: "text", text: "ok" };
  const n = (runs.get(m[0]) ?? 0) + 1;
  runs.set(m[0], n);
  // quick: about 3 s, well inside the grace; stuck: never answers on its first run
  if (m[1] === "quick") return { type: "slow", text: `quick done ${m[2]}`, delayMs: 1000, chunks: 3 };
  return n === 1 ? { type: "hang" } : { type: "text", text: `stuck done elsewhere ${m[2]}` };
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
  describeUnless(faultSkip(kind), `R4 SIGTERM to a worker [${kind}]`, () => {
    test("a task ending within the grace completes; one that does not is released and re-run elsewhere; the worker goes offline", async () => {
      const db = kind === "postgres" ? await freshDatabase() : undefined;
      const server = await startServerProc(join(tmp.path, kind, "server"), {
        databaseUrl: db?.url,
        args: ["--lease-seconds", String(LEASE_S), "--heartbeat-interval", "1", "--log-format", "json"],
      });
      try {
        const ocA = createOpencodeEnv({ modelServerUrl: model.url });
        const ocB = createOpencodeEnv({ modelServerUrl: model.url });
        envs.push(ocA, ocB);
        const wargs = ["--opencode-bin", OPENCODE_BIN, "--log-format", "json", "--max-concurrent-tasks", "2"];
        const nameA = `r4-a-${kind}`;
        const nameB = `r4-b-${kind}`;
        const a = startWorkerProc(server.url, {
          name: nameA,
          dataDir: join(tmp.path, kind, "a"),
          env: ocA.env,
          args: [...wargs, "--shutdown-grace", String(GRACE_S)],
        });
        await a.waitFor(/task stream connected/, 30_000);
        const quick = await server.client.createTask({ codebase_id: "global", prompt: `r4-quick-${kind}`, agent_type: "build", model: ocA.model });
        const stuck = await server.client.createTask({ codebase_id: "global", prompt: `r4-stuck-${kind}`, agent_type: "build", model: ocA.model });
        for (const t of [quick, stuck]) await waitTask(server.client, t.id, (x) => x.status === "running" && x.worker_id === nameA, "both running on A");
        await waitUntil(() => runs.get(`r4-quick-${kind}`) === 1 && runs.get(`r4-stuck-${kind}`) === 1, "both OpenCode runs in their model call", 60_000);

        // B is up before A stops, so the released task has somewhere to go.
        const b = startWorkerProc(server.url, { name: nameB, dataDir: join(tmp.path, kind, "b"), env: ocB.env, args: wargs });
        await b.waitFor(/task stream connected/, 30_000);

        a.kill("SIGTERM");
        const q = await waitTask(server.client, quick.id, (t) => t.status !== "running", "quick task finished", 60_000);
        expect(q).toMatchObject({ status: "completed", worker_id: nameA, attempt: 1, result: `quick done ${kind}` });

        expect(await a.exited).toBe(0);
        const s = await waitTask(server.client, stuck.id, (t) => t.status !== "pending" && t.status !== "running", "stuck task re-run", 90_000);
        expect(s).toMatchObject({ status: "completed", worker_id: nameB, attempt: 2, result: `stuck done elsewhere ${kind}` });

        // Released by A at the end of the grace (not expired), and only once.
        const requeued = logsOf(server.proc, "task requeued", stuck.id);
        expect(requeued).toHaveLength(1);
        expect(requeued[0]!.why).toBe("released without a final status");
        expect(requeued[0]!.from).toBe(nameA);
        expect(logsOf(server.proc, "task requeued", quick.id)).toEqual([]);
        expect(jsonMsgs(a).some((m) => m.startsWith("releasing 1 running task(s)"))).toBe(true);
        // A stopped its agents (nothing of it left running) and is offline on the server.
        await waitUntil(() => processesUnder(ocA.root).length === 0, "A's OpenCode processes gone", 10_000);
        const mon = await server.client.monitorWorkers();
        expect(mon.workers.find((x) => x.id === nameA)?.status).toBe("offline");
        expect(mon.workers.find((x) => x.id === nameB)?.status).toBe("active");

        b.kill("SIGTERM");
        expect(await b.exited).toBe(0);
      } finally {
        await server.stop();
        await db?.drop();
      }
    });
  });
}

const jsonMsgs = (p: { err: () => string }) =>
  p
    .err()
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l).msg as string);
