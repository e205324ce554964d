// Every list statement runs on an index (issue 13, P8): the store is opened with a trace of
// what it runs, every list call the routes make is made (first page and a cursor page, with
// each combination of the task list's filters, in both orders), and each statement the store
// really ran is explained by the database itself with the parameters it ran with. A full
// scan of a table (SQLite `SCAN t` without an index; PostgreSQL a Seq Scan even with
// enable_seqscan off) or a sort of the rows (SQLite `USE TEMP B-TREE FOR ORDER BY`;
// PostgreSQL a Sort node even with enable_sort off) fails, so a page's cost cannot grow with
// the table. The plans do not depend on the data: SQLite without ANALYZE assumes large
// tables, and PostgreSQL picks a scan or a sort then only when no index can do the job.
import { Database } from "bun:sqlite";
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import postgres from "postgres";
import { openStore, type Store } from "../../src/server/store/index.ts";
import type { KeyPage } from "../../src/server/store/keyset.ts";
import type { TaskFilter, TaskOrder } from "../../src/server/store/task-list.ts";
import { freshDatabase, NO_PG, type TestDatabase } from "../helpers/pg.ts";
import { tempDir } from "../helpers/proc.ts";
import { describeUnless } from "../helpers/skip.ts";
import { pendingTask, workerInput } from "../helpers/tasks.ts";

const FILTERS: (keyof TaskFilter)[] = ["status", "codebase_id", "worker_id", "id_prefix"];
const VALUES: Required<TaskFilter> = { status: "completed", codebase_id: "cb1", worker_id: "w1", id_prefix: "0190abcd" };
const TS = "2026-01-01T00:00:00.000Z";

/**
 * Sorts that are allowed, and why: an id prefix is a range of the unique id index, so only
 * the tasks whose id starts with it are sorted (8 hex characters: one task in 4 billion).
 */
const SORT_ALLOWED = (label: string) => label.includes("id_prefix");

interface Call {
  label: string;
  run(s: Store): Promise<unknown>;
}

/** Every list call the routes make: first page and a cursor page of each. */
function listCalls(): Call[] {
  const calls: Call[] = [];
  const first: KeyPage = { after: null, limit: 20 };
  for (let mask = 0; mask < 1 << FILTERS.length; mask++) {
    const f: TaskFilter = {};
    for (const [i, k] of FILTERS.entries()) if (mask & (1 << i)) (f as Record<string, string>)[k] = VALUES[k];
    const name = Object.keys(f).join("+") || "no filter";
    for (const order of ["default", "newest"] as TaskOrder[]) {
      calls.push({ label: `tasks ${order}, ${name}, first page`, run: (s) => s.listTasks({ ...f, order, cursor: null, limit: 20 }) });
      const cursor = { priority: 0, created_at: TS, seq: 5 };
      calls.push({ label: `tasks ${order}, ${name}, cursor page`, run: (s) => s.listTasks({ ...f, order, cursor, limit: 20 }) });
    }
    calls.push({ label: `tasks count, ${name}`, run: (s) => s.countTasks(f, 10_001) });
  }
  const pages: [string, KeyPage][] = [
    ["first page", first],
    ["cursor page", { after: [TS, "x"], limit: 20 }],
  ];
  for (const [what, p] of pages) {
    calls.push({ label: `workers, ${what}`, run: (s) => s.listWorkers(p) });
    calls.push({ label: `codebases, ${what}`, run: (s) => s.listCodebases(p) });
    calls.push({ label: `sessions, ${what}`, run: (s) => s.listSessions("cb1", p) });
    calls.push({ label: `messages, ${what}`, run: (s) => s.listMessages("cb1", "ses_1", p) });
  }
  calls.push({ label: "one session by id", run: (s) => s.getSession("ses_1") });
  calls.push({ label: "active owners of a codebase (waiting reason)", run: (s) => s.routeOwners("cb1", TS, 200) });
  calls.push({ label: "active owners of the global route (waiting reason)", run: (s) => s.routeOwners("global", TS, 200) });
  calls.push({ label: "messages, cursor page after an untimed message", run: (s) => s.listMessages("cb1", "ses_1", { after: [null, "m"], limit: 20 }) });
  return calls;
}

