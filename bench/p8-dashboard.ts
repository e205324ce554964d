// P8 dashboard and data growth: what a browser downloads on first load of `/` (raw and
// gzipped, from the compiled binary), then, on SQLite and PostgreSQL, a store that has run
// for a long time (1,000,000 finished tasks with 20 output lines each; --quick 100,000)
// beside an empty one served at the same time: the task list the dashboard and CLI page
// through (first page newest first, a filtered page, page 10 by cursor, the workers' pending
// poll, an id-prefix lookup), `codetether task list` (compiled binary, wall), task creation
// (POST /tasks from a few concurrent loops, rounds alternating between the two servers so
// load from elsewhere hits both alike), the fleet views (monitor, /metrics) and the server's
// RSS afterwards. Server time is the
// Server-Timing `db` figure of each answer (store work: page + count); the round trip over
// loopback is reported beside it.
import { Database } from "bun:sqlite";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import postgres from "postgres";
import { binary, progress, QUICK, tempDir } from "./lib/env.ts";
import { pgSeed, type SeedShape, sqliteSeed, totalRows } from "./lib/p8-seed.ts";
import { freshDatabase } from "./lib/pg.ts";
import { startServerProc, type ServerProc } from "./lib/proc.ts";
import { benchmark, type Row } from "./lib/result.ts";
import { fmt, percentile, round } from "./lib/stats.ts";

const SHAPE: SeedShape = { finished: QUICK ? 100_000 : 1_000_000, lines: 20, codebases: 50, workers: 10 };
const TASKS = totalRows(SHAPE);
const N = QUICK ? 50 : 300;
const CLI_RUNS = QUICK ? 8 : 20;
const CREATE = { loops: 4, perRound: QUICK ? 300 : 1000, rounds: 3 };
const TARGET = { ms: 5, kb: 150, cliMs: 60, createRatio: 0.8, rssMb: 150 };
const SIZE = `${SHAPE.finished.toLocaleString("en-US")} finished tasks × ${SHAPE.lines} output lines`;

/** Bytes of the page and every same-origin asset it names, raw and gzip -9. */
async function firstLoad(url: string) {
  const html = await (await fetch(url + "/")).text();
  const files = [{ path: "/", body: html }];
  for (const m of html.matchAll(/(?:src|href)="(\/[^"]+)"/g)) files.push({ path: m[1]!, body: await (await fetch(url + m[1])).text() });
  const enc = new TextEncoder();
  const sizes = files.map((f) => ({ path: f.path, raw: enc.encode(f.body).length, gzip: Bun.gzipSync(enc.encode(f.body), { level: 9 }).length }));
  return { files: sizes, raw: sizes.reduce((n, f) => n + f.raw, 0), gzip: sizes.reduce((n, f) => n + f.gzip, 0) };
}

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

function listRow(store: string, seedS: number, figs: Awaited<ReturnType<typeof listFigures>>): Row {
  const [first20, first50, filtered, page10, poll, prefix] = figs;
  const worst = Math.max(first20!.db_p50, first50!.db_p50);
  return {
    id: "P8",
    what: `GET /tasks at ${SIZE} (${TASKS.toLocaleString("en-US")} tasks; seeded in ${fmt(seedS, 0)} s), ${store} (Server-Timing db, p50 of ${N}; round trip beside)`,
    result:
      `newest first page: ${fmt(first20!.db_p50, 2)} ms (limit 20), ${fmt(first50!.db_p50, 2)} ms (limit 50; rtt ${fmt(first50!.rtt_p50, 2)}) · ` +
      `status+codebase filter ${fmt(filtered!.db_p50, 2)} ms · page 10 by cursor ${fmt(page10!.db_p50, 2)} ms · ` +
      `pending poll ${fmt(poll!.db_p50, 2)} ms · id_prefix ${fmt(prefix!.db_p50, 2)} ms (each with its count: X-Total-Count, or X-Total-Count-At-Least past 10,000)`,
    target: `first page ≤ ${TARGET.ms} ms server time`,
    pass: worst <= TARGET.ms,
  };
}

