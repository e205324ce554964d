// The SQLite store's write queue (src/server/store/sqlite/handle.ts): writes asked for in one
// turn of the event loop share one transaction, each in a savepoint of its own, and no caller
// hears "done" before the commit that holds its write.
import { Database } from "bun:sqlite";
import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sqliteHandle } from "../../src/server/store/sqlite/handle.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function open() {
  const dir = mkdtempSync(join(tmpdir(), "ct-group-"));
  dirs.push(dir);
  const path = join(dir, "db.sqlite");
  const db = new Database(path, { create: true, strict: true });
  db.exec("PRAGMA journal_mode = WAL");
  db.exec("CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER NOT NULL)");
  const sql: string[] = [];
  const h = sqliteHandle(db, (s) => sql.push(s));
  const insert = (k: string, v: number) => h.write(() => h.q("INSERT INTO t (k, v) VALUES ($k, $v)").run({ k, v }).changes);
  const keys = (d: Database) => (d.query("SELECT k FROM t ORDER BY k").all() as { k: string }[]).map((r) => r.k);
  return { path, db, h, sql, insert, keys };
}

const count = (sql: string[], text: string) => sql.filter((s) => s === text).length;

test("writes asked for in one turn share one transaction and each gets its own answer", async () => {
  const { h, sql, insert, keys, db } = open();
  const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => insert(`k${i}`, i)));
  expect(answers).toEqual(Array(10).fill(1));
  expect(count(sql, "BEGIN IMMEDIATE")).toBe(1);
  expect(count(sql, "COMMIT")).toBe(1);
  expect(count(sql, "SAVEPOINT w")).toBe(10);
  expect(keys(db)).toHaveLength(10);
  await h.close();
});

test("a write that throws is rolled back alone and rejects alone", async () => {
  const { h, insert, keys, db } = open();
  const first = insert("a", 1);
  const failing = h.write(() => {
    h.q("INSERT INTO t (k, v) VALUES ($k, $v)").run({ k: "half-done", v: 0 });
    throw new Error("decided against it");
  });
  const duplicate = insert("a", 2); // the primary key refuses it: SQLite's own error
  const results = await Promise.allSettled([first, failing, duplicate, insert("b", 3)]);
  expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "rejected", "fulfilled"]);
  expect(String((results[1] as PromiseRejectedResult).reason)).toContain("decided against it");
  expect(String((results[2] as PromiseRejectedResult).reason)).toContain("UNIQUE");
  expect(keys(db)).toEqual(["a", "b"]);
  expect(db.query("SELECT v FROM t WHERE k = 'a'").get()).toEqual({ v: 1 });
  expect(db.inTransaction).toBe(false);
  await h.close();
});

test("a caller hears of its write only once another connection can read it", async () => {
  const { h, insert, keys, path } = open();
  const other = new Database(path, { readonly: true });
  const seen: string[][] = [];
  await Promise.all(["x", "y", "z"].map((k, i) => insert(k, i).then(() => seen.push(keys(other)))));
  for (const s of seen) expect(s).toEqual(["x", "y", "z"]);
  other.close();
  await h.close();
});

test("a lone write runs in a transaction of its own, and a long queue commits in groups of at most 256", async () => {
  const { h, sql, insert, keys, db } = open();
  await insert("alone", 0);
  expect(count(sql, "BEGIN IMMEDIATE")).toBe(0); // bun's own transaction, not the group's statements
  expect(keys(db)).toEqual(["alone"]);
  await Promise.all(Array.from({ length: 600 }, (_, i) => insert(`n${String(i).padStart(3, "0")}`, i)));
  expect(count(sql, "COMMIT")).toBe(3);
  expect(keys(db)).toHaveLength(601);
  await h.close();
});

test("close waits for queued writes", async () => {
  const { h, insert, path } = open();
  const pending = insert("last", 1);
  await h.close();
  await pending;
  const again = new Database(path, { readonly: true });
  expect(again.query("SELECT v FROM t WHERE k = 'last'").get()).toEqual({ v: 1 });
  again.close();
});