/** `n` tasks completed by worker w1 (registered), written as they end up in the store. */
async function finishedTasks(store: Store, n: number) {
  await store.upsertWorker(workerInput("w1", 1), TS);
  for (let i = 0; i < n; i++) await store.insertTask({ ...pendingTask(), status: "completed", worker_id: "w1", attempt: 1, started_at: TS, completed_at: TS });
}

interface Traced {
  sql: string;
  params: unknown;
}

/** Runs each call with tracing on, and passes every statement it ran to `explain`; returns the problems found. */
async function check(store: Store, seen: Traced[], explain: (t: Traced) => Promise<string[]>): Promise<string[]> {
  const problems: string[] = [];
  for (const c of listCalls()) {
    seen.length = 0;
    await c.run(store);
    expect(seen.length).toBeGreaterThan(0);
    for (const t of [...seen]) {
      for (const p of await explain(t)) {
        if (p.startsWith("sort") && SORT_ALLOWED(c.label)) continue;
        problems.push(`${c.label}: ${p}\n    ${t.sql.replace(/\s+/g, " ").slice(0, 300)}`);
      }
    }
  }
  return problems;
}

/** SQLite: `SCAN table` with no index, and temp b-trees for ORDER BY. */
function sqliteProblems(db: Database, t: Traced): string[] {
  const st = db.prepare(`EXPLAIN QUERY PLAN ${t.sql}`);
  let rows: { detail: string }[];
  try {
    rows = st.all((t.params ?? {}) as Record<string, string>) as { detail: string }[];
  } finally {
    st.finalize(); // an open statement would keep the test's DROP INDEX from running
  }
  // `SCAN (subquery-1)` reads a subquery's own (limited) result, not a table.
  return rows.flatMap((r) =>
    /^SCAN \w+$/.test(r.detail) ? [`full scan: ${r.detail}`] : /TEMP B-TREE FOR .*ORDER BY/.test(r.detail) ? [`sort: ${r.detail}`] : [],
  );
}

/** PostgreSQL: Seq Scan and Sort nodes, anywhere in the plan. */
async function pgProblems(sql: postgres.Sql, t: Traced): Promise<string[]> {
  const [row] = await sql.unsafe(`EXPLAIN (FORMAT JSON) ${t.sql}`, t.params as any[]);
  const out: string[] = [];
  const walk = (n: any) => {
    if (n["Node Type"] === "Seq Scan") out.push(`full scan: Seq Scan on ${n["Relation Name"]}`);
    if (n["Node Type"] === "Sort") out.push(`sort: Sort by ${JSON.stringify(n["Sort Key"])}`);
    for (const c of n.Plans ?? []) walk(c);
  };
  walk(row!["QUERY PLAN"][0].Plan);
  return out;
}

