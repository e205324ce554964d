// The database URL's own parameters (src/server/store/postgres.ts parsePgUrl): `pgbouncer`
// and libpq's `host=<socket directory>` are read by the server, not sent to PostgreSQL as
// settings (which refuses unknown ones), and a store opened through the Unix socket works.
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { openStore } from "../../src/server/store/index.ts";
import { parsePgUrl } from "../../src/server/store/postgres.ts";
import { freshDatabase, NO_PG, TEST_DATABASE_URL } from "../helpers/pg.ts";
import { describeUnless } from "../helpers/skip.ts";
import { pendingTask } from "../helpers/tasks.ts";

describe("database URL parameters", () => {
  test("pgbouncer and host are taken off the URL, the rest is kept in order", () => {
    expect(parsePgUrl("postgres://u@h/db")).toEqual({ url: "postgres://u@h/db", pgbouncer: false, host: null });
    expect(parsePgUrl("postgres://u@h/db?pgbouncer=true")).toEqual({ url: "postgres://u@h/db", pgbouncer: true, host: null });
    expect(parsePgUrl("postgres://u@h/db?sslmode=require&host=%2Fvar%2Frun%2Fpostgresql&application_name=ct")).toEqual({
      url: "postgres://u@h/db?sslmode=require&application_name=ct",
      pgbouncer: false,
      host: "/var/run/postgresql",
    });
    expect(parsePgUrl("postgres://u@localhost/db?host=/run/pg&pgbouncer=1")).toEqual({ url: "postgres://u@localhost/db", pgbouncer: true, host: "/run/pg" });
    // a pgbouncer value that means nothing is left for PostgreSQL to refuse by name
    expect(parsePgUrl("postgres://u@h/db?pgbouncer=maybe").url).toBe("postgres://u@h/db?pgbouncer=maybe");
  });
});

const SOCKET_DIR = "/var/run/postgresql";
const noSocket = NO_PG ?? (existsSync(`${SOCKET_DIR}/.s.PGSQL.5432`) ? undefined : `no PostgreSQL socket in ${SOCKET_DIR}`);

describeUnless(noSocket, "PostgreSQL through its Unix socket (?host=)", () => {
  test("a store opened with ?host=<socket directory> works; a directory without a socket is an error naming it", async () => {
    const db = await freshDatabase();
    try {
      const user = new URL(TEST_DATABASE_URL!).username || "postgres";
      // The URL's host name is not used: the socket is.
      const store = await openStore({ kind: "postgres", url: `postgres://${user}@nowhere.invalid/${db.name}?host=${SOCKET_DIR}` });
      try {
        const t = await store.insertTask(pendingTask());
        expect((await store.getTask(t.id))?.id).toBe(t.id);
      } finally {
        await store.close();
      }
      const err = await openStore({ kind: "postgres", url: `postgres://${user}@localhost/${db.name}?host=/nonexistent-dir` }).then(
        () => null,
        (e: Error) => e.message,
      );
      expect(err).toContain("(socket directory /nonexistent-dir)");
    } finally {
      await db.drop();
    }
  });
});
