// P8 dashboard: what a browser downloads on first load of `/` (raw and gzipped, from the
// compiled binary), and the task list the dashboard and CLI page through at 100,000 tasks
// on SQLite and PostgreSQL: first page newest first, a filtered page, page 10 by cursor,
// the workers' pending poll and an id-prefix lookup. Server time is the Server-Timing
// `db` figure of each answer (store work: page + count); the round trip over loopback is
// reported beside it.
import { Database } from "bun:sqlite";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import postgres from "postgres";
import { progress, QUICK, tempDir } from "./lib/env.ts";
import { freshDatabase } from "./lib/pg.ts";
import { startServerProc, type ServerProc } from "./lib/proc.ts";
import { benchmark, type Row } from "./lib/result.ts";
import { fmt, percentile, round } from "./lib/stats.ts";

const TASKS = 100_000;
const CODEBASES = 50;
const WORKERS = 10;
const N = QUICK ? 50 : 300;
const TARGET_MS = 5;
const TARGET_KB = 150;

/** Bytes of the page and every same-origin asset it names, raw and gzip -9. */
async function firstLoad(url: string) {
  const html = await (await fetch(url + "/")).text();
  const files = [{ path: "/", body: html }];
  for (const m of html.matchAll(/(?:src|href)="(\/[^"]+)"/g)) files.push({ path: m[1]!, body: await (await fetch(url + m[1])).text() });
  const enc = new TextEncoder();
  const sizes = files.map((f) => ({ path: f.path, raw: enc.encode(f.body).length, gzip: Bun.gzipSync(enc.encode(f.body), { level: 9 }).length }));
  return { files: sizes, raw: sizes.reduce((n, f) => n + f.raw, 0), gzip: sizes.reduce((n, f) => n + f.gzip, 0) };
}

// Same rows in both databases: 1 % pending, ~2.7 % failed, the rest completed, one second apart.
const SQLITE_SEED = `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ${TASKS - 1})
INSERT INTO tasks (id, codebase_id, route, prompt, agent_type, priority, status, metadata, worker_id, attempt, max_attempts, created_at, updated_at, completed_at)
SELECT printf('%08x-0000-7000-8000-%012x', i, i), 'cb' || (i % ${CODEBASES}), 'cb' || (i % ${CODEBASES}), 'prompt ' || i, 'build', i % 3,
  CASE WHEN i % 100 = 0 THEN 'pending' WHEN i % 37 = 0 THEN 'failed' ELSE 'completed' END, '{}',
  CASE WHEN i % 100 = 0 THEN NULL ELSE 'w' || (i % ${WORKERS}) END, 1, 3,
  strftime('%Y-%m-%dT%H:%M:%fZ', 1700000000 + i, 'unixepoch'), strftime('%Y-%m-%dT%H:%M:%fZ', 1700000000 + i, 'unixepoch'),
  CASE WHEN i % 100 = 0 THEN NULL ELSE strftime('%Y-%m-%dT%H:%M:%fZ', 1700000001 + i, 'unixepoch') END
FROM n`;
const ts = (e: string) => `to_char(to_timestamp(${e}) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
const PG_SEED = `INSERT INTO tasks (id, codebase_id, route, prompt, agent_type, priority, status, metadata, worker_id, attempt, max_attempts, created_at, updated_at, completed_at)
SELECT lpad(to_hex(i), 8, '0') || '-0000-7000-8000-' || lpad(to_hex(i), 12, '0'), 'cb' || (i % ${CODEBASES}), 'cb' || (i % ${CODEBASES}), 'prompt ' || i, 'build', i % 3,
  CASE WHEN i % 100 = 0 THEN 'pending' WHEN i % 37 = 0 THEN 'failed' ELSE 'completed' END, '{}',
  CASE WHEN i % 100 = 0 THEN NULL ELSE 'w' || (i % ${WORKERS}) END, 1, 3,
  ${ts("1700000000 + i")}, ${ts("1700000000 + i")}, CASE WHEN i % 100 = 0 THEN NULL ELSE ${ts("1700000001 + i")} END
