// SQL text that is the same, letter for letter, in both dialects: the ON CONFLICT clauses
// of the upserts, which decide what a repeated registration or upload keeps. Written once
// so SQLite and PostgreSQL cannot drift apart on them. Anything with parameters stays in
// its store (SQLite binds `$name`, postgres.js interpolates), and so do the many places
// where the two dialects really differ.

/**
 * Registering a worker id again: the new settings win, the first owner stays, the worker
 * is live again. A registration without an instance id (legacy worker) keeps the recorded
 * instance.
 */
export const WORKER_UPSERT_SET = `name = excluded.name, capabilities = excluded.capabilities, hostname = excluded.hostname,
  models = excluded.models, codebases = excluded.codebases, global_codebase_id = excluded.global_codebase_id,
  max_concurrent_tasks = excluded.max_concurrent_tasks, version = excluded.version, owner = COALESCE(workers.owner, excluded.owner),
  instance_id = COALESCE(excluded.instance_id, workers.instance_id),
  instance_pid = CASE WHEN excluded.instance_id IS NULL THEN workers.instance_pid ELSE excluded.instance_pid END,
  instance_started_at = CASE WHEN excluded.instance_id IS NULL THEN workers.instance_started_at ELSE excluded.instance_started_at END,
  last_seen = excluded.last_seen, unregistered_at = NULL`;

/** A session uploaded again: the latest upload wins, but a task link once made is kept. */
export const SESSION_UPSERT_SET = `codebase_id = excluded.codebase_id, worker_id = excluded.worker_id,
  task_id = COALESCE(excluded.task_id, sessions.task_id), title = excluded.title, directory = excluded.directory,
  project_id = excluded.project_id, created = excluded.created, updated = excluded.updated,
  message_count = excluded.message_count, data = excluded.data, synced_at = excluded.synced_at`;

/** A session's task: the one it names, else the newest task that reported it (tasks.session_id); `s` is the session row. */
export const LINKED_TASK = `COALESCE(s.task_id, (SELECT t.id FROM tasks t WHERE t.session_id = s.id ORDER BY t.created_at DESC LIMIT 1))`;

export const MESSAGE_UPSERT_SET = `session_id = excluded.session_id, codebase_id = excluded.codebase_id, role = excluded.role,
  created = excluded.created, data = excluded.data, synced_at = excluded.synced_at`;
