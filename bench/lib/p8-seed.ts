// P8's data: a store that has run for a long time, written straight into the database with
// set-based SQL (a recursive CTE in SQLite, generate_series in PostgreSQL), because a million
// tasks through the API would take longer than the whole benchmark run may.
//
// Rows i = 0 .. total-1, one second apart: every 101st is pending (no output), the rest
// finished (every 37th failed, the others completed), each with `lines` output lines of
// attempt 1. Task ids sort in i order, so output rows go in in primary-key order.

export interface SeedShape {
  /** Finished tasks (each with `lines` output lines). */
  finished: number;
  lines: number;
  codebases: number;
  workers: number;
}

/** Finished plus pending rows: one in 101 is pending, so `finished` of them are finished. */
export const totalRows = (s: SeedShape) => Math.ceil((s.finished * 101) / 100);

// One OpenCode-shaped JSON event a line, about 60 bytes.
const LINE = (i: string, j: string) => `'{"type":"text","part":{"text":"step ' || ${j} || ' of task ' || ${i} || '"}}'`;
const TASK_COLUMNS =
  "id, codebase_id, route, prompt, agent_type, priority, status, metadata, worker_id, attempt, max_attempts, output_count, output_bytes, created_at, updated_at, completed_at";

function taskValues(s: SeedShape, id: string, ts: (e: string) => string): string {
  const pending = "i % 101 = 0";
  return `${id}, 'cb' || (i % ${s.codebases}), 'cb' || (i % ${s.codebases}), 'prompt ' || i, 'build', i % 3,
  CASE WHEN ${pending} THEN 'pending' WHEN i % 37 = 0 THEN 'failed' ELSE 'completed' END, '{}',
  CASE WHEN ${pending} THEN NULL ELSE 'w' || (i % ${s.workers}) END, 1, 3,
  CASE WHEN ${pending} THEN 0 ELSE ${s.lines} END, CASE WHEN ${pending} THEN 0 ELSE ${s.lines * 60} END,
  ${ts("1700000000 + i")}, ${ts("1700000000 + i")}, CASE WHEN ${pending} THEN NULL ELSE ${ts("1700000001 + i")} END`;
}

const sqliteId = (i: string) => `printf('%08x-0000-7000-8000-%012x', ${i}, ${i})`;
const sqliteTs = (e: string) => `strftime('%Y-%m-%dT%H:%M:%fZ', ${e}, 'unixepoch')`;

/** SQLite: the tasks, then their output (CROSS JOIN keeps the task loop outside: key order). */
export function sqliteSeed(s: SeedShape): string[] {
  const n = `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ${totalRows(s) - 1})`;
  return [
    `${n} INSERT INTO tasks (${TASK_COLUMNS}) SELECT ${taskValues(s, sqliteId("i"), sqliteTs)} FROM n`,
    `${n}, l(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM l WHERE j < ${s.lines - 1})
     INSERT INTO task_outputs (task_id, n, attempt, seq, line, ts)
     SELECT ${sqliteId("i")}, j + 1, 1, j, ${LINE("i", "j")}, ${sqliteTs("1700000001 + i")} FROM n CROSS JOIN l WHERE i % 101 <> 0`,
  ];
}

const pgId = (i: string) => `lpad(to_hex(${i}), 8, '0') || '-0000-7000-8000-' || lpad(to_hex(${i}), 12, '0')`;
const pgTs = (e: string) => `to_char(to_timestamp(${e}) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** PostgreSQL: the same rows; LATERAL keeps the task loop outside (a plain cross join put the 20 lines outside: random key order, 60 % slower). */
export function pgSeed(s: SeedShape): string[] {
  const n = `generate_series(0, ${totalRows(s) - 1}) i`;
  return [
    `INSERT INTO tasks (${TASK_COLUMNS}) SELECT ${taskValues(s, pgId("i"), pgTs)} FROM ${n}`,
    `INSERT INTO task_outputs (task_id, n, attempt, seq, line, ts)
     SELECT ${pgId("i")}, j + 1, 1, j, ${LINE("i", "j")}, ${pgTs("1700000001 + i")}
     FROM ${n} CROSS JOIN LATERAL generate_series(0, ${s.lines - 1} + 0 * i) j WHERE i % 101 <> 0`,
  ];
}
