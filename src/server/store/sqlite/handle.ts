// The handle every part of the SQLite store takes: the database, its prepared statements,
// the write transaction, and the task-row helpers more than one part needs.
import type { Database, Statement } from "bun:sqlite";
import { TASK_JSON_COLUMNS, TASK_MUTABLE, toTaskRow } from "../rows.ts";
import { type KeyPage, readLimit } from "../keyset.ts";
import type { NewDelivery, StoreTrace, TaskChange, TaskRow } from "../types.ts";
import { writeOutbox } from "./outbox.ts";

export type P = Record<string, string | number | boolean | null>;
export type Raw = Record<string, any>;

export interface Sqlite {
  readonly db: Database;
  /** The statement for this SQL text, compiled on first use and reused until the store closes. */
  q(sql: string): Statement;
  /**
   * Runs `fn` in a `BEGIN IMMEDIATE` transaction: the write lock is taken before the first
   * read, so two claimers can never both see a task as pending. Settles once that
   * transaction has committed (or `fn` threw: then nothing `fn` wrote stays). Writes asked
   * for in one turn of the event loop share one transaction, each in a savepoint of its own
   * (group commit, see below); `fn` must be synchronous and must not call `write` itself.
   */
  write<T>(fn: () => T): Promise<T>;
  /** Waits for queued writes, finalizes every statement, then closes the database. */
  close(): Promise<void>;
  /** The webhook deliveries a task change causes (outbox.ts); null: none configured. */
  outbox: ((c: TaskChange) => NewDelivery[]) | null;
}

// Group commit (issue 13). A commit is most of a small write's cost on SQLite: the WAL
// frames of every page the transaction dirtied (a task row and its indexes, ~15 pages) are
// written out each time. Under load many requests want a write in the same turn of the
// event loop (32 workers claiming and reporting, creators creating), and most of them dirty
// the same pages, so they are queued and run together at the end of the turn: one BEGIN
// IMMEDIATE, a SAVEPOINT per write (one that throws is rolled back alone and rejects alone),
// one COMMIT, then every caller's promise settles. No caller hears "done" before its commit,
// so an answered request is as durable as before. A lone write runs as before, in its own
// transaction; the wait is one setImmediate.
const MAX_GROUP = 256;

interface Queued {
  fn: () => unknown;
  resolve: (v: any) => void;
  reject: (e: unknown) => void;
}

export function sqliteHandle(db: Database, trace?: StoreTrace): Sqlite {
  // Our own cache rather than db.query(): bun keeps only the 20 most recently used texts
  // there, and this store has more (about 40 fixed ones plus one per task-list filter), so
  // a dashboard poll could push the claim statement out and the next claim would compile
  // it again. Every text is built from constants and the combination of filters given,
  // never from values, so this map stays a few dozen entries long.
  const statements = new Map<string, Statement>();
  // One transaction wrapper for every write: db.transaction() builds a new one per call (~5 µs).
  const tx = db.transaction(<T>(fn: () => T): T => fn());
  const q = (sql: string): Statement => {
    let s = statements.get(sql);
    if (!s) statements.set(sql, (s = trace ? traced(db.prepare(sql), sql, trace) : db.prepare(sql)));
    return s;
  };
  let queue: Queued[] = [];

  function runAlone(w: Queued): void {
    try {
      w.resolve(tx.immediate(w.fn));
    } catch (e) {
      w.reject(e);
    }
  }

  function runGroup(group: Queued[]): void {
    const settle: (() => void)[] = [];
    try {
      q("BEGIN IMMEDIATE").run();
    } catch (e) {
      for (const w of group) w.reject(e);
      return;
    }
    try {
      for (const w of group) {
        q("SAVEPOINT w").run();
        try {
          const v = w.fn();
          q("RELEASE w").run();
          settle.push(() => w.resolve(v));
        } catch (e) {
          q("ROLLBACK TO w").run();
          q("RELEASE w").run();
          settle.push(() => w.reject(e));
        }
      }
      q("COMMIT").run();
    } catch (e) {
      // The savepoint statements or the commit failed (disk full, I/O): nothing of the group stays.
      if (db.inTransaction) db.run("ROLLBACK");
      for (const w of group) w.reject(e);
      return;
    }
    for (const s of settle) s();
  }

  function flush(): void {
    while (queue.length) {
      const group = queue.length > MAX_GROUP ? queue.splice(0, MAX_GROUP) : queue;
      if (group === queue) queue = [];
      if (group.length === 1) runAlone(group[0]!);
      else runGroup(group);
    }
  }

  return {
    db,
    q,
    write<T>(fn: () => T): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queue.push({ fn, resolve, reject });
        if (queue.length === 1) setImmediate(flush);
      });
    },
    outbox: null,
    async close() {
      // Queued writes flush in the setImmediate already scheduled; one scheduled now runs after it.
      if (queue.length) await new Promise((r) => setImmediate(r));
      for (const s of statements.values()) s.finalize();
      statements.clear();
      db.close();
    },
  };
}

/** `s`, telling `trace` its SQL and parameters before each run. */
function traced(s: Statement, sql: string, trace: StoreTrace): Statement {
  return new Proxy(s, {
    get(target, k) {
      const v = Reflect.get(target, k);
      if (typeof v !== "function") return v;
      if (k !== "all" && k !== "get" && k !== "run" && k !== "values") return v.bind(target);
      return (...args: unknown[]) => {
        trace(sql, args[0]);
        return v.apply(target, args);
      };
    },
  });
}

/** Named parameters of a task's columns: JSON columns as text, booleans as 0/1. */
export function taskParams(t: TaskRow, cols: readonly string[]): P {
  const p: P = {};
  for (const c of cols) {
    const v = (t as any)[c];
    p[c] = TASK_JSON_COLUMNS.has(c) ? JSON.stringify(v ?? (c === "metadata" ? {} : [])) : typeof v === "boolean" ? (v ? 1 : 0) : (v ?? null);
  }
  return p;
}

export const getTaskRaw = (h: Sqlite, id: string) => h.q("SELECT * FROM tasks WHERE id = $id").get({ id }) as Raw | null;

export const updateTask = (h: Sqlite, t: TaskRow, cols: readonly string[] = TASK_MUTABLE) =>
  h.q(`UPDATE tasks SET ${cols.map((c) => `${c} = $${c}`).join(", ")} WHERE id = $id`).run({ ...taskParams(t, cols), id: t.id });

/** Passes each row to `decide` and writes what it returns; call inside `write`. */
export const decideAll = (h: Sqlite, rows: Raw[], decide: (t: TaskRow) => TaskRow): TaskChange[] =>
  rows.map((raw) => {
    const before = toTaskRow(raw);
    const after = decide(before);
    updateTask(h, after);
    writeOutbox(h, { before, after });
    return { before, after };
  });

/** A keyset page's parameters: the key as `$k0, $k1, ...` (for the list's "after" condition) and `LIMIT $limit` (empty: all rows). */
export function pageParams(p: KeyPage): { params: P; limit: string } {
  const params: P = {};
  p.after?.forEach((v, i) => {
    params[`k${i}`] = v;
  });
  const n = readLimit(p);
  if (n !== null) params.limit = n;
  return { params, limit: n === null ? "" : "LIMIT $limit" };
}
