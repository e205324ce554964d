// Retention on both stores: old output goes (in batches), recent output stays, tasks past
// task_retention_days go with what is left of theirs; and `codetether server prune`
// (--dry-run counts, then deletes) against a running server's SQLite file.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { prunable, prune } from "../../src/server/retention.ts";
import { openStore } from "../../src/server/store/index.ts";
import type { Store, TaskRow } from "../../src/server/store/types.ts";
import { startServerProc, type ServerProc } from "../helpers/cluster.ts";
import { freshDatabase, type TestDatabase } from "../helpers/pg.ts";
import { killAll, runCli, tempDir } from "../helpers/proc.ts";
import { createApi, registerWorker, STORE_KINDS, storeSkip } from "../helpers/server.ts";
import { describeUnless } from "../helpers/skip.ts";
import { pendingTask } from "../helpers/tasks.ts";

const DAY = 86_400_000;
const NOW = Date.parse("2026-12-02T12:00:00Z");
const ago = (days: number) => new Date(NOW - days * DAY).toISOString();

for (const kind of STORE_KINDS) {
  describeUnless(storeSkip(kind), `retention [${kind}]`, () => {
    let store: Store;
    let db: TestDatabase | undefined;
    beforeAll(async () => {
      db = kind === "postgres" ? await freshDatabase() : undefined;
      store = await openStore(db ? { kind: "postgres", url: db.url } : { kind: "sqlite", path: ":memory:" });
    });
    afterAll(async () => {
      await store?.close();
      await db?.drop();
    });

    /** A task that finished `days` ago (null: still running) with `lines` output lines. */
    async function task(days: number | null, lines: number): Promise<TaskRow> {
      const t = pendingTask("echo");
      const row = await store.insertTask(
        days === null
          ? { ...t, status: "running", attempt: 1, started_at: ago(0) }
          : { ...t, status: "completed", attempt: 1, started_at: ago(days), completed_at: ago(days) },
      );
      for (let i = 0; i < lines; i += 1000) {
        const n = Math.min(1000, lines - i);
        const r = await store.appendOutput(
          { task_id: row.id, attempt: 1, seq: i, lines: Array.from({ length: n }, (_, j) => `line ${i + j}`), timestamp: ago(0), capBytes: 1 << 30 },
          () => undefined,
        );
        expect(r!.stored).toBe(n);
      }
      return row;
    }

    test("output past retention_days goes in batches, the rest stays; tasks past task_retention_days go; dry run counts exactly that", async () => {
      const big = await task(40, 4_500); // more than one batch of lines
      const old = await task(31, 10);
      const recent = await task(5, 7);
      const running = await task(null, 3);
      const ancient = await task(400, 2);
      const settings = { outputDays: 30, taskDays: 365 };

      expect(await prunable(store, settings, NOW)).toEqual({ output_tasks: 3, output_lines: 4_512, tasks: 1 });
      const r = await prune(store, settings, { now: NOW });
      expect(r).toEqual({ output_tasks: 3, output_lines: 4_512, tasks: 1 });

      for (const t of [big, old]) {
        expect(await store.readOutput(t.id, 0, 10_000)).toEqual([]);
        const after = (await store.getTask(t.id))!;
        expect({ status: after.status, output_count: after.output_count, pruned: typeof after.metadata.output_pruned_at }).toEqual({
          status: "completed",
          output_count: 0,
          pruned: "string",
        });
      }
      expect(await store.readOutput(recent.id, 0, 100)).toHaveLength(7);
      expect(await store.readOutput(running.id, 0, 100)).toHaveLength(3);
      expect(await store.getTask(ancient.id)).toBeNull();
      expect(await store.getTask(big.id)).not.toBeNull();
      // nothing left to do: a second run deletes nothing
      expect(await prune(store, settings, { now: NOW })).toEqual({ output_tasks: 0, output_lines: 0, tasks: 0 });
      // 0 days keeps everything
      expect(await prunable(store, { outputDays: 0, taskDays: 0 }, NOW)).toEqual({ output_tasks: 0, output_lines: 0, tasks: 0 });
    });
  });
}

describeUnless(undefined, "codetether server prune", () => {
  const tmp = tempDir("ct-prune-");
  let server: ServerProc;
  const dir = () => join(tmp.path, "server");
  beforeAll(async () => {
    server = await startServerProc(dir());
  });
  afterAll(async () => {
    await killAll();
    tmp.cleanup();
  });

  test("--dry-run counts and deletes nothing; then it deletes while the server keeps serving", async () => {
    const api = createApi(server.url);
    const w = await registerWorker(api, "prune");
    const t = (await api.post("/v1/opencode/tasks", { codebase_id: w.codebaseId, prompt: "x" })).body;
    const c = await api.post("/v1/worker/tasks/claim", { task_id: t.id }, w.headers);
    await api.post(`/v1/opencode/tasks/${t.id}/output`, { worker_id: w.id, attempt: c.body.attempt, seq: 0, lines: ["a", "b", "c"] }, w.headers);
    await api.post("/v1/worker/tasks/release", { task_id: t.id, worker_id: w.id, attempt: c.body.attempt, status: "completed", result: "ok" }, w.headers);
    await Bun.sleep(50);
    // 0.0000001 days is under 10 ms: the task just finished is past it
    const args = ["server", "prune", "--data-dir", dir(), "--db", join(dir(), "server.db"), "--retention-days", "0.0000001", "--json"];
    const dry = await runCli([...args, "--dry-run"], { env: { A2A_CONFIG: undefined } });
    expect({ code: dry.code, stderr: dry.stderr }).toEqual({ code: 0, stderr: "" });
    expect(JSON.parse(dry.stdout)).toMatchObject({ dry_run: true, output_tasks: 1, output_lines: 3, tasks: 0 });
    expect((await api.get(`/v1/opencode/tasks/${t.id}/output`)).body.outputs).toHaveLength(3);

    const real = await runCli(args, { env: { A2A_CONFIG: undefined } });
    expect({ code: real.code, stderr: real.stderr }).toEqual({ code: 0, stderr: "" });
    expect(JSON.parse(real.stdout)).toMatchObject({ dry_run: false, output_tasks: 1, output_lines: 3, tasks: 0 });
    expect((await api.get(`/v1/opencode/tasks/${t.id}/output`)).body.outputs).toEqual([]);
    expect((await api.get(`/v1/opencode/tasks/${t.id}`)).body.metadata.output_pruned_at).toBeString();

    const human = await runCli(
      args.filter((a) => a !== "--json"),
      { env: { A2A_CONFIG: undefined } },
    );
    // the server made its database able to hand freed pages back (incremental vacuum)
    const file = new Database(join(dir(), "server.db"), { readonly: true });
    expect((file.query("PRAGMA auto_vacuum").get() as { auto_vacuum: number }).auto_vacuum).toBe(2);
    file.close();
    expect(human.stdout).toMatch(/^deleted 0 output lines of 0 tasks finished before \S+; deleted 0 tasks finished before \S+\n$/);
  });

  test("a database that does not exist is an error naming it, and nothing is created", async () => {
    const missing = join(tmp.path, "nowhere", "server.db");
    const r = await runCli(["server", "prune", "--db", missing, "--data-dir", join(tmp.path, "nowhere")], { env: { A2A_CONFIG: undefined } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`no database at ${missing}`);
    expect(existsSync(missing)).toBe(false);
  });
});
