// A fresh PostgreSQL database per run (CREATE DATABASE bench_<random>), dropped afterwards.
import postgres from "postgres";
import { parsePgUrl } from "../../src/server/store/postgres.ts";
import { PG_URL } from "./env.ts";

export interface BenchDatabase {
  url: string;
  serverVersion: string;
  drop(): Promise<void>;
}

async function admin<T>(fn: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const { url, host } = parsePgUrl(PG_URL); // ?host=<socket directory>, as the server reads it
  const sql = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 5, ...(host ? { host } : {}) });
  try {
    return await fn(sql);
  } finally {
    await sql.end({ timeout: 2 });
  }
}

/** null (with the reason) when PostgreSQL is not reachable. */
export async function freshDatabase(): Promise<BenchDatabase | { error: string }> {
  const name = `bench_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
  let serverVersion = "";
  try {
    serverVersion = await admin(async (sql) => {
      await sql.unsafe(`CREATE DATABASE ${name}`);
      return String((await sql`SHOW server_version`)[0]!.server_version);
    });
  } catch (err) {
    return { error: `PostgreSQL at ${PG_URL.replace(/\/\/[^@]*@/, "//***@")} unavailable: ${(err as Error).message}` };
  }
  const u = new URL(PG_URL);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    serverVersion,
    drop: () => admin((sql) => sql.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => {}),
  };
}
