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
   * Runs `fn` in one `BEGIN IMMEDIATE` transaction: the write lock is taken before the
   * first read, so two claimers can never both see a task as pending.
   */
  write<T>(fn: () => T): T;
  /** Finalizes every statement, then closes the database. */
  close(): void;
  /** The webhook deliveries a task change causes (outbox.ts); null: none configured. */
  outbox: ((c: TaskChange) => NewDelivery[]) | null;
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
  return {
    db,
    q(sql) {
      let s = statements.get(sql);
      if (!s) statements.set(sql, (s = trace ? traced(db.prepare(sql), sql, trace) : db.prepare(sql)));
      return s;
    },
    write: (fn) => tx.immediate(fn) as ReturnType<typeof fn>,
    outbox: null,
    close() {
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
