// SQLite: claims, and every other decision taken on a task's row (../lifecycle.ts decides,
// this writes). Each runs in one BEGIN IMMEDIATE transaction, so the write lock is held
// from the first read: two claimers can never both see a task as pending. Claims are the
// hot path: their SQL is built once, here, and compiled once per store (handle.ts).
import { fits } from "../../routing.ts";
import { toTaskRow, withMetadata } from "../rows.ts";
import type { ClaimAfter, ClaimResult, ClaimStore } from "../types.ts";
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
//
// A {}-claim is the hot path (issue 13), so it is a few small statements in one write
// transaction instead of one that joins the rules above: that one ran its subqueries,
// union and JSON scans on every execution, ~60 µs a claim even on an empty queue, about
// four times what these small statements cost (a few µs each, one probe per route). The worker and its routes are read first; each route's pending tasks are then
// read best first (tasks_pending_route) until one the worker may take, judged by the
// same rules in JS (the busy list, and routing.ts `fits`, which mirrors FITS); the best
// of the heads is taken. Cost grows with the worker's codebases, not with other backlogs.
const WORKER = "SELECT name, capabilities, models FROM workers WHERE worker_id = $w";
const ROUTES_OF = "SELECT id, name FROM codebases WHERE worker_id = $w";
const HEADS = `SELECT id, priority, created_at, seq, isolation, target_agent_name, required_capabilities, model FROM tasks
  WHERE route = $r AND status = 'pending' AND (target_worker_id IS NULL OR target_worker_id = $w) AND agent_type <> 'register_codebase'
  ORDER BY priority DESC, created_at, seq`;
const CLAIM_SET = `status = 'running', worker_id = $w, attempt = attempt + 1, lease_expires_at = $lease,
  started_at = $now, updated_at = $now, cancel_requested = 0`;
const CLAIM_ONE = `UPDATE tasks SET ${CLAIM_SET} WHERE id = $id AND status = 'pending' RETURNING *`;
const CLAIM_BY_ID = `UPDATE tasks SET ${CLAIM_SET} WHERE id = $id AND ${ELIGIBLE} AND ${NOT_BUSY} RETURNING *`;

/** The worker's best claimable task id (see above), or null; call inside `write`. */
function best(h: Sqlite, workerId: string, busy: readonly string[]): string | null {
  const w = h.q(WORKER).get({ w: workerId }) as Raw | null;
  const claimant = {
    worker_id: workerId,
    name: w?.name ?? null,
    capabilities: w ? (JSON.parse(w.capabilities) as string[]) : [],
    models: w ? (JSON.parse(w.models) as unknown[]) : [],
  };
  const routes = new Set<string>();
  for (const c of h.q(ROUTES_OF).all({ w: workerId }) as Raw[]) {
    routes.add(c.id);
    if (c.name === "global") routes.add("global");
  }
  let head: Raw | null = null;
  for (const route of routes) {
    const busyRoute = busy.includes(route);
    for (const t of h.q(HEADS).iterate({ r: route, w: workerId }) as IterableIterator<Raw>) {
      if (head && !before(t, head)) break; // this route's remaining tasks come after the best head so far
      if (busyRoute && t.isolation !== "worktree") continue;
      if (!fits({ target_agent_name: t.target_agent_name, model: t.model, required_capabilities: JSON.parse(t.required_capabilities) }, claimant)) continue;
      head = t;
      break;
    }
  }
  return head?.id ?? null;
}

/** The {}-claim; call inside `write`. */
function claimBest(h: Sqlite, c: ClaimAfter): ClaimResult {
  const id = best(h, c.workerId, c.limits.busy ?? []);
  const raw = id ? (h.q(CLAIM_ONE).get({ w: c.workerId, now: c.now, lease: c.leaseUntil, id }) as Raw | null) : null;
  return raw ? { ok: true, task: toTaskRow(raw) } : { ok: false, reason: "none" };
}

/** `a` comes before `b` in claim order (priority desc, created_at, seq). */
const before = (a: Raw, b: Raw) =>
  a.priority !== b.priority ? a.priority > b.priority : a.created_at !== b.created_at ? a.created_at < b.created_at : a.seq < b.seq;

export function sqliteClaims(h: Sqlite): ClaimStore {
  const { q } = h;
  return {
    async claim(workerId, taskId, now, leaseUntil, limits = {}): Promise<ClaimResult> {
      return h.write((): ClaimResult => {
        if (taskId === null) return claimBest(h, { workerId, now, leaseUntil, limits });
        const p = { w: workerId, now, lease: leaseUntil, busy: JSON.stringify(limits.busy ?? []), id: taskId };
        const raw = q(CLAIM_BY_ID).get(p) as Raw | null;
        if (raw) return { ok: true, task: toTaskRow(raw) };
        return { ok: false, reason: q("SELECT 1 FROM tasks WHERE id = $id").get({ id: taskId }) ? "conflict" : "not_found" };
      });
    },
    async mutateTask(id, decide, then) {
      return h.write(() => {
        const raw = getTaskRaw(h, id);
        if (!raw) return null;
        const before = toTaskRow(raw);
        const { next, value } = decide(before);
        if (!next) return { change: { before, after: before }, value };
        updateTask(h, next, withMetadata(before, next));
        writeOutbox(h, { before, after: next });
        return { change: { before, after: next }, value, claimed: then ? claimBest(h, then) : undefined };
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
