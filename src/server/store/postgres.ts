// PostgreSQL store, for several server replicas on one database.
//
// Driver: the `postgres` npm package (postgres.js). Chosen because it is well kept and
// small with no native parts (runs unchanged on Bun and inside `bun build --compile`),
// prepares and caches every tagged-template query automatically, pipelines queries on a
// connection (Promise.all inside a transaction goes out in one round trip), and has
// first-class LISTEN/NOTIFY with automatic re-listen on reconnect, which is how a task
// created through one replica wakes a worker streaming from another.
//
// This file connects, migrates and puts the store together; each concern is a part in
// postgres/ that takes the pool: events (LISTEN/NOTIFY), workers, codebases, tasks
// (create and read), claims (`FOR UPDATE SKIP LOCKED`, and every other decision on a
// task's row), output, sessions.
import postgres from "postgres";
import { errorMessage } from "../../util/errors.ts";
import { redactUrl } from "../../util/redact.ts";
import { log } from "../../util/log.ts";
import { MIGRATION_LOCK_KEY, MIGRATIONS } from "./migrations.ts";
import { pgClaims } from "./postgres/claims.ts";
import { pgCodebases } from "./postgres/codebases.ts";
import { listenForEvents } from "./postgres/events.ts";
import type { Sql } from "./postgres/handle.ts";
import { pgOutbox, type PgHooks } from "./postgres/outbox.ts";
import { pgOutput } from "./postgres/output.ts";
import { pgRetention } from "./postgres/retention.ts";
import { pgSessions } from "./postgres/sessions.ts";
import { pgTasks } from "./postgres/tasks.ts";
import { pgWorkers } from "./postgres/workers.ts";
import type { Store, StoreTrace } from "./types.ts";

/** `url` without its query parameter `name` (the first one), and that parameter's value; null: absent, or a value `accept` refuses. */
function takeParam(url: string, name: string, accept: RegExp = /[^&]*/): { url: string; value: string | null } {
  const m = new RegExp(`([?&])${name}=(${accept.source})(&|$)`).exec(url);
  if (!m) return { url, value: null };
  const rest = url.slice(0, m.index) + (m[3] ? m[1] : "") + url.slice(m.index + m[0].length);
  return { url: rest.replace(/[?&]$/, ""), value: m[2]! };
}

/**
 * Two query parameters of the URL are read here, not sent on to PostgreSQL (which would
 * refuse them as unknown settings):
 * - `?pgbouncer=true` (as Prisma spells it) says the URL points at PgBouncer in transaction
 *   pooling: no prepared statements then, as a statement prepared on one server connection
 *   would be missing on the next;
 * - `?host=/var/run/postgresql` (as libpq spells it) connects through the Unix socket in that
 *   directory (`.s.PGSQL.<port>`), the host name of the URL then unused: on the database's
 *   own machine a socket costs the client less per query than TCP over loopback.
 */
export function parsePgUrl(url: string): { url: string; pgbouncer: boolean; host: string | null } {
  const bouncer = takeParam(url, "pgbouncer", /true|1|false|0/);
  const host = takeParam(bouncer.url, "host");
  return {
    url: host.url,
    pgbouncer: bouncer.value === "true" || bouncer.value === "1",
    host: host.value ? decodeURIComponent(host.value) : null,
  };
}

export async function openPostgres(rawUrl: string, poolSize = 10, o: { listen?: boolean; trace?: StoreTrace } = {}): Promise<Store> {
  const { url, pgbouncer, host } = parsePgUrl(rawUrl);
  // onnotice: NOTICEs ("relation ... already exists, skipping" from the migrations) are not worth a log line.
  const trace = o.trace;
  const sql: Sql = postgres(url, {
    max: poolSize,
    onnotice: () => undefined,
    connect_timeout: 10,
    idle_timeout: 0,
    prepare: !pgbouncer,
    ...(host ? { host } : {}),
    ...(trace ? { debug: (_conn: number, text: string, params: unknown[]) => trace(text, params) } : {}),
  });
  try {
    await migrate(sql);
  } catch (err) {
    // The migration's failure is the one to report; ending a pool to an unreachable
    // database can fail too, and must not replace it.
    await sql.end({ timeout: 1 }).catch(() => undefined);
    throw new Error(`PostgreSQL at ${redactUrl(url)}${host ? ` (socket directory ${host})` : ""}: ${errorMessage(err)}`);
  }
  // Without LISTEN (another bus carries the events, or PgBouncer in transaction pooling would
  // drop them: a LISTEN there holds no session), this store neither tells nor hears other replicas.
  const listen = o.listen !== false && !pgbouncer;
  if (o.listen !== false && pgbouncer)
    log(
      "warn",
      "PostgreSQL through PgBouncer (pgbouncer=true) without redis_url: replicas do not push to each other; workers find tasks by polling (set redis_url)",
    );
  const events = listen ? await listenForEvents(sql) : { publish: () => undefined, onEvent: () => undefined, stop: async () => undefined };
  const hooks: PgHooks = { outbox: null };
  return {
    kind: "postgres",
    crossReplica: listen,
    async close() {
      await events.stop();
      await sql.end({ timeout: 5 });
    },
    publish: events.publish,
    onEvent: events.onEvent,
    ...pgWorkers(sql, hooks),
    ...pgCodebases(sql),
    ...pgTasks(sql),
    ...pgClaims(sql, hooks),
    ...pgOutput(sql),
    ...pgSessions(sql),
    ...pgRetention(sql),
    ...pgOutbox(sql, hooks),
  };
}

async function migrate(sql: Sql): Promise<void> {
  await sql.begin(async (tx) => {
    // Replicas starting together queue here; the first applies, the others then find nothing to do.
    await tx`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`;
    await tx`CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`;
    const done = new Set((await tx`SELECT version FROM schema_migrations`).map((r) => Number(r.version)));
    for (const m of MIGRATIONS) {
      if (done.has(m.version)) continue;
      await tx.unsafe(m.postgres).simple();
      await tx`INSERT INTO schema_migrations (version, name, applied_at) VALUES (${m.version}, ${m.name}, ${new Date().toISOString()})`;
    }
  });
}
