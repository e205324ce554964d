// R7: one worker id, one process (issue 19), with real server and worker processes on SQLite
// and PostgreSQL. Two machines sharing a worker name used to run one task twice: the second
// process's unregister released what the first was running. Now a second live process is
// refused at start (exit 78, naming the host and pid of the live one); a crashed worker
// restarted on its own data dir takes over at once; a new process takes over a silent one;
// a replaced process that comes back can neither claim, heartbeat nor release, and stops;
// stopping it never touches what the holder runs. Legacy workers (no instance id) as before.
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { lockPaths } from "../../src/worker/lock.ts";
import { startModelServer, type ScriptStep } from "../fixtures/model-server.ts";
import { startServerProc, startWorkerProc, waitTask, type ServerProc, type WorkerProc } from "../helpers/cluster.ts";
import { killOrphans, logsOf } from "../helpers/faults.ts";
import { createOpencodeEnv, OPENCODE_BIN } from "../helpers/opencode-env.ts";
import { freshDatabase, TEST_DATABASE_URL } from "../helpers/pg.ts";
import { killAll, runCli, tempDir, waitUntil } from "../helpers/proc.ts";
import { createApi } from "../helpers/server.ts";

setDefaultTimeout(240_000);

const tmp = tempDir("ct-r7-");
// Every agent run of these tests hangs in its model call, so a task stays running on the
// worker that took it for as long as a test needs; runs are counted per task marker.
const runs = new Map<string, number>();
const model = startModelServer((req): ScriptStep => {
  const m = (req.lastUserText ?? "").match(/r7-(\S+)/);
  if (m) runs.set(m[1]!, (runs.get(m[1]!) ?? 0) + 1);
  return { type: "hang" };
});
const envs: ReturnType<typeof createOpencodeEnv>[] = [];
const stopped: WorkerProc[] = [];

afterAll(async () => {
  for (const p of stopped) p.kill("SIGCONT");
  await killAll();
  for (const e of envs) killOrphans(e.root);
  await model.stop();
  for (const e of envs) e.cleanup();
  tmp.cleanup();
});

const HOST = hostname();
const O = "/v1/opencode";
const W = "/v1/worker/tasks";

function opencode() {
  const e = createOpencodeEnv({ modelServerUrl: model.url });
  envs.push(e);
  return e;
}

/** The instance id a worker process registered with, from the file it keeps in its data dir. */
const instanceOf = (w: WorkerProc, name: string): string => JSON.parse(readFileSync(lockPaths(w.dataDir, name).instance, "utf8")).instance_id;

async function serverFor(kind: "sqlite" | "postgres", dir: string, args: string[]) {
  const db = kind === "postgres" ? await freshDatabase() : undefined;
  const server = await startServerProc(join(tmp.path, kind, dir), { databaseUrl: db?.url, args: [...args, "--log-format", "json"] });
  return {
    server,
    async stop() {
      await server.stop();
      await db?.drop();
    },
  };
}

const workerRecord = async (s: ServerProc, id: string) => (await createApi(s.url).get(`${O}/workers/${id}`)).body;
const waitStale = (s: ServerProc, id: string) =>
  waitUntil(async () => (await workerRecord(s, id)).status === "stale", `worker ${id} stale on the server`, 60_000, 100);

/** Starts a worker and waits until it took its place (registered, stream open). */
async function started(serverUrl: string, o: Parameters<typeof startWorkerProc>[1]) {
  const w = startWorkerProc(serverUrl, o);
  await w.waitFor(/task stream connected/, 60_000);
  return w;
}

