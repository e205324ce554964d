// Opens the configured store and applies pending migrations. PostgreSQL is loaded only
// when asked for, so the embedded SQLite path does not pay for it.
import { openSqlite } from "./sqlite.ts";
import type { Store, StoreOptions } from "./types.ts";

export type { Store, StoreOptions } from "./types.ts";

export async function openStore(opts: StoreOptions): Promise<Store> {
  if (opts.kind === "sqlite") return openSqlite(opts.path);
  const { openPostgres } = await import("./postgres.ts");
  return openPostgres(opts.url, opts.poolSize);
}
