// Claims under contention: 20 workers claiming 500 tasks concurrently must take every task
// exactly once — on SQLite, on PostgreSQL, and on two server processes sharing one database.
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { freshDatabase, NO_PG, type TestDatabase } from "../helpers/pg.ts";
import { killAll, tempDir } from "../helpers/proc.ts";
import { createApi, registerWorker, spawnServer, startTestServer, STORE_KINDS, storeSkip, type Api, type ServerProcess } from "../helpers/server.ts";
import { describeUnless } from "../helpers/skip.ts";

const O = "/v1/opencode";
const TASKS = 500;
const CLAIMERS = 20;

async function createTasks(api: Api, n: number, body: Record<string, unknown>): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i += 50) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(50, n - i) }, (_, j) => api.post(`${O}/tasks`, { prompt: `t${i + j}`, priority: (i + j) % 3, ...body })),
    );
    for (const r of batch) {
      expect(r.status).toBe(201);
      ids.push(r.body.id);
    }
  }
  return ids;
}

/** Each claimer polls `{}`-claims (through its own server, round robin) until it gets 204. */
async function claimAll(apis: Api[], workerIds: string[]): Promise<Map<string, string[]>> {
  const got = new Map<string, string[]>();
  await Promise.all(
    workerIds.map(async (w, i) => {
      const api = apis[i % apis.length]!;
      const mine: string[] = [];
      for (;;) {
        const r = await api.post("/v1/worker/tasks/claim", {}, { "x-worker-id": w });
        if (r.status === 204) break;
        expect(r.status).toBe(200);
        mine.push(r.body.task_id);
      }
      got.set(w, mine);
    }),
  );
  return got;
}

async function expectEachClaimedOnce(api: Api, created: string[], got: Map<string, string[]>) {
  const all = [...got.values()].flat();
  expect(all.length).toBe(created.length);
  expect(new Set(all).size).toBe(created.length);
  expect(new Set(all)).toEqual(new Set(created));
  const tasks = (await api.get(`${O}/tasks?limit=10000`)).body as any[];
  const owner = new Map([...got].flatMap(([w, ids]) => ids.map((id) => [id, w] as const)));
  for (const t of tasks.filter((t) => owner.has(t.id))) {
    expect([t.id, t.status, t.attempt, t.worker_id]).toEqual([t.id, "running", 1, owner.get(t.id)]);
  }
  // the work was spread: more than one claimer got tasks
  expect([...got.values()].filter((ids) => ids.length > 0).length).toBeGreaterThan(1);
}

for (const kind of STORE_KINDS) {
  describeUnless(storeSkip(kind), `concurrent claims [${kind}]`, () => {
    test(`${CLAIMERS} claimers, ${TASKS} tasks: each claimed exactly once`, async () => {
      const s = await startTestServer(kind);
      try {
        const workers = await Promise.all(Array.from({ length: CLAIMERS }, () => registerWorker(s, "cc")));
        const created = await createTasks(s, TASKS, { codebase_id: "global" });
        const got = await claimAll(
          [s],
          workers.map((w) => w.id),
        );
        await expectEachClaimedOnce(s, created, got);
      } finally {
        await s.stop();
      }
    }, 120_000);
  });
}

describeUnless(NO_PG, "two server processes on one PostgreSQL database", () => {
  let db: TestDatabase;
  let a: ServerProcess;
  let b: ServerProcess;
  const tmp = tempDir("ct-srv2-");
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await killAll();
    await db?.drop();
    tmp.cleanup();
  });

  test("both start at once (migrations under an advisory lock) and serve the same data", async () => {
    db = await freshDatabase();
    [a, b] = await Promise.all(["a", "b"].map((n) => spawnServer(["--database-url", db.url, "--data-dir", join(tmp.path, n), "--log-level", "warn"])));
    const [ha, hb] = await Promise.all([createApi(a!.url).get("/health"), createApi(b!.url).get("/health")]);
    expect(ha.body.store).toBe("postgres");
    expect(hb.body.store).toBe("postgres");
    const t = (await createApi(a!.url).post(`${O}/tasks`, { prompt: "x", target_worker_id: "nobody" })).body;
    expect((await createApi(b!.url).get(`${O}/tasks/${t.id}`)).body.id).toBe(t.id);
    await createApi(b!.url).post(`${O}/tasks/${t.id}/cancel`);
  });

  test(`${CLAIMERS} claimers across both replicas, ${TASKS} tasks: each claimed exactly once`, async () => {
    const apis = [createApi(a.url), createApi(b.url)];
    const workers = await Promise.all(Array.from({ length: CLAIMERS }, (_, i) => registerWorker(apis[i % 2]!, "rep")));
    const created = await createTasks(apis[0]!, TASKS, { codebase_id: "global" });
    const got = await claimAll(
      apis,
      workers.map((w) => w.id),
    );
    await expectEachClaimedOnce(apis[1]!, created, got);
  }, 120_000);
});
