// PostgreSQL for tests: a fresh database per caller, made from TEST_DATABASE_URL and
// dropped afterwards. Without TEST_DATABASE_URL the PostgreSQL tests are skipped (with a
// printed reason), never silently passed.
import postgres from "postgres";

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL || undefined;

const warned = new Set<string>();
/** True when PostgreSQL tests can run; otherwise prints why `what` is skipped (once). */
export function havePg(what: string): boolean {
  if (TEST_DATABASE_URL) return true;
  if (!warned.has(what)) {
    warned.add(what);
    console.warn(`[skip] ${what}: TEST_DATABASE_URL is not set (e.g. postgres://postgres@127.0.0.1:5432/test)`);
  }
  return false;
}

export interface TestDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

async function admin<T>(fn: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(TEST_DATABASE_URL!, { max: 1, onnotice: () => {} });
  try {
    return await fn(sql);
  } finally {
    await sql.end({ timeout: 2 });
  }
}

export async function freshDatabase(): Promise<TestDatabase> {
  if (!TEST_DATABASE_URL) throw new Error("freshDatabase() needs TEST_DATABASE_URL");
  const name = `t_${crypto.randomUUID().replaceAll("-", "").slice(0, 20)}`;
  await admin((sql) => sql.unsafe(`CREATE DATABASE ${name}`));
  const u = new URL(TEST_DATABASE_URL);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    name,
    // FORCE: a server under test may still hold connections when a test fails half-way.
    drop: () => admin((sql) => sql.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => {}),
  };
}
