// SQLite: claims, and every other decision taken on a task's row (../lifecycle.ts decides,
// this writes). Each runs in one BEGIN IMMEDIATE transaction, so the write lock is held
// from the first read: two claimers can never both see a task as pending. Claims are the
// hot path: their SQL is built once, here, and compiled once per store (handle.ts).
import { toTaskRow, withMetadata } from "../rows.ts";
import type { ClaimResult, ClaimStore } from "../types.ts";
import { decideAll, getTaskRaw, updateTask, type Raw, type Sqlite } from "./handle.ts";
import { writeOutbox } from "./outbox.ts";

// A worker may claim tasks routed to a codebase it owns, or to "global" when it registered
// a codebase named "global" (its home directory), unless the task targets another worker.
const ROUTES = `SELECT id AS route FROM codebases WHERE worker_id = $w UNION SELECT 'global' FROM codebases WHERE worker_id = $w AND name = 'global'`;
// Routing (issue 15), one condition of its own: the task's target_agent_name is empty or the
// worker's name; the worker advertised every required capability; a task with a model goes
// to a worker that advertised it, or that advertised no models at all (unknown: a legacy
// worker, or OpenCode missing, may take any model). `tasks.` is the task row being judged.
const FITS = `(tasks.target_agent_name IS NULL OR tasks.target_agent_name = (SELECT name FROM workers WHERE worker_id = $w))
  AND NOT EXISTS (SELECT 1 FROM json_each(tasks.required_capabilities) need
    WHERE need.value NOT IN (SELECT have.value FROM workers JOIN json_each(workers.capabilities) have WHERE workers.worker_id = $w))
  AND (tasks.model IS NULL OR NOT EXISTS (SELECT 1 FROM workers WHERE workers.worker_id = $w AND json_array_length(workers.models) > 0
    AND tasks.model NOT IN (SELECT value FROM json_each(workers.models))))`;
const ELIGIBLE = `status = 'pending' AND route IN (${ROUTES}) AND (target_worker_id IS NULL OR target_worker_id = $w) AND ${FITS}`;
// Isolation (issue 15), kept apart from eligibility: a route the worker says is busy (a
// task of it runs in the codebase directory there) yields only tasks that run in a
// worktree of their own. Decided here, from the worker's list, rather than by the server
// counting that worker's running tasks: only the worker knows which directories are in use
// (a run whose lease was lost may still be stopping, a claim may be in flight), and a
// worker that sends no list (legacy) claims as before. `$busy` is a JSON array ('[]': none).
const NOT_BUSY = `(route NOT IN (SELECT value FROM json_each($busy)) OR isolation = 'worktree')`;
// register_codebase tasks are claimed by id only, by a worker that has the path (it sees
// them on its stream): a {}-claim handing them to workers without the path would burn attempts.
// The best eligible task: the head of each of the worker's routes (one index probe each on
// tasks_pending_route), then the best of those heads. Cost grows with the worker's
// codebases, not with other workers' backlogs.
const BEST = `SELECT t.id FROM (${ROUTES}) r
  JOIN tasks t ON t.id = (SELECT id FROM tasks WHERE route = r.route AND status = 'pending' AND (target_worker_id IS NULL OR target_worker_id = $w)
                          AND agent_type <> 'register_codebase'
                          AND ${NOT_BUSY}
                          AND ${FITS}
                          ORDER BY priority DESC, created_at, seq LIMIT 1)
  ORDER BY t.priority DESC, t.created_at, t.seq LIMIT 1`;
const CLAIM_SET = `status = 'running', worker_id = $w, attempt = attempt + 1, lease_expires_at = $lease,
  started_at = $now, updated_at = $now, cancel_requested = 0`;
const CLAIM_BEST = `UPDATE tasks SET ${CLAIM_SET} WHERE id = (${BEST}) RETURNING *`;
const CLAIM_BY_ID = `UPDATE tasks SET ${CLAIM_SET} WHERE id = $id AND ${ELIGIBLE} AND ${NOT_BUSY} RETURNING *`;

export function sqliteClaims(h: Sqlite): ClaimStore {
  const { q } = h;
  return {
    async claim(workerId, taskId, now, leaseUntil, limits = {}): Promise<ClaimResult> {
      return h.write((): ClaimResult => {
        const p = { w: workerId, now, lease: leaseUntil, busy: JSON.stringify(limits.busy ?? []) };
        if (taskId === null) {
          const raw = q(CLAIM_BEST).get(p) as Raw | null;
          return raw ? { ok: true, task: toTaskRow(raw) } : { ok: false, reason: "none" };
        }
        const raw = q(CLAIM_BY_ID).get({ ...p, id: taskId }) as Raw | null;
        if (raw) return { ok: true, task: toTaskRow(raw) };
        return { ok: false, reason: q("SELECT 1 FROM tasks WHERE id = $id").get({ id: taskId }) ? "conflict" : "not_found" };
      });
    },
    async mutateTask(id, decide) {
      return h.write(() => {
        const raw = getTaskRaw(h, id);
        if (!raw) return null;
        const before = toTaskRow(raw);
        const { next, value } = decide(before);
        if (next) {
          updateTask(h, next, withMetadata(before, next));
          writeOutbox(h, { before, after: next });
        }
        return { change: { before, after: next ?? before }, value };
      });
    },
    async sweepExpired(now, decide, limit) {
      return h.write(() => {
        const rows = q("SELECT * FROM tasks WHERE status = 'running' AND lease_expires_at < $now ORDER BY lease_expires_at LIMIT $limit").all({
          now,
          limit,
        }) as Raw[];
        return decideAll(h, rows, decide);
      });
    },
  };
}