FROM generate_series(0, ${TASKS - 1}) i`;

/** p50/p95 of Server-Timing db and of the round trip for GET `path`, after a warm-up. */
async function measure(url: string, path: string) {
  const db: number[] = [];
  const rtt: number[] = [];
  let count = 0;
  let total = "";
  for (let i = 0; i < N + 10; i++) {
    const t0 = performance.now();
    const res = await fetch(url + path);
    const body = (await res.json()) as unknown[];
    const ms = performance.now() - t0;
    if (res.status !== 200) throw new Error(`GET ${path}: ${res.status}`);
    count = body.length;
    total = res.headers.get("x-total-count") ?? "";
    const d = Number(/db;dur=([\d.]+)/.exec(res.headers.get("server-timing") ?? "")?.[1]);
    if (i >= 10) {
      db.push(d);
      rtt.push(ms);
    }
  }
  return {
    path,
    rows: count,
    total: Number(total),
    db_p50: round(percentile(db, 50), 2),
    db_p95: round(percentile(db, 95), 2),
    rtt_p50: round(percentile(rtt, 50), 2),
  };
}

/** The path of page `n` (1-based), following Link headers. */
async function pagePath(url: string, first: string, n: number): Promise<string> {
  let path = first;
  for (let i = 1; i < n; i++) {
    const next = /<([^>]+)>/.exec((await fetch(url + path)).headers.get("link") ?? "")?.[1];
    if (!next) throw new Error(`no page ${i + 1} after ${path}`);
    path = next;
  }
  return path;
}

async function listFigures(url: string) {
  const O = "/v1/opencode/tasks";
  return [
    await measure(url, `${O}?order=newest&limit=20`),
    await measure(url, `${O}?order=newest&limit=50`),
    await measure(url, `${O}?order=newest&limit=50&status=failed&codebase_id=cb7`),
    await measure(url, await pagePath(url, `${O}?order=newest&limit=50`, 10)),
    await measure(url, `${O}?status=pending&limit=100`),
    await measure(url, `${O}?id_prefix=0000abcd&order=newest`),
  ];
}

function listRow(store: string, figs: Awaited<ReturnType<typeof listFigures>>): Row {
  const [first20, first50, filtered, page10, poll, prefix] = figs;
  const worst = Math.max(first20!.db_p50, first50!.db_p50);
  return {
    id: "P8",
    what: `GET /tasks at ${TASKS.toLocaleString("en-US")} tasks, ${store} (Server-Timing db, p50 of ${N}; round trip beside)`,
    result:
      `newest first page: ${fmt(first20!.db_p50, 2)} ms (limit 20), ${fmt(first50!.db_p50, 2)} ms (limit 50; rtt ${fmt(first50!.rtt_p50, 2)}) · ` +
      `status+codebase filter ${fmt(filtered!.db_p50, 2)} ms · page 10 by cursor ${fmt(page10!.db_p50, 2)} ms · ` +
      `pending poll ${fmt(poll!.db_p50, 2)} ms · id_prefix ${fmt(prefix!.db_p50, 2)} ms (each with its count: X-Total-Count, or X-Total-Count-At-Least past 10,000)`,
    target: `first page ≤ ${TARGET_MS} ms server time`,
    pass: worst <= TARGET_MS,
  };
}

await benchmark("p8-dashboard", "Dashboard", { tasks: TASKS, codebases: CODEBASES, requests_per_figure: N }, async ({ rows, data }) => {
  const tmp = tempDir("p8");
  let server: ServerProc | null = null;
  try {
    progress(`P8: SQLite server, seeding ${TASKS} tasks`);
    server = await startServerProc(mkdirSync(join(tmp.path, "sqlite"), { recursive: true })!);
    const load = await firstLoad(server.url);
    data.first_load = load;
    rows.push({
      id: "P8",
      what: "dashboard first load: /, its script and stylesheet, from the compiled binary",
      result: `${fmt(load.gzip / 1024, 1)} KB gzipped (${fmt(load.raw / 1024, 1)} KB raw, ${load.files.length} files; the server sends them uncompressed)`,
      target: `≤ ${TARGET_KB} KB gzipped`,
      pass: load.gzip <= TARGET_KB * 1024,
    });
    const db = new Database(join(tmp.path, "sqlite", "server.db"));
    db.exec("PRAGMA busy_timeout = 5000");
    db.exec(SQLITE_SEED);
    db.exec("ANALYZE");
    db.close();
    progress("P8: SQLite task list");
    const sq = await listFigures(server.url);
    data.sqlite = sq;
    rows.push(listRow("SQLite", sq));
    await server.stop();
    server = null;

    const pg = await freshDatabase();
    if ("error" in pg) {
      rows.push({ id: "P8", what: "GET /tasks at 100,000 tasks, PostgreSQL", result: `skipped: ${pg.error}`, pass: null });
      return;
    }
    try {
      progress(`P8: PostgreSQL server, seeding ${TASKS} tasks`);
      server = await startServerProc(mkdirSync(join(tmp.path, "pg"), { recursive: true })!, { databaseUrl: pg.url });
      const sql = postgres(pg.url, { max: 1, onnotice: () => {} });
      await sql.unsafe(PG_SEED);
      // What autovacuum does after a bulk load: statistics, and the visibility map that lets
      // counts read the index alone.
      await sql.unsafe("VACUUM ANALYZE tasks");
      await sql.end();
      progress("P8: PostgreSQL task list");
      const pf = await listFigures(server.url);
      data.postgres = { server_version: pg.serverVersion, figures: pf };
      rows.push(listRow(`PostgreSQL ${pg.serverVersion.split(" ")[0]}`, pf));
      await server.stop();
      server = null;
    } finally {
      await pg.drop();
    }
  } finally {
    await server?.stop();
    tmp.cleanup();
  }
});
process.exit();