for (const kind of ["sqlite", "postgres"] as const) {
  describe.skipIf(kind === "postgres" && !TEST_DATABASE_URL)(`R7 worker identity [${kind}]`, () => {
    test("a second process with the same worker id is refused at start (exit 78, host and pid of the live one); the first keeps its task", async () => {
      const { server, stop } = await serverFor(kind, "dup", []);
      try {
        const name = `r7-dup-${kind}`;
        const oc = opencode();
        const a = await started(server.url, {
          name,
          dataDir: join(tmp.path, kind, "dup-a"),
          env: oc.env,
          args: ["--opencode-bin", OPENCODE_BIN, "--log-format", "json"],
        });
        const task = await server.client.createTask({ codebase_id: "global", prompt: `r7-dup-${kind}`, agent_type: "build", model: oc.model });
        await waitTask(server.client, task.id, (t) => t.status === "running", "task running on the first process");
        await waitUntil(() => runs.get(`dup-${kind}`) === 1, "the first process's agent in its model call", 180_000);

        // As on a second machine with the same name: another data dir, so no local lock stops it.
        const b = startWorkerProc(server.url, { name, dataDir: join(tmp.path, kind, "dup-b"), env: opencode().env });
        expect(await b.exited).toBe(78);
        const lines = b.err().trim().split("\n");
        expect(lines).toHaveLength(1);
        expect(lines[0]).toMatch(
          new RegExp(`cannot start worker '${name}': worker id '${name}' is already held by a live process on host ${HOST} \\(pid ${a.proc.pid},`),
        );
        expect(lines[0]).toContain("A2A_WORKER_NAME");

        // The refused process released nothing and registered nothing under the holder's id.
        const t = await server.client.getTask(task.id);
        expect(t).toMatchObject({ status: "running", attempt: 1, worker_id: name });
        expect(logsOf(server.proc, "worker unregistered")).toEqual([]);
        expect(logsOf(server.proc, "task requeued")).toEqual([]);
        expect((await server.client.listCodebases()).filter((c) => c.worker_id === name)).toHaveLength(1); // A's global only
        expect((await workerRecord(server, name)).instance).toMatchObject({ instance_id: instanceOf(a, name), hostname: HOST, pid: a.proc.pid });
        expect(runs.get(`dup-${kind}`)).toBe(1);

        await server.client.cancelTask(task.id);
        await waitTask(server.client, task.id, (x) => x.status === "cancelled", "task cancelled");
        a.kill("SIGTERM");
        expect(await a.exited).toBe(0);
      } finally {
        await stop();
      }
    });

    test("a SIGKILLed worker restarted on its own data dir takes over at once; worker status shows the instance", async () => {
      // Stale only after 3 x 600 s: without the restart hand-over the new process would be refused.
      const { server, stop } = await serverFor(kind, "restart", ["--heartbeat-interval", "600"]);
      try {
        const name = `r7-restart-${kind}`;
        const dataDir = join(tmp.path, kind, "restart");
        const a = await started(server.url, { name, dataDir });
        const first = instanceOf(a, name);
        a.kill("SIGKILL");
        await a.exited;

        const a2 = await started(server.url, { name, dataDir });
        const rec = await workerRecord(server, name);
        expect(rec.status).toBe("active");
        expect(rec.instance).toMatchObject({ instance_id: instanceOf(a2, name), hostname: HOST, pid: a2.proc.pid });
        expect(rec.instance.instance_id).not.toBe(first);
        const took = logsOf(server.proc, "worker restarted: new process took over its worker id");
        expect(took).toHaveLength(1);
        expect(took[0]).toMatchObject({ worker: name, replaced: first, pid: a2.proc.pid });

        const echo = await server.client.createTask({ codebase_id: "global", prompt: "after restart", agent_type: "echo" });
        expect(await waitTask(server.client, echo.id, (t) => t.status === "completed", "echo task completed")).toMatchObject({
          worker_id: name,
          result: "after restart",
        });

        const st = await runCli(["worker", "status", "--server", server.url, "--name", name, "--data-dir", dataDir], { env: { A2A_CONFIG: undefined } });
        expect(st.code).toBe(0);
        expect(st.stdout).toMatch(
          new RegExp(`instance:\\s+host ${HOST}, pid ${a2.proc.pid}, started ${rec.instance.started_at} \\(instance ${rec.instance.instance_id}\\)`),
        );
        const js = await runCli(["worker", "status", "--server", server.url, "--name", name, "--data-dir", dataDir, "--json"], {
          env: { A2A_CONFIG: undefined },
        });
        expect(JSON.parse(js.stdout)).toMatchObject({
          running: true,
          healthy: true,
          local: { pid: a2.proc.pid, instance_id: rec.instance.instance_id },
          server: { instance: rec.instance },
        });

        a2.kill("SIGTERM");
        expect(await a2.exited).toBe(0);
      } finally {
        await stop();
      }
    });

    test("after the first is SIGKILLed and goes offline, a new process (other data dir) takes over", async () => {
      const { server, stop } = await serverFor(kind, "offline", ["--heartbeat-interval", "1"]);
      try {
        const name = `r7-offline-${kind}`;
        const a = await started(server.url, { name, dataDir: join(tmp.path, kind, "offline-a") });
        const first = instanceOf(a, name);
        a.kill("SIGKILL");
        await a.exited;
        await waitStale(server, name);

        const b = await started(server.url, { name, dataDir: join(tmp.path, kind, "offline-b") });
        expect((await workerRecord(server, name)).instance).toMatchObject({ instance_id: instanceOf(b, name), pid: b.proc.pid });
        expect(logsOf(server.proc, "worker id taken over from a silent process")[0]).toMatchObject({ worker: name, replaced: first, pid: b.proc.pid });
        const echo = await server.client.createTask({ codebase_id: "global", prompt: "on the new process", agent_type: "echo" });
        expect(await waitTask(server.client, echo.id, (t) => t.status === "completed", "echo task completed")).toMatchObject({ worker_id: name });
        b.kill("SIGTERM");
        expect(await b.exited).toBe(0);
      } finally {
        await stop();
      }
    });

    test("a replaced process that comes back cannot claim, heartbeat or release, and stops; SIGTERM of it never touches the holder's task", async () => {
      const { server, stop } = await serverFor(kind, "stale", ["--heartbeat-interval", "1"]);
      try {
        const name = `r7-stale-${kind}`;
        // A1 and A2 each fall silent (SIGSTOP, as a suspended VM or a long GC pause) and are taken over.
        const a1 = await started(server.url, { name, dataDir: join(tmp.path, kind, "stale-a1") });
        a1.kill("SIGSTOP");
        stopped.push(a1);
        await waitStale(server, name);
        const a2 = await started(server.url, { name, dataDir: join(tmp.path, kind, "stale-a2") });
        a2.kill("SIGSTOP");
        stopped.push(a2);
        await waitStale(server, name);
        const oc = opencode();
        const b = await started(server.url, { name, dataDir: join(tmp.path, kind, "stale-b"), env: oc.env, args: ["--opencode-bin", OPENCODE_BIN] });
        const holder = instanceOf(b, name);

        const task = await server.client.createTask({ codebase_id: "global", prompt: `r7-stale-${kind}`, agent_type: "build", model: oc.model });
        const running = await waitTask(server.client, task.id, (t) => t.status === "running", "task running on B");
        await waitUntil(() => runs.get(`stale-${kind}`) === 1, "B's agent in its model call", 180_000);
        const waiting = await server.client.createTask({
          codebase_id: "global",
          prompt: "not for a replaced process",
          agent_type: "echo",
          target_worker_id: "nobody",
        });

        // What A1 would send: every call refused with worker_replaced, nothing changes.
        const api = createApi(server.url);
        const asA1 = { "x-worker-id": name, "x-worker-instance": instanceOf(a1, name) };
        const calls = [
          await api.post(`${O}/workers/${name}/heartbeat`, {}, asA1),
          await api.post(`${W}/claim`, {}, asA1),
          await api.post(`${W}/claim`, { task_id: waiting.id }, asA1),
          await api.post(`${W}/heartbeat`, { task_id: task.id, worker_id: name, attempt: 1 }, asA1),
          await api.post(`${W}/release`, { task_id: task.id, worker_id: name, attempt: 1 }, asA1),
          await api.post(`${W}/release`, { task_id: task.id, worker_id: name, attempt: 1, status: "completed", result: "late" }, asA1),
          await api.post(`${O}/workers/${name}/unregister`, {}, asA1),
        ];
        for (const c of calls) {
          expect(c.status).toBe(409);
          expect(c.body.error).toBe("worker_replaced");
          expect(c.body.message).toContain(`host ${HOST} (pid ${b.proc.pid}`);
        }

        // A1 comes back: told it was replaced at its next call, it stops claiming and exits 78.
        a1.kill("SIGCONT");
        expect(await a1.exited).toBe(78);
        expect(a1.err()).toContain(`was replaced by the process on host ${HOST} (pid ${b.proc.pid}`);
        // A2 is stopped with SIGTERM as it comes back: whichever it notices first, it hands back nothing.
        a2.kill("SIGTERM");
        a2.kill("SIGCONT");
        expect([0, 78]).toContain(await a2.exited);

        const after = await server.client.getTask(task.id);
        expect(after).toMatchObject({ status: "running", attempt: running.attempt, worker_id: name, result: null, error: null });
        expect((await server.client.getTask(waiting.id)).status).toBe("pending");
        const rec = await workerRecord(server, name);
        expect(rec.status).not.toBe("offline");
        expect(rec.instance.instance_id).toBe(holder);
        expect(logsOf(server.proc, "worker unregistered")).toEqual([]);
        expect(logsOf(server.proc, "task requeued")).toEqual([]);
        expect(logsOf(server.proc, "task claimed").map((l) => l.task)).toEqual([task.id]);
        expect(runs.get(`stale-${kind}`)).toBe(1);

        // The holder's own SIGTERM does hand its task back (the normal path, unchanged).
        await server.client.cancelTask(task.id);
        await waitTask(server.client, task.id, (t) => t.status === "cancelled", "task cancelled on B");
        b.kill("SIGTERM");
        expect(await b.exited).toBe(0);
        expect(logsOf(server.proc, "worker unregistered")).toHaveLength(1);
      } finally {
        await stop();
      }
    });

    test("legacy workers (no instance id) are served as before: two registrations of one id, release on unregister", async () => {
      const { server, stop } = await serverFor(kind, "legacy", []);
      try {
        const api = createApi(server.url);
        const id = `r7-legacy-${kind}`;
        // What the Python agent worker sends: global codebase, register, claim by id, status, bare release.
        const g = await api.post(`${O}/codebases`, { name: "global", path: "/home/legacy", worker_id: id });
        const reg = { worker_id: id, name: id, hostname: "legacy-host", codebases: [g.body.codebase.id, "global"] };
        expect((await api.post(`${O}/workers/register`, reg)).status).toBe(200);
        expect((await api.post(`${O}/workers/register`, { ...reg, hostname: "another-host" })).status).toBe(200);
        expect((await workerRecord(server, id)).instance).toBeNull();
        const t1 = await server.client.createTask({ codebase_id: "global", prompt: "legacy one", agent_type: "echo", target_worker_id: id });
        expect((await api.post(`${W}/claim`, { task_id: t1.id }, { "x-worker-id": id })).status).toBe(200);
        expect((await api.put(`${O}/tasks/${t1.id}/status`, { status: "completed", worker_id: id, result: "r" })).status).toBe(200);
        expect((await api.post(`${W}/release`, { task_id: t1.id }, { "x-worker-id": id })).status).toBe(200);
        const t2 = await server.client.createTask({ codebase_id: "global", prompt: "legacy two", agent_type: "echo", target_worker_id: id });
        expect((await api.post(`${W}/claim`, { task_id: t2.id }, { "x-worker-id": id })).status).toBe(200);
        const un = await api.post(`${O}/workers/${id}/unregister`);
        expect(un.body).toEqual({ success: true, released: [t2.id] });
        expect((await server.client.getTask(t2.id)).status).toBe("pending");
        expect((await server.client.getTask(t1.id)).status).toBe("completed");
      } finally {
        await stop();
      }
    });
  });
}