/** Wall ms of one `codetether task list` (compiled binary, default: newest 100, table output). */
function taskListOnce(url: string, home: string): number {
  const t0 = performance.now();
  const r = Bun.spawnSync([binary(), "task", "list"], {
    cwd: home,
    env: { ...process.env, HOME: home, XDG_CONFIG_HOME: undefined, NO_COLOR: "1", A2A_SERVER_URL: url, A2A_CONFIG: undefined } as unknown as Record<
      string,
      string
    >,
    stdout: "pipe",
    stderr: "pipe",
  });
  const ms = performance.now() - t0;
  if (r.exitCode !== 0) throw new Error(`codetether task list exited ${r.exitCode}: ${r.stderr.toString().slice(0, 500)}`);
  return ms;
}

/** p50 wall of `task list` against each server, runs alternating between them (2 warm-ups each). */
function taskListWall(servers: { empty: string; full: string }, home: string) {
  const t = { empty: [] as number[], full: [] as number[] };
  for (let i = -2; i < CLI_RUNS; i++) {
    for (const k of ["empty", "full"] as const) {
      const ms = taskListOnce(servers[k], home);
      if (i >= 0) t[k].push(ms);
    }
  }
  return { empty_p50: round(percentile(t.empty, 50), 1), full_p50: round(percentile(t.full, 50), 1), samples: t };
}

/** Tasks created per second by `CREATE.loops` concurrent POST loops, `n` tasks in all. */
async function createRate(url: string, n: number): Promise<number> {
  let issued = 0;
  const body = JSON.stringify({ prompt: "P8 create", title: "bench", agent_type: "build" });
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CREATE.loops }, async () => {
      while (issued < n) {
        issued++;
        const res = await fetch(`${url}/v1/opencode/tasks`, { method: "POST", headers: { "content-type": "application/json" }, body });
        if (res.status !== 201) throw new Error(`POST /tasks: ${res.status} ${await res.text()}`);
        await res.arrayBuffer();
      }
    }),
  );
  return n / ((performance.now() - t0) / 1000);
}

/** Median create rate of each server over alternating rounds, after a warm-up round each. */
async function createFigures(servers: { empty: string; full: string }) {
  const r = { empty: [] as number[], full: [] as number[] };
  for (let i = -1; i < CREATE.rounds; i++) {
    for (const k of ["empty", "full"] as const) {
      const rate = await createRate(servers[k], i < 0 ? 100 : CREATE.perRound);
      if (i >= 0) r[k].push(round(rate, 1));
    }
  }
  const empty = percentile(r.empty, 50);
  const full = percentile(r.full, 50);
  return { empty_per_s: round(empty, 0), full_per_s: round(full, 0), ratio: round(full / empty, 2), rounds: r };
}

/** p50 round trip (ms) of GET `path` on each server, requests alternating between them, after a warm-up. */
async function roundTrips(servers: { empty: string; full: string }, path: string) {
  const t = { empty: [] as number[], full: [] as number[] };
  for (let i = -5; i < N; i++) {
    for (const k of ["empty", "full"] as const) {
      const t0 = performance.now();
      const res = await fetch(servers[k] + path);
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`GET ${path}: ${res.status}`);
      if (i >= 0) t[k].push(performance.now() - t0);
    }
  }
  return { empty_p50: round(percentile(t.empty, 50), 2), full_p50: round(percentile(t.full, 50), 2) };
}

/**
 * The fleet views a dashboard polls and Prometheus scrapes, with the seed's workers registered
 * on both servers: they count each worker's running and completed tasks, which must not mean
 * reading every finished task (migration 9).
 */
async function fleetViews(servers: { empty: string; full: string }) {
  for (const url of Object.values(servers))
    for (let i = 0; i < SHAPE.workers; i++) {
      const res = await fetch(`${url}/v1/opencode/workers/register`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-worker-id": `w${i}` },
        body: JSON.stringify({ worker_id: `w${i}`, name: `w${i}`, codebases: [] }),
      });
      if (res.status >= 300) throw new Error(`register w${i}: ${res.status} ${await res.text()}`);
    }
  return { monitor: await roundTrips(servers, "/v1/monitor/workers"), metrics: await roundTrips(servers, "/metrics") };
}

