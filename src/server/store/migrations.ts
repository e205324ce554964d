// Versioned schema. Each store applies the versions it has not applied yet, in order, at
// start-up, inside one transaction (PostgreSQL: under an advisory lock, so replicas that
// start together do not race). Never edit a released version: add a new one.
//
// Timestamps are ISO 8601 UTC strings from one formatter (`toISOString`, fixed width), so
// they compare and sort chronologically as text in both databases and both stores share
// every comparison. `route` is the claim routing key (codebase_id, or "global").

export interface Migration {
  version: number;
  name: string;
  sqlite: string;
  postgres: string;
}

/** Same SQL in both databases. */
const PAGING_INDEXES = `
CREATE INDEX tasks_newest ON tasks (created_at, seq);
CREATE INDEX tasks_status_newest ON tasks (status, created_at, seq);
CREATE INDEX tasks_codebase_newest ON tasks (codebase_id, created_at, seq);
CREATE INDEX tasks_worker_newest ON tasks (worker_id, created_at, seq);
CREATE INDEX tasks_codebase_status_newest ON tasks (codebase_id, status, created_at, seq);
CREATE INDEX tasks_worker_status_newest ON tasks (worker_id, status, created_at, seq);
DROP INDEX tasks_worker_status;
CREATE INDEX tasks_order ON tasks (priority DESC, created_at, seq);
CREATE INDEX tasks_started ON tasks (started_at);
CREATE INDEX tasks_completed ON tasks (completed_at);
DROP INDEX tasks_codebase;
`;

// Written once where both dialects read the same SQL.
const OUTPUT_PRUNABLE = `CREATE INDEX tasks_output_prunable ON tasks (completed_at) WHERE output_count > 0 AND completed_at IS NOT NULL;
`;
const WEBHOOK_OUTBOX = `
CREATE TABLE webhook_deliveries (
  id TEXT PRIMARY KEY,
  url TEXT NOT NULL,
  event TEXT NOT NULL,
  payload TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'pending',
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at TEXT NOT NULL,
  last_error TEXT,
  created_at TEXT NOT NULL,
  delivered_at TEXT
);
CREATE INDEX webhook_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
`;

// Written once where both dialects read the same SQL.
const LIST_PAGING = `
CREATE INDEX workers_registered ON workers (registered_at, worker_id);
CREATE INDEX codebases_registered ON codebases (registered_at, id);
CREATE INDEX sessions_codebase_recent ON sessions (codebase_id, (COALESCE(updated, created, synced_at)) DESC, id);
DROP INDEX sessions_codebase;
CREATE INDEX messages_session_page ON messages (session_id, created, id);
DROP INDEX messages_session;
CREATE INDEX tasks_session_newest ON tasks (session_id, created_at) WHERE session_id IS NOT NULL;
DROP INDEX tasks_session;
CREATE INDEX tasks_codebase_order ON tasks (codebase_id, priority DESC, created_at, seq);
CREATE INDEX tasks_worker_order ON tasks (worker_id, priority DESC, created_at, seq);
`;

// Written once where both dialects read the same SQL.
const CODEBASES_BY_NAME = `CREATE INDEX codebases_name ON codebases (name);
`;

