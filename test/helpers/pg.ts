// PostgreSQL for tests: a fresh database per caller, made from TEST_DATABASE_URL and
// dropped afterwards. Without TEST_DATABASE_URL the PostgreSQL tests are counted skips
// with the reason in their name (test/helpers/skip.ts), never silently passed.
import postgres from "postgres";

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL || undefined;

/** Why PostgreSQL tests cannot run here, or undefined when they can (see describeUnless). */
export const NO_PG: string | undefined = TEST_DATABASE_URL ? undefined : "TEST_DATABASE_URL is not set";

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