/** Everything measured on one store kind: a seeded server and an empty one side by side. */
async function growthRows(store: string, full: ServerProc, empty: ServerProc, seedS: number, home: string, rows: Row[]) {
  progress(`P8: ${store} task list (${N} requests a figure)`);
  const list = await listFigures(full.url);
  rows.push(listRow(store, seedS, list));
  progress(`P8: ${store} codetether task list, ${CLI_RUNS} runs a server`);
  const servers = { empty: empty.url, full: full.url };
  const cli = taskListWall(servers, home);
  rows.push({
    id: "P8",
    what: `\`codetether task list\` (compiled binary: start, GET /tasks?order=newest&limit=100 and /codebases, print), ${store}, ${SIZE}; wall p50 of ${CLI_RUNS}`,
    result: `${fmt(cli.full_p50, 1)} ms`,
    baseline: `empty store, runs alternating: ${fmt(cli.empty_p50, 1)} ms`,
    target: `≤ ${TARGET.cliMs} ms wall`,
    pass: cli.full_p50 <= TARGET.cliMs,
  });
  progress(`P8: ${store} task creation, ${CREATE.rounds} rounds of ${CREATE.perRound} a server`);
  const create = await createFigures(servers);
  rows.push({
    id: "P8",
    what: `task creation (POST /tasks, ${CREATE.loops} concurrent loops, median of ${CREATE.rounds} rounds of ${CREATE.perRound}, alternating with an empty store), ${store}, ${SIZE}`,
    result: `${fmt(create.full_per_s, 0)} tasks/s = ${fmt(create.ratio, 2)}× the empty store's`,
    baseline: `empty store: ${fmt(create.empty_per_s, 0)} tasks/s`,
    target: `≥ ${TARGET.createRatio}× an empty store's`,
    pass: create.ratio >= TARGET.createRatio,
  });
  progress(`P8: ${store} fleet views (monitor, /metrics), ${N} requests a server`);
  const fleet = await fleetViews(servers);
  const worst = Math.max(fleet.monitor.full_p50 / fleet.monitor.empty_p50, fleet.metrics.full_p50 / fleet.metrics.empty_p50);
  rows.push({
    id: "P8",
    what: `fleet views: GET /v1/monitor/workers and GET /metrics with ${SHAPE.workers} registered workers, ${store}, ${SIZE}; round trip p50 of ${N}, alternating with an empty store`,
    result: `monitor ${fmt(fleet.monitor.full_p50, 2)} ms, /metrics ${fmt(fleet.metrics.full_p50, 2)} ms (the worse ${fmt(worst, 2)}× the empty store's)`,
    baseline: `empty store: monitor ${fmt(fleet.monitor.empty_p50, 2)} ms, /metrics ${fmt(fleet.metrics.empty_p50, 2)} ms`,
    target: "≤ 2× the empty store's",
    pass: worst <= 2,
  });
  const mem = full.memory();
  const emptyMem = empty.memory();
  const mb = (b: number) => b / 2 ** 20;
  rows.push({
    id: "P8",
    what: `server RSS after the above (list, task list, creates), ${store}, ${SIZE}`,
    result: `${fmt(mb(mem.rss), 1)} MB (peak ${fmt(mb(mem.peak), 1)} MB)`,
    baseline: `empty store after the same: ${fmt(mb(emptyMem.rss), 1)} MB (peak ${fmt(mb(emptyMem.peak), 1)} MB)`,
    target: `≤ ${TARGET.rssMb} MB`,
    pass: mb(mem.rss) <= TARGET.rssMb,
  });
  return { list, cli, create, fleet, rss: mem, empty_rss: emptyMem };
}