// Written once where both dialects read the same SQL: migration 9's count of what a store already holds.
const COMPLETED_BACKFILL = `UPDATE workers SET tasks_completed = (SELECT COUNT(*) FROM tasks WHERE tasks.worker_id = workers.worker_id AND tasks.status = 'completed');
`;

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: "initial",
    sqlite: `
CREATE TABLE workers (
  worker_id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  capabilities TEXT NOT NULL DEFAULT '[]',
  hostname TEXT,
  models TEXT NOT NULL DEFAULT '[]',
  codebases TEXT NOT NULL DEFAULT '[]',
  global_codebase_id TEXT,
  max_concurrent_tasks INTEGER,
  version TEXT,
  owner TEXT,
  registered_at TEXT NOT NULL,
  last_seen TEXT NOT NULL,
  unregistered_at TEXT
);
CREATE TABLE codebases (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  path TEXT NOT NULL,
  description TEXT,
  worker_id TEXT NOT NULL,
  agent_config TEXT,
  status TEXT NOT NULL DEFAULT 'active',
  registered_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX codebases_worker_path ON codebases (worker_id, path);
CREATE TABLE tasks (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  codebase_id TEXT,
  route TEXT NOT NULL,
  title TEXT,
  prompt TEXT NOT NULL,
  agent_type TEXT NOT NULL,
  model TEXT,
  priority INTEGER NOT NULL DEFAULT 0,
  status TEXT NOT NULL,
  metadata TEXT NOT NULL DEFAULT '{}',
  target_worker_id TEXT,
  target_agent_name TEXT,
  worker_id TEXT,
  session_id TEXT,
  result TEXT,
  error TEXT,
  attempt INTEGER NOT NULL DEFAULT 0,
  max_attempts INTEGER NOT NULL DEFAULT 3,
  timeout_s REAL,
  lease_expires_at TEXT,
  cancel_requested INTEGER NOT NULL DEFAULT 0,
  output_bytes INTEGER NOT NULL DEFAULT 0,
  output_count INTEGER NOT NULL DEFAULT 0,
  output_truncated INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  started_at TEXT,
  completed_at TEXT
);
CREATE INDEX tasks_status_order ON tasks (status, priority DESC, created_at, seq);
CREATE INDEX tasks_pending_route ON tasks (route, priority DESC, created_at, seq) WHERE status = 'pending';
CREATE INDEX tasks_running_lease ON tasks (lease_expires_at) WHERE status = 'running';
CREATE INDEX tasks_worker_status ON tasks (worker_id, status);
CREATE INDEX tasks_codebase ON tasks (codebase_id);
CREATE INDEX tasks_session ON tasks (session_id) WHERE session_id IS NOT NULL;
CREATE TABLE task_outputs (
  task_id TEXT NOT NULL,
  n INTEGER NOT NULL,
  attempt INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  line TEXT NOT NULL,
  ts TEXT NOT NULL,
  PRIMARY KEY (task_id, n)
) WITHOUT ROWID;
CREATE UNIQUE INDEX task_outputs_dedupe ON task_outputs (task_id, attempt, seq);
CREATE TABLE sessions (
  id TEXT PRIMARY KEY,
  codebase_id TEXT NOT NULL,
  worker_id TEXT,
  task_id TEXT,
  title TEXT,
  directory TEXT,
  project_id TEXT,
  created TEXT,
  updated TEXT,
  message_count INTEGER,
  data TEXT NOT NULL,
  synced_at TEXT NOT NULL
);
CREATE INDEX sessions_codebase ON sessions (codebase_id);
CREATE TABLE messages (
  id TEXT PRIMARY KEY,
  session_id TEXT NOT NULL,
  codebase_id TEXT NOT NULL,
  role TEXT,
  created TEXT,
  data TEXT NOT NULL,
  synced_at TEXT NOT NULL
);
CREATE INDEX messages_session ON messages (session_id, created);
`,
    postgres: `
CREATE TABLE workers (
  worker_id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  capabilities JSONB NOT NULL DEFAULT '[]',
  hostname TEXT,
  models JSONB NOT NULL DEFAULT '[]',
  codebases JSONB NOT NULL DEFAULT '[]',
  global_codebase_id TEXT,
  max_concurrent_tasks INTEGER,
  version TEXT,
  owner TEXT,
  registered_at TEXT NOT NULL,
  last_seen TEXT NOT NULL,
  unregistered_at TEXT
);
CREATE TABLE codebases (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  path TEXT NOT NULL,
  description TEXT,
  worker_id TEXT NOT NULL,
  agent_config JSONB,
  status TEXT NOT NULL DEFAULT 'active',
  registered_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX codebases_worker_path ON codebases (worker_id, path);
CREATE TABLE tasks (
  seq BIGSERIAL NOT NULL,
  id TEXT PRIMARY KEY,
  codebase_id TEXT,
  route TEXT NOT NULL,
  title TEXT,
  prompt TEXT NOT NULL,
  agent_type TEXT NOT NULL,
  model TEXT,
  priority INTEGER NOT NULL DEFAULT 0,
  status TEXT NOT NULL,
  metadata JSONB NOT NULL DEFAULT '{}',
  target_worker_id TEXT,
  target_agent_name TEXT,
  worker_id TEXT,
  session_id TEXT,
  result TEXT,
  error TEXT,
  attempt INTEGER NOT NULL DEFAULT 0,
  max_attempts INTEGER NOT NULL DEFAULT 3,
  timeout_s DOUBLE PRECISION,
  lease_expires_at TEXT,
  cancel_requested BOOLEAN NOT NULL DEFAULT false,
  output_bytes BIGINT NOT NULL DEFAULT 0,
  output_count BIGINT NOT NULL DEFAULT 0,
  output_truncated BOOLEAN NOT NULL DEFAULT false,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  started_at TEXT,
  completed_at TEXT
);
CREATE INDEX tasks_status_order ON tasks (status, priority DESC, created_at, seq);
CREATE INDEX tasks_pending_route ON tasks (route, priority DESC, created_at, seq) WHERE status = 'pending';
CREATE INDEX tasks_running_lease ON tasks (lease_expires_at) WHERE status = 'running';
CREATE INDEX tasks_worker_status ON tasks (worker_id, status);
CREATE INDEX tasks_codebase ON tasks (codebase_id);
CREATE INDEX tasks_session ON tasks (session_id) WHERE session_id IS NOT NULL;
CREATE TABLE task_outputs (
  task_id TEXT NOT NULL,
  n BIGINT NOT NULL,
  attempt INTEGER NOT NULL,
  seq BIGINT NOT NULL,
  line TEXT NOT NULL,
  ts TEXT NOT NULL,
  PRIMARY KEY (task_id, n)
);
CREATE UNIQUE INDEX task_outputs_dedupe ON task_outputs (task_id, attempt, seq);
CREATE TABLE sessions (
  id TEXT PRIMARY KEY,
  codebase_id TEXT NOT NULL,
  worker_id TEXT,
  task_id TEXT,
  title TEXT,
  directory TEXT,
  project_id TEXT,
  created TEXT,
  updated TEXT,
  message_count INTEGER,
  data JSONB NOT NULL,
  synced_at TEXT NOT NULL
);
CREATE INDEX sessions_codebase ON sessions (codebase_id);
CREATE TABLE messages (
  id TEXT PRIMARY KEY,
  session_id TEXT NOT NULL,
  codebase_id TEXT NOT NULL,
  role TEXT,
  created TEXT,
  data JSONB NOT NULL,
  synced_at TEXT NOT NULL
);
CREATE INDEX messages_session ON messages (session_id, created);
`,
  },
  {
    // One worker id, one process (issue 19): which process instance holds a worker id. A
    // worker that sends no instance id (legacy) leaves these NULL and is served as before.
    version: 2,
    name: "worker_instance",
    sqlite: `
ALTER TABLE workers ADD COLUMN instance_id TEXT;
ALTER TABLE workers ADD COLUMN instance_pid INTEGER;
ALTER TABLE workers ADD COLUMN instance_started_at TEXT;
`,
    postgres: `
ALTER TABLE workers ADD COLUMN instance_id TEXT, ADD COLUMN instance_pid INTEGER, ADD COLUMN instance_started_at TEXT;
`,
  },
  {
    version: 3,
    name: "task list paging",
    // Keyset paging newest first: alone, under each filter (status, codebase, worker) and
    // under status with codebase or worker; the default order without a status filter;
    // started/completed times for the dashboard's last-hour charts. tasks_codebase and
    // tasks_worker_status are prefixes of newer indexes. PostgreSQL also gets a byte-order
    // index on id for id prefixes.
    sqlite: PAGING_INDEXES,
    postgres:
      PAGING_INDEXES +
      `CREATE INDEX tasks_id_c ON tasks (id COLLATE "C");
`,
  },
  {
    version: 4,
    name: "retention",
    // Finished tasks that still have output, oldest first: what output retention deletes
    // next, found without walking the tasks it already emptied.
    sqlite: OUTPUT_PRUNABLE,
    postgres: OUTPUT_PRUNABLE,
  },
  {
    // Isolation per codebase (issue 15): the codebase's setting and a task's override; a
    // worktree run's outcome (branch, commit, diff totals) on its task, and its diff, capped,
    // in a table of its own so `SELECT * FROM tasks` (every claim and heartbeat) stays small.
    version: 5,
    name: "isolation",
    sqlite: `
ALTER TABLE codebases ADD COLUMN isolation TEXT;
ALTER TABLE tasks ADD COLUMN isolation TEXT;
ALTER TABLE tasks ADD COLUMN branch TEXT;
ALTER TABLE tasks ADD COLUMN commit_sha TEXT;
ALTER TABLE tasks ADD COLUMN diff_files INTEGER;
ALTER TABLE tasks ADD COLUMN diff_insertions INTEGER;
ALTER TABLE tasks ADD COLUMN diff_deletions INTEGER;
ALTER TABLE tasks ADD COLUMN diff_truncated INTEGER;
CREATE TABLE task_diffs (task_id TEXT PRIMARY KEY, diff TEXT NOT NULL, truncated INTEGER NOT NULL, stored_at TEXT NOT NULL);
`,
    postgres: `
ALTER TABLE codebases ADD COLUMN isolation TEXT;
ALTER TABLE tasks ADD COLUMN isolation TEXT, ADD COLUMN branch TEXT, ADD COLUMN commit_sha TEXT, ADD COLUMN diff_files INTEGER,
  ADD COLUMN diff_insertions INTEGER, ADD COLUMN diff_deletions INTEGER, ADD COLUMN diff_truncated BOOLEAN;
CREATE TABLE task_diffs (task_id TEXT PRIMARY KEY, diff TEXT NOT NULL, truncated BOOLEAN NOT NULL, stored_at TEXT NOT NULL);
`,
  },
  {
    version: 6,
    name: "webhook outbox",
    // One row per (event, webhook): written in the transaction of the change it reports,
    // sent by the server until the receiver says 2xx (or 48 h pass).
    sqlite: WEBHOOK_OUTBOX,
    postgres: WEBHOOK_OUTBOX,
  },
  {
    version: 7,
    name: "task routing",
    // Capability routing (issue 15): the capabilities a claiming worker must advertise, a
    // JSON array of strings ('[]' = any worker). Rows written before this version need none.
    sqlite: `
ALTER TABLE tasks ADD COLUMN required_capabilities TEXT NOT NULL DEFAULT '[]';
`,
    postgres: `
ALTER TABLE tasks ADD COLUMN required_capabilities JSONB NOT NULL DEFAULT '[]';
`,
  },
  {
    version: 8,
    name: "list paging",
    // Keyset paging of every list (store/keyset.ts): each list's ORDER BY is an index, so a
    // page is one index probe: workers and codebases by registration, a codebase's sessions
    // most recently updated first, a session's messages by creation; and the newest task of
    // a session (the session list's linked task); the task list in its default order under a
    // codebase or worker filter. The indexes they replace are their prefixes.
    sqlite: LIST_PAGING,
    postgres: LIST_PAGING,
  },
  {
    version: 9,
    name: "completed count per worker",
    // A worker's completed tasks, counted as they complete (issue 13, P8): the monitor and
    // /metrics read them per worker instead of grouping every completed task (260 ms at a
    // million tasks on SQLite, on every scrape). Triggers count every way a task completes
    // or is written completed; the count is the worker's lifetime total, kept when
    // retention deletes the tasks.
    sqlite: `
ALTER TABLE workers ADD COLUMN tasks_completed INTEGER NOT NULL DEFAULT 0;
${COMPLETED_BACKFILL}CREATE TRIGGER tasks_completed_update AFTER UPDATE OF status ON tasks
  WHEN NEW.status = 'completed' AND OLD.status IS NOT 'completed' AND NEW.worker_id IS NOT NULL
  BEGIN UPDATE workers SET tasks_completed = tasks_completed + 1 WHERE worker_id = NEW.worker_id; END;
CREATE TRIGGER tasks_completed_insert AFTER INSERT ON tasks
  WHEN NEW.status = 'completed' AND NEW.worker_id IS NOT NULL
  BEGIN UPDATE workers SET tasks_completed = tasks_completed + 1 WHERE worker_id = NEW.worker_id; END;
`,
    postgres: `
ALTER TABLE workers ADD COLUMN tasks_completed BIGINT NOT NULL DEFAULT 0;
${COMPLETED_BACKFILL}CREATE FUNCTION codetether_count_completed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE workers SET tasks_completed = tasks_completed + 1 WHERE worker_id = NEW.worker_id;
  RETURN NULL;
END $$;
CREATE TRIGGER tasks_completed_update AFTER UPDATE OF status ON tasks FOR EACH ROW
  WHEN (NEW.status = 'completed' AND OLD.status IS DISTINCT FROM 'completed' AND NEW.worker_id IS NOT NULL)
  EXECUTE FUNCTION codetether_count_completed();
CREATE TRIGGER tasks_completed_insert AFTER INSERT ON tasks FOR EACH ROW
  WHEN (NEW.status = 'completed' AND NEW.worker_id IS NOT NULL)
  EXECUTE FUNCTION codetether_count_completed();
`,
  },
  {
    version: 10,
    name: "codebases by name",
    // The owners of the "global" route (every worker's codebase named global), read by index
    // when a task is created or shown (routing.ts waitingReason): a scan of every codebase before.
    sqlite: CODEBASES_BY_NAME,
    postgres: CODEBASES_BY_NAME,
  },
];

/** Arbitrary constant key for pg_advisory_xact_lock: "codetether migrations". */
export const MIGRATION_LOCK_KEY = 0x0c0de7e7;
