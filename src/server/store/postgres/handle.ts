// What every part of the PostgreSQL store shares: the pool (`sql`, from postgres.js, which
// prepares and caches each query text per connection by itself), transactions, and the
// task-row helpers more than one part needs.
import type postgres from "postgres";
import { TASK_MUTABLE, toTaskRow } from "../rows.ts";
import { type KeyPage, readLimit } from "../keyset.ts";
import type { TaskChange, TaskRow } from "../types.ts";
import { type PgHooks, writeOutbox } from "./outbox.ts";

export type Sql = postgres.Sql;
export type Tx = postgres.TransactionSql;

/** The first row mapped, or null when there is none. */
export const one = async <T>(q: Promise<any[]>, map: (r: any) => T): Promise<T | null> => {
  const [r] = await q;
  return r ? map(r) : null;
};

/** One transaction (BEGIN ... COMMIT, ROLLBACK when `fn` throws), typed by what `fn` returns. */
export const begin = <T>(sql: Sql, fn: (tx: Tx) => Promise<T>) => sql.begin(fn as any) as Promise<T>;

const mutable = (tx: Tx, t: TaskRow, cols: readonly string[]) =>
  Object.fromEntries(cols.map((c) => [c, c === "metadata" ? tx.json((t.metadata ?? {}) as any) : ((t as any)[c] ?? null)]));

export const updateTask = (tx: Tx, t: TaskRow, cols: readonly string[] = TASK_MUTABLE) =>
  tx`UPDATE tasks SET ${tx(mutable(tx, t, cols), ...cols)} WHERE id = ${t.id}`;

/** Passes each locked row to `decide` and writes what it returns (and the webhook deliveries it causes), all updates in one round trip. */
export const decideAll = async (tx: Tx, rows: any[], decide: (t: TaskRow) => TaskRow, hooks: PgHooks): Promise<TaskChange[]> => {
  const changes = rows.map((raw) => {
    const before = toTaskRow(raw);
    return { before, after: decide(before) };
  });
  await Promise.all([...changes.map((c) => updateTask(tx, c.after)), writeOutbox(tx, hooks, changes)]);
  return changes;
};

/** A keyset page's LIMIT (empty: all rows). */
export function pageLimit(sql: Sql, p: KeyPage) {
  const n = readLimit(p);
  return n === null ? sql`` : sql`LIMIT ${n}`;
}