describeUnless(undefined, "query plans of list statements [sqlite]", () => {
  const tmp = tempDir("ct-plans-");
  const path = join(tmp.path, "server.db");
  const seen: Traced[] = [];
  let store: Store;
  let db: Database;
  beforeAll(async () => {
    store = await openStore({ kind: "sqlite", path, trace: (sql, params) => seen.push({ sql, params }) });
    db = new Database(path, { strict: true });
  });
  afterAll(async () => {
    db?.close();
    await store?.close();
    tmp.cleanup();
  });

  test("no list statement scans a table or sorts its rows", async () => {
    expect(await check(store, seen, async (t) => sqliteProblems(db, t))).toEqual([]);
  });

  test("the check fails when an index a list needs is missing", async () => {
    db.exec("DROP INDEX tasks_newest; DROP INDEX workers_registered");
    try {
      const problems = await check(store, seen, async (t) => sqliteProblems(db, t));
      expect(problems.some((p) => p.startsWith("tasks newest, no filter, first page: sort"))).toBe(true);
      expect(problems.some((p) => p.startsWith("workers, cursor page: "))).toBe(true);
    } finally {
      db.exec("CREATE INDEX tasks_newest ON tasks (created_at, seq); CREATE INDEX workers_registered ON workers (registered_at, worker_id)");
    }
  });

  test("worker counts (monitor, /metrics) read a worker's running tasks by index, never its finished ones", async () => {
    await finishedTasks(store, 50);
    seen.length = 0;
    const counts = await store.workerCounts();
    const reads = seen.flatMap((t) => {
      const st = db.prepare(`EXPLAIN QUERY PLAN ${t.sql}`);
      try {
        return (st.all((t.params ?? {}) as Record<string, string>) as { detail: string }[]).map((r) => r.detail).filter((d) => /\btasks\b/.test(d));
      } finally {
        st.finalize();
      }
    });
    expect(reads.length).toBeGreaterThan(0);
    for (const d of reads) expect(d).toMatch(/\(worker_id=\? AND status=\?\)/);
    expect(counts.get("w1")).toMatchObject({ completed: 50, running: 0 });
  });
});

describeUnless(NO_PG, "query plans of list statements [postgres]", () => {
  const seen: Traced[] = [];
  let pg: TestDatabase;
  let store: Store;
  let sql: postgres.Sql;
  beforeAll(async () => {
    pg = await freshDatabase();
    store = await openStore({ kind: "postgres", url: pg.url, listen: false, trace: (text, params) => seen.push({ sql: text, params }) });
    sql = postgres(pg.url, { max: 1, onnotice: () => {} });
    // A scan or a sort that remains with these off is one no index can replace.
    await sql.unsafe("SET enable_seqscan = off");
    await sql.unsafe("SET enable_sort = off");
  });
  afterAll(async () => {
    await sql?.end();
    await store?.close();
    await pg?.drop();
  });

  test("no list statement scans a table or sorts its rows", async () => {
    expect(await check(store, seen, (t) => pgProblems(sql, t))).toEqual([]);
  });

  test("the check fails when an index a list needs is missing", async () => {
    await sql.unsafe("DROP INDEX tasks_newest");
    await sql.unsafe("DROP INDEX workers_registered");
    try {
      const problems = await check(store, seen, (t) => pgProblems(sql, t));
      expect(problems.some((p) => p.startsWith("tasks newest, no filter, first page: "))).toBe(true);
      expect(problems.some((p) => p.startsWith("workers, cursor page: "))).toBe(true);
    } finally {
      await sql.unsafe("CREATE INDEX tasks_newest ON tasks (created_at, seq)");
      await sql.unsafe("CREATE INDEX workers_registered ON workers (registered_at, worker_id)");
    }
  });

  test("worker counts (monitor, /metrics) read a worker's running tasks by index, never its finished ones", async () => {
    await finishedTasks(store, 50);
    seen.length = 0;
    const counts = await store.workerCounts();
    let taskRows = 0;
    let taskNodes = 0;
    for (const t of seen) {
      const [row] = await sql.unsafe(`EXPLAIN (ANALYZE, FORMAT JSON) ${t.sql}`, t.params as any[]);
      const walk = (n: any) => {
        if (n["Relation Name"] === "tasks") {
          taskNodes++;
          taskRows += n["Actual Rows"] * n["Actual Loops"];
        }
        for (const c of n.Plans ?? []) walk(c);
      };
      walk(row!["QUERY PLAN"][0].Plan);
    }
    expect(taskNodes).toBeGreaterThan(0);
    expect(taskRows).toBe(0);
    expect(counts.get("w1")).toMatchObject({ completed: 50, running: 0 });
  });
});
