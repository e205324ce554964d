// Upgrading a store that holds data: migration 9 (completed count per worker) counts what a
// store written by an older server already holds, on SQLite and PostgreSQL. The older store
// is made by undoing migration 9 by hand in a current one, which then opens again.
import { Database } from "bun:sqlite";
import { expect, test } from "bun:test";
import { join } from "node:path";
import postgres from "postgres";
import { openStore, type Store } from "../../src/server/store/index.ts";
import { freshDatabase, NO_PG } from "../helpers/pg.ts";
import { tempDir } from "../helpers/proc.ts";
import { describeUnless } from "../helpers/skip.ts";
import { pendingTask, workerInput } from "../helpers/tasks.ts";

const TS = "2026-01-01T00:00:00.000Z";

/** Worker w1 with 3 completed tasks, 1 failed and 1 running; w2 with 2 completed. */
async function fill(store: Store) {
  for (const id of ["w1", "w2"]) {
    await store.upsertWorker(workerInput(id), TS);
  }
  const put = (worker_id: string, status: "completed" | "failed" | "running") =>
    store.insertTask({ ...pendingTask(), status, worker_id, attempt: 1, started_at: TS, completed_at: status === "running" ? null : TS });
  for (const [w, st] of [
    ["w1", "completed"],
    ["w1", "completed"],
    ["w1", "completed"],
    ["w1", "failed"],
    ["w1", "running"],
    ["w2", "completed"],
    ["w2", "completed"],
  ] as const)
    await put(w, st);
}

const summary = async (store: Store) => Object.fromEntries([...(await store.workerCounts())].map(([id, c]) => [id, [c.completed, c.running]]));

describeUnless(undefined, "migration 9 on a store with data [sqlite]", () => {
  test("completed counts are backfilled from the tasks the store holds", async () => {
    const tmp = tempDir("ct-mig-");
    const path = join(tmp.path, "server.db");
    try {
      let store = await openStore({ kind: "sqlite", path });
      await fill(store);
      expect(await summary(store)).toEqual({ w1: [3, 1], w2: [2, 0] });
      await store.close();
      const db = new Database(path);
      db.exec(`DROP TRIGGER tasks_completed_update; DROP TRIGGER tasks_completed_insert;
               ALTER TABLE workers DROP COLUMN tasks_completed; DELETE FROM schema_migrations WHERE version = 9;`);
      db.close();
      store = await openStore({ kind: "sqlite", path });
      expect(await summary(store)).toEqual({ w1: [3, 1], w2: [2, 0] });
      await store.close();
    } finally {
      tmp.cleanup();
    }
  });
});

describeUnless(NO_PG, "migration 9 on a store with data [postgres]", () => {
  test("completed counts are backfilled from the tasks the store holds", async () => {
    const pg = await freshDatabase();
    try {
      let store = await openStore({ kind: "postgres", url: pg.url, listen: false });
      await fill(store);
      expect(await summary(store)).toEqual({ w1: [3, 1], w2: [2, 0] });
      await store.close();
      const sql = postgres(pg.url, { max: 1, onnotice: () => {} });
      await sql.unsafe(`DROP TRIGGER tasks_completed_update ON tasks; DROP TRIGGER tasks_completed_insert ON tasks;
                        DROP FUNCTION codetether_count_completed(); ALTER TABLE workers DROP COLUMN tasks_completed;
                        DELETE FROM schema_migrations WHERE version = 9;`);
      await sql.end();
      store = await openStore({ kind: "postgres", url: pg.url, listen: false });
      expect(await summary(store)).toEqual({ w1: [3, 1], w2: [2, 0] });
      await store.close();
    } finally {
      await pg.drop();
    }
  });
});
