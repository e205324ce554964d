// `codetether codebase register` as people meet it (issue 17, items 6 and 7): a path no
// worker has ends instead of hanging (every worker declines -> the task fails; a silent
// worker -> --timeout cancels it; Ctrl-C cancels it, exit 130), and a path registered
// under another name is refused naming it unless --rename. Real server and worker
// processes; the server routes underneath on SQLite and PostgreSQL.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { startServerProc, startWorkerProc, waitTask, type ServerProc, type WorkerProc } from "../helpers/cluster.ts";
import { killAll, runCli, spawnCli, tempDir, waitUntil } from "../helpers/proc.ts";
import { registerWorker, startTestServer, type TestServer } from "../helpers/server.ts";

const T = 120_000; // per-test budget on a shared machine; nothing here asserts a duration
const tmp = tempDir("ct-cbreg-");
const homeA = join(tmp.path, "home-a");
const homeB = join(tmp.path, "home-b");
let server: ServerProc;
let workers: WorkerProc[] = [];

function env(extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    A2A_CONFIG: undefined,
    A2A_AUTH_TOKEN: undefined,
    HOME: homeA,
    XDG_CONFIG_HOME: undefined,
    XDG_DATA_HOME: undefined,
    A2A_SERVER_URL: server.url,
    ...extra,
  };
}
const ct = (args: string[], timeoutMs = 90_000) => runCli(args, { cwd: tmp.path, env: env(), timeoutMs });
/** The error: the last line on stderr (notes such as "waiting up to ..." come before it). */
const errorLine = (stderr: string) =>
  stderr
    .trim()
    .split("\n")
    .filter((l) => l.trim())
    .at(-1) ?? "";
const dir = (name: string) => {
  const p = join(tmp.path, name);
  mkdirSync(p, { recursive: true });
  return p;
};

beforeAll(async () => {
  mkdirSync(homeA, { recursive: true });
  mkdirSync(homeB, { recursive: true });
  server = await startServerProc(join(tmp.path, "server"));
  // w-a can register anything that exists here; w-b only paths under "nowhere" (it lacks everything else).
  workers = [
    startWorkerProc(server.url, { name: "w-a", dataDir: join(tmp.path, "w-a"), env: { HOME: homeA } }),
    startWorkerProc(server.url, { name: "w-b", dataDir: join(tmp.path, "w-b"), env: { HOME: homeB }, args: ["--allowed-path", dir("nowhere")] }),
  ];
  await Promise.all(workers.map((w) => w.waitFor(/task stream connected/, 60_000)));
}, T);

afterAll(async () => {
  await killAll();
  tmp.cleanup();
});

/** A registered worker with no stream: it never claims nor declines (like a legacy worker). Heartbeat keeps it active. */
async function silentWorker(id: string) {
  await server.client.registerWorker({ worker_id: id, name: id, capabilities: [], hostname: "elsewhere", models: [], codebases: [] });
  return {
    touch: () => server.client.workerHeartbeat(id),
    remove: () => server.client.unregisterWorker(id),
  };
}

