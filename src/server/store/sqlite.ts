// SQLite store (`bun:sqlite`): the embedded default. WAL so readers never wait for the
// writer, busy_timeout so a second process on the same file waits instead of failing,
// every write that decides something in one `BEGIN IMMEDIATE` transaction (the write lock
// is taken before the read, so two claimers can never both see a task as pending); writes
// asked for in one turn of the event loop commit together (group commit, sqlite/handle.ts).
//
// This file opens the database and puts the store together; each concern is a part in
// sqlite/ that takes the handle (sqlite/handle.ts: database, cached statements, write
// transaction): workers, codebases, tasks (create and read), claims (and every other
// decision on a task's row), output, sessions.
import { Database } from "bun:sqlite";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { MIGRATIONS } from "./migrations.ts";
import { sqliteClaims } from "./sqlite/claims.ts";
import { sqliteCodebases } from "./sqlite/codebases.ts";
import { sqliteHandle } from "./sqlite/handle.ts";
import { sqliteOutbox } from "./sqlite/outbox.ts";
import { sqliteOutput } from "./sqlite/output.ts";
import { sqliteRetention } from "./sqlite/retention.ts";
import { sqliteSessions } from "./sqlite/sessions.ts";
import { sqliteTasks } from "./sqlite/tasks.ts";
import { sqliteWorkers } from "./sqlite/workers.ts";
import type { Store, StoreTrace } from "./types.ts";

export function openSqlite(path: string, trace?: StoreTrace): Store {
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path, { create: true, strict: true });
  db.exec("PRAGMA busy_timeout = 5000");
  // A new database hands freed pages back in steps (retention's reclaimSpace); this can only
  // be chosen before the first table exists.
  if (!db.query("SELECT 1 FROM sqlite_master LIMIT 1").get()) db.exec("PRAGMA auto_vacuum = INCREMENTAL");
  if (path !== ":memory:") db.exec("PRAGMA journal_mode = WAL");
  db.exec("PRAGMA synchronous = NORMAL");
  migrate(db);

  const h = sqliteHandle(db, trace);
  return {
    kind: "sqlite",
    crossReplica: false,
    async close() {
      await h.close();
    },
    publish() {
      // One process holds the file (index.ts locks it): there is no other replica to tell.
    },
    onEvent() {
      // Nor one to hear from.
    },
    ...sqliteWorkers(h),
    ...sqliteCodebases(h),
    ...sqliteTasks(h),
    ...sqliteClaims(h),
    ...sqliteOutput(h),
    ...sqliteSessions(h),
    ...sqliteRetention(h),
    ...sqliteOutbox(h),
  };
}

function migrate(db: Database): void {
  db.transaction(() => {
    db.exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)");
    const done = new Set((db.query("SELECT version FROM schema_migrations").all() as { version: number }[]).map((r) => r.version));
    for (const m of MIGRATIONS) {
      if (done.has(m.version)) continue;
      db.exec(m.sqlite);
      db.query("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($v, $n, $t)").run({ v: m.version, n: m.name, t: new Date().toISOString() });
    }
  }).immediate();
}
