// Opens the configured store and applies pending migrations. PostgreSQL is loaded only
// when asked for, so the embedded SQLite path does not pay for it. A SQLite file belongs
// to one server at a time: two servers on one file would each sweep, claim and register
// workers the other cannot see (issue 17), so the file is locked for the store's lifetime.
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { CliError, EXIT } from "../../util/errors.ts";
import { acquirePidLock } from "../../util/pidlock.ts";
import { openSqlite } from "./sqlite.ts";
import type { Store, StoreOptions, StoreTrace } from "./types.ts";

export type { Store, StoreOptions } from "./types.ts";

export async function openStore(opts: StoreOptions): Promise<Store> {
  if (opts.kind === "sqlite") return opts.path === ":memory:" ? openSqlite(opts.path, opts.trace) : openLockedSqlite(opts.path, opts.trace);
  const { openPostgres } = await import("./postgres.ts");
  return openPostgres(opts.url, opts.poolSize, { listen: opts.listen ?? true, trace: opts.trace });
}

/** `<db>.lock` (the lock) and `<db>.pid` (its holder) sit next to the database file. */
export function sqliteLockPaths(path: string) {
  return { file: `${path}.pid`, lock: `${path}.lock` };
}

async function openLockedSqlite(path: string, trace?: StoreTrace): Promise<Store> {
  mkdirSync(dirname(path), { recursive: true });
  const unlock = await acquirePidLock(
    sqliteLockPaths(path),
    (holder) =>
      new CliError(`database ${path} is in use by another codetether server (${holder}); stop it, or give this one another --db or --data-dir`, EXIT.FAILURE),
  );
  let store: Store;
  try {
    store = openSqlite(path, trace);
  } catch (err) {
    await unlock();
    throw err;
  }
  const close = store.close.bind(store);
  return Object.assign(store, {
    async close() {
      try {
        await close();
      } finally {
        await unlock();
      }
    },
  });
}