describe("a path no worker has", () => {
  test(
    "every active worker declines: the task fails and --wait exits 1 naming each worker and why",
    async () => {
      const missing = join(tmp.path, "nonexistent");
      const r = await ct(["codebase", "register", "api", missing, "--wait"]);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe("");
      const line = errorLine(r.stderr);
      expect(line).toMatch(new RegExp(`no worker registered ${missing} \\(task \\S+ failed: no active worker has ${missing}: declined by `));
      expect(line).toContain("w-a (does not exist)");
      expect(line).toContain("w-b (does not exist)");
      const taskId = r.stderr.match(/\(task (\S+);/)![1]!;
      const t = await server.client.getTask(taskId);
      expect(t).toMatchObject({ status: "failed", attempt: 0, worker_id: null });
      expect(((t.metadata as any).declined as { worker_id: string }[]).map((d) => d.worker_id).sort()).toEqual(["w-a", "w-b"]);
    },
    T,
  );

  test(
    "a worker that never answers: --timeout cancels the task and exits 1 saying who lacked it and who did not answer",
    async () => {
      const silent = await silentWorker("w-silent-1");
      try {
        const missing = join(tmp.path, "nonexistent-2");
        const r = await ct(["codebase", "register", "api2", missing, "--wait", "--timeout", "8"]);
        expect(r.code).toBe(1);
        const line = errorLine(r.stderr);
        const taskId = r.stderr.match(/\(task (\S+);/)![1]!;
        expect(line).toContain(`no worker registered ${missing} within 8s; cancelled task ${taskId}: `);
        expect(line).toContain("w-a lacks it (does not exist)");
        expect(line).toContain("w-b lacks it (does not exist)");
        expect(line).toContain("w-silent-1 did not answer");
        expect((await server.client.getTask(taskId)).status).toBe("cancelled");
      } finally {
        await silent.remove();
      }
    },
    T,
  );

  test(
    "Ctrl-C while waiting cancels the registration task and exits 130",
    async () => {
      const silent = await silentWorker("w-silent-2");
      try {
        const missing = join(tmp.path, "nonexistent-3");
        const p = spawnCli(["codebase", "register", "api3", missing, "--wait"], { cwd: tmp.path, env: env() });
        const m = await p.waitFor(/waiting up to 60s for a worker that has \S+ \(task (\S+);/);
        const taskId = m[1]!;
        expect((await server.client.getTask(taskId)).status).toBe("pending");
        p.kill("SIGINT");
        expect(await p.exited).toBe(130);
        expect(errorLine(p.err())).toContain(`interrupted: cancelled registration task ${taskId} for ${missing}`);
        expect((await server.client.getTask(taskId)).status).toBe("cancelled");
      } finally {
        await silent.remove();
      }
    },
    T,
  );

  test(
    "--timeout without --wait, or not a positive number, is a usage error",
    async () => {
      const a = await ct(["codebase", "register", "x", dir("repo-x"), "--timeout", "5"]);
      expect(a.code).toBe(2);
      expect(errorLine(a.stderr)).toContain("--timeout applies only with --wait");
      const b = await ct(["codebase", "register", "x", dir("repo-x"), "--wait", "--timeout", "soon"]);
      expect(b.code).toBe(2);
      expect(errorLine(b.stderr)).toContain("--timeout: expected a number > 0, got 'soon'");
    },
    T,
  );
});

describe("a path already registered under another name", () => {
  test(
    "with --worker-id: refused naming the existing codebase; the old name keeps working; --rename renames",
    async () => {
      const path = dir("repo-named");
      const first = await ct(["codebase", "register", "aa", path, "--worker-id", "w-a"]);
      expect(first.code).toBe(0);
      const id = first.stdout.trim();

      const again = await ct(["codebase", "register", "bb", path, "--worker-id", "w-a"]);
      expect(again.code).toBe(1);
      expect(again.stdout).toBe("");
      expect(errorLine(again.stderr)).toContain(
        `path ${path} is already registered as codebase 'aa' (id ${id}, worker w-a); use that name, or rename it to 'bb' with --rename`,
      );
      expect(
        again.stderr
          .trim()
          .split("\n")
          .filter((l) => l.trim()),
      ).toHaveLength(1);
      // Nothing was renamed: tasks still reach it by its old name.
      const t = await ct(["task", "create", "--codebase", "aa", "--agent", "echo", "--prompt", "still aa", "--wait"]);
      expect(t.code).toBe(0);
      expect(t.stdout.trim()).toBe("still aa");

      const same = await ct(["codebase", "register", "aa", path, "--worker-id", "w-a"]);
      expect(same.code).toBe(0);
      expect(same.stdout.trim()).toBe(id);

      const renamed = await ct(["codebase", "register", "bb", path, "--worker-id", "w-a", "--rename"]);
      expect(renamed.code).toBe(0);
      expect(renamed.stdout.trim()).toBe(id);
      expect((await server.client.getCodebase(id)).name).toBe("bb");
    },
    T,
  );

  test(
    "by path (the issue's case): the second name is refused naming the first; --rename renames at once",
    async () => {
      const path = dir("repo-by-path");
      const first = await ct(["codebase", "register", "dd", path, "--wait"]);
      expect(first.code).toBe(0);
      const id = first.stdout.trim();
      expect((await server.client.getCodebase(id)).worker_id).toBe("w-a");

      const again = await ct(["codebase", "register", "ee", path, "--wait"]);
      expect(again.code).toBe(1);
      expect(errorLine(again.stderr)).toContain(`path ${path} is already registered as codebase 'dd' (id ${id}, worker w-a)`);
      const t = await ct(["task", "create", "--codebase", "dd", "--agent", "echo", "--prompt", "still dd", "--wait"]);
      expect(t.code).toBe(0);

      const renamed = await ct(["codebase", "register", "ee", path, "--rename", "--json"]);
      expect(renamed.code).toBe(0);
      expect(JSON.parse(renamed.stdout)).toMatchObject({ pending: false, id, task_id: null, name: "ee", worker_id: "w-a" });
      expect((await server.client.getCodebase(id)).name).toBe("ee");
    },
    T,
  );

  test(
    "a worker's own config names its codebases: a name changed there renames (the worker starts)",
    async () => {
      const path = dir("repo-config");
      const first = await ct(["codebase", "register", "before", path, "--worker-id", "w-cfg"]);
      expect(first.code).toBe(0);
      const id = first.stdout.trim();
      const w = startWorkerProc(server.url, { name: "w-cfg", dataDir: join(tmp.path, "w-cfg"), env: { HOME: homeA }, codebases: [`after:${path}`] });
      await w.waitFor(/worker registered/, 60_000);
      expect((await server.client.getCodebase(id)).name).toBe("after");
      w.kill("SIGTERM");
      expect(await w.exited).toBe(0);
    },
    T,
  );

  test(
    "a worker's home (its global codebase) is never renamed",
    async () => {
      const r = await ct(["codebase", "register", "home", homeA, "--rename"]);
      expect(r.code).toBe(1);
      expect(errorLine(r.stderr)).toContain(`path ${homeA} is already registered as codebase 'global'`);
      expect(errorLine(r.stderr)).toContain("which cannot be renamed; use --codebase global");
    },
    T,
  );
});

// The routes underneath, on both stores: 409 and rename, declines and the sweeper.
for (const kind of ["sqlite", "postgres"] as const) {
  describe.skipIf(kind === "postgres" && !process.env.TEST_DATABASE_URL)(`server routes [${kind}]`, () => {
    let s: TestServer;
    beforeAll(async () => {
      s = await startTestServer(kind);
    });
    afterAll(async () => {
      await s?.stop();
    });

    test("POST codebases: another name for a (worker, path) is 409 codebase_exists; rename: true renames; global always wins", async () => {
      const w = await registerWorker(s, "ren");
      const first = await s.post("/v1/opencode/codebases", { name: "one", path: "/srv/ren", worker_id: w.id });
      expect(first.status).toBe(200);
      const id = first.body.codebase.id;
      const clash = await s.post("/v1/opencode/codebases", { name: "two", path: "/srv/ren/", worker_id: w.id });
      expect(clash.status).toBe(409);
      expect(clash.body).toMatchObject({ error: "codebase_exists" });
      expect(clash.body.message).toContain(`path /srv/ren is already registered as codebase 'one' (id ${id}, worker ${w.id})`);
      expect((await s.get(`/v1/opencode/codebases/${id}`)).body.name).toBe("one");
      const same = await s.post("/v1/opencode/codebases", { name: "one", path: "/srv/ren", worker_id: w.id, description: "d" });
      expect(same.body.codebase).toMatchObject({ id, name: "one", description: "d" });
      const renamed = await s.post("/v1/opencode/codebases", { name: "two", path: "/srv/ren", worker_id: w.id, rename: true });
      expect(renamed.status).toBe(200);
      expect(renamed.body.codebase).toMatchObject({ id, name: "two" });
      // A worker's home is (re)registered as "global" whatever it was called; and never renamed away.
      const home = await s.post("/v1/opencode/codebases", { name: "myhome", path: "/home/ren-x", worker_id: w.id });
      const g = await s.post("/v1/opencode/codebases", { name: "global", path: "/home/ren-x", worker_id: w.id });
      expect(g.body.codebase).toMatchObject({ id: home.body.codebase.id, name: "global" });
      const away = await s.post("/v1/opencode/codebases", { name: "mine", path: "/home/ren-x", worker_id: w.id, rename: true });
      expect(away.status).toBe(409);
      expect(away.body.error).toBe("codebase_is_global");
      // By path: refused, or renamed at once with rename (no task).
      const byPath = await s.post("/v1/opencode/codebases", { name: "three", path: "/srv/ren" });
      expect(byPath.status).toBe(409);
      expect(byPath.body.message).toContain("already registered as codebase 'two'");
      const byPathRename = await s.post("/v1/opencode/codebases", { name: "three", path: "/srv/ren", rename: true });
      expect(byPathRename.body).toMatchObject({ success: true, codebase: { id, name: "three" } });
      expect(byPathRename.body.pending).toBeUndefined();
    });

    test("declines: recorded once per worker; the task fails when every active worker declined", async () => {
      const before = (await s.get("/v1/opencode/workers")).body.map((x: { id: string }) => x.id);
      for (const id of before) await s.post(`/v1/opencode/workers/${id}/unregister`);
      const [a, b] = [await registerWorker(s, "dec"), await registerWorker(s, "dec")];
      const reg = await s.post("/v1/opencode/codebases", { name: "nowhere", path: "/srv/nowhere" });
      const taskId = reg.body.task_id;
      const d1 = await s.post("/v1/worker/tasks/decline", { task_id: taskId, reason: "does not exist" }, a.headers);
      expect(d1.status).toBe(200);
      expect(d1.body.task).toMatchObject({ status: "pending", metadata: { declined: [{ worker_id: a.id, reason: "does not exist" }] } });
      await s.post("/v1/worker/tasks/decline", { task_id: taskId, reason: "still not" }, a.headers);
      const once = (await s.get(`/v1/opencode/tasks/${taskId}`)).body;
      expect(once.status).toBe("pending");
      expect(once.metadata.declined).toHaveLength(1);
      const d2 = await s.post("/v1/worker/tasks/decline", { task_id: taskId, worker_id: b.id }, {});
      expect(d2.body.task.status).toBe("failed");
      expect(d2.body.task.error).toBe(`no active worker has /srv/nowhere: declined by ${a.id} (still not), ${b.id}`);
      // Declining a final task changes nothing.
      const late = await s.post("/v1/worker/tasks/decline", { task_id: taskId, worker_id: "someone" });
      expect(late.body.task.status).toBe("failed");
      expect(late.body.task.metadata.declined).toHaveLength(2);
    });

    test("declines: a worker that unregisters stops counting (the sweeper fails the task); bad requests are 4xx", async () => {
      const before = (await s.get("/v1/opencode/workers")).body.map((x: { id: string }) => x.id);
      for (const id of before) await s.post(`/v1/opencode/workers/${id}/unregister`);
      const [a, b] = [await registerWorker(s, "swp"), await registerWorker(s, "swp")];
      await s.handle.sweep(); // the sweeper learns who is active
      const reg = await s.post("/v1/opencode/codebases", { name: "gone", path: "/srv/gone" });
      const taskId = reg.body.task_id;
      await s.post("/v1/worker/tasks/decline", { task_id: taskId, reason: "does not exist" }, a.headers);
      expect((await s.get(`/v1/opencode/tasks/${taskId}`)).body.status).toBe("pending");
      await s.post(`/v1/opencode/workers/${b.id}/unregister`);
      const failed = await waitUntil(async () => {
        await s.handle.sweep();
        const t = (await s.get(`/v1/opencode/tasks/${taskId}`)).body;
        return t.status === "failed" ? t : null;
      }, "registration failed after the other worker left");
      expect(failed.error).toBe(`no active worker has /srv/gone: declined by ${a.id} (does not exist)`);

      const other = await s.post("/v1/opencode/tasks", { codebase_id: "global", prompt: "x", agent_type: "echo" });
      const notReg = await s.post("/v1/worker/tasks/decline", { task_id: other.body.id }, a.headers);
      expect(notReg.status).toBe(409);
      expect(notReg.body.error).toBe("not_declinable");
      expect((await s.post("/v1/worker/tasks/decline", { task_id: "nope" }, a.headers)).status).toBe(404);
      expect((await s.post("/v1/worker/tasks/decline", { task_id: taskId })).status).toBe(400);
      expect((await s.post("/v1/worker/tasks/decline", { task_id: 5 }, a.headers)).status).toBe(400);
    });
  });
}

describe("a path a worker has", () => {
  test(
    "--wait with --timeout prints the id the worker that has the path registered",
    async () => {
      const path = dir("repo-quick");
      const r = await ct(["codebase", "register", "quick", path, "--wait", "--timeout", "60"]);
      expect(r.code).toBe(0);
      const t = await waitTask(server.client, r.stderr.match(/\(task (\S+);/)![1]!, (x) => x.status === "completed", "completed");
      expect(t.result).toBe(r.stdout.trim());
      // w-a has it (first attempt); w-b, which may not use it, never claimed it (its decline may come after the claim: then it is moot).
      expect(t).toMatchObject({ worker_id: "w-a", attempt: 1 });
    },
    T,
  );
});