await benchmark("p8-dashboard", "Dashboard", { ...SHAPE, tasks: TASKS, requests_per_figure: N, cli_runs: CLI_RUNS, create: CREATE }, async ({ rows, data }) => {
  const tmp = tempDir("p8");
  const home = mkdirSync(join(tmp.path, "home"), { recursive: true })!;
  const servers: ServerProc[] = [];
  const start = async (...a: Parameters<typeof startServerProc>) => {
    const s = await startServerProc(...a);
    servers.push(s);
    return s;
  };
  const stopAll = async () => {
    for (const s of servers.splice(0)) await s.stop();
  };
  try {
    const empty = await start(mkdirSync(join(tmp.path, "sqlite-empty"), { recursive: true })!);
    const load = await firstLoad(empty.url);
    data.first_load = load;
    rows.push({
      id: "P8",
      what: "dashboard first load: /, its script and stylesheet, from the compiled binary",
      result: `${fmt(load.gzip / 1024, 1)} KB gzipped (${fmt(load.raw / 1024, 1)} KB raw, ${load.files.length} files; the server sends them uncompressed)`,
      target: `≤ ${TARGET.kb} KB gzipped`,
      pass: load.gzip <= TARGET.kb * 1024,
    });

    // SQLite: the server creates the schema, then stops while the file is filled (one
    // transaction, no WAL copy of 3 GB), then serves the grown file.
    const dir = mkdirSync(join(tmp.path, "sqlite"), { recursive: true })!;
    await (await startServerProc(dir)).stop();
    progress(`P8: SQLite, seeding ${TASKS} tasks and ${SHAPE.finished * SHAPE.lines} output lines`);
    let t0 = performance.now();
    const db = new Database(join(dir, "server.db"));
    db.exec("PRAGMA journal_mode = DELETE; PRAGMA synchronous = OFF");
    db.transaction(() => {
      for (const stmt of sqliteSeed(SHAPE)) db.exec(stmt);
    })();
    db.exec("ANALYZE; PRAGMA journal_mode = WAL");
    db.close();
    const sqliteSeedS = (performance.now() - t0) / 1000;
    const full = await start(dir);
    data.sqlite = { seed_s: round(sqliteSeedS, 1), ...(await growthRows("SQLite", full, empty, sqliteSeedS, home, rows)) };
    await stopAll();

    const pgFull = await freshDatabase();
    if ("error" in pgFull) {
      rows.push({ id: "P8", what: `data growth, ${SIZE}, PostgreSQL`, result: `skipped: ${pgFull.error}`, pass: null });
      return;
    }
    const pgEmpty = await freshDatabase();
    try {
      if ("error" in pgEmpty) throw new Error(pgEmpty.error);
      const pgServer = await start(mkdirSync(join(tmp.path, "pg"), { recursive: true })!, { databaseUrl: pgFull.url });
      const pgEmptyServer = await start(mkdirSync(join(tmp.path, "pg-empty"), { recursive: true })!, { databaseUrl: pgEmpty.url });
      progress(`P8: PostgreSQL, seeding ${TASKS} tasks and ${SHAPE.finished * SHAPE.lines} output lines`);
      t0 = performance.now();
      const sql = postgres(pgFull.url, { max: 1, onnotice: () => {} });
      for (const stmt of pgSeed(SHAPE)) await sql.unsafe(stmt);
      // What autovacuum does after a bulk load: statistics, and the visibility map that lets
      // counts read the index alone (done now, so it does not run during the measurements).
      await sql.unsafe("VACUUM ANALYZE tasks");
      await sql.unsafe("VACUUM ANALYZE task_outputs");
      await sql.end();
      const pgSeedS = (performance.now() - t0) / 1000;
      const store = `PostgreSQL ${pgFull.serverVersion.split(" ")[0]}`;
      data.postgres = {
        server_version: pgFull.serverVersion,
        seed_s: round(pgSeedS, 1),
        ...(await growthRows(store, pgServer, pgEmptyServer, pgSeedS, home, rows)),
      };
      await stopAll();
    } finally {
      await stopAll();
      await pgFull.drop();
      if (!("error" in pgEmpty)) await pgEmpty.drop();
    }
  } finally {
    await stopAll();
    tmp.cleanup();
  }
});
process.exit();
