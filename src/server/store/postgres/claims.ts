// PostgreSQL: claims, and every other decision taken on a task's row (../lifecycle.ts
// decides, this writes). Claims use `FOR UPDATE SKIP LOCKED` (concurrent claimers never
// wait on each other and never take the same row); every other decision locks the task
// row with `FOR UPDATE`. postgres.js prepares each query text once per connection, so the
// claim statements are compiled once however often they run.
import { toTaskRow, withMetadata } from "../rows.ts";
import type { ClaimResult, ClaimStore } from "../types.ts";
import { begin, decideAll, one, type Sql, type Tx, updateTask } from "./handle.ts";
import { type PgHooks, writeOutbox } from "./outbox.ts";

export function pgClaims(sql: Sql, hooks: PgHooks): ClaimStore {
  // Routes a worker may claim from: codebases it owns, and "global" once it registered its home as "global".
  const ROUTES = (w: string) =>
    sql`SELECT id AS route FROM codebases WHERE worker_id = ${w} UNION SELECT 'global' FROM codebases WHERE worker_id = ${w} AND name = 'global'`;
  // Routing (issue 15), one condition of its own: target_agent_name empty or the worker's name;
  // every required capability advertised; a task's model advertised by the worker, or the
  // worker advertised no models (unknown: legacy, or OpenCode missing; it may take any model).
  const FITS = (w: string) => sql`(tasks.target_agent_name IS NULL OR tasks.target_agent_name = (SELECT name FROM workers WHERE worker_id = ${w}))
    AND (tasks.required_capabilities = '[]'::jsonb OR tasks.required_capabilities <@ (SELECT capabilities FROM workers WHERE worker_id = ${w}))
    AND (tasks.model IS NULL OR NOT EXISTS (SELECT 1 FROM workers WHERE worker_id = ${w} AND jsonb_array_length(models) > 0
      AND NOT models @> jsonb_build_array(tasks.model)))`;
  const ELIGIBLE = (w: string) => sql`status = 'pending' AND route IN (${ROUTES(w)}) AND (target_worker_id IS NULL OR target_worker_id = ${w}) AND ${FITS(w)}`;
  // Isolation (issue 15), kept apart from eligibility: a route the worker says is busy yields
  // only tasks with a worktree of their own (why the worker's list: see ../sqlite/claims.ts).
  const NOT_BUSY = (busy: string[]) => sql`(route <> ALL(${busy}::text[]) OR isolation = 'worktree')`;
  const CLAIM_SET = (w: string, now: string, lease: string) =>
    sql`status = 'running', worker_id = ${w}, attempt = tasks.attempt + 1, lease_expires_at = ${lease},
        started_at = ${now}, updated_at = ${now}, cancel_requested = false`;
  /**
   * The {}-claim on `q` (the pool, or the transaction of a release that claims next): the head
   * of each route (one probe of tasks_pending_route, locked rows skipped), then the best head.
   * A plain ORDER BY over `route IN (...)` would sort every pending task per claim. Heads not
   * taken are locked only until the transaction ends.
   */
  async function claimBest(q: Sql | Tx, w: string, now: string, lease: string, busy: string[]): Promise<ClaimResult> {
    const [raw] = await q`WITH pick AS (
            SELECT c.id FROM (${ROUTES(w)}) r CROSS JOIN LATERAL (
              SELECT id, priority, created_at, seq FROM tasks
              WHERE route = r.route AND status = 'pending' AND (target_worker_id IS NULL OR target_worker_id = ${w})
                AND agent_type <> 'register_codebase' -- claimed by id only, by a worker that has the path
                AND ${NOT_BUSY(busy)}
                AND ${FITS(w)}
              ORDER BY priority DESC, created_at, seq LIMIT 1 FOR UPDATE SKIP LOCKED) c
            ORDER BY c.priority DESC, c.created_at, c.seq LIMIT 1)
          UPDATE tasks SET ${CLAIM_SET(w, now, lease)} FROM pick WHERE tasks.id = pick.id RETURNING tasks.*`;
    return raw ? { ok: true, task: toTaskRow(raw) } : { ok: false, reason: "none" };
  }
  return {
    async claim(w, taskId, now, lease, limits = {}): Promise<ClaimResult> {
      const busy = limits.busy ?? [];
      if (taskId === null) return claimBest(sql, w, now, lease, busy);
      // A plain UPDATE waits for a concurrent claimer's row lock, then re-checks `pending`: one winner.
      const [raw] = await sql`UPDATE tasks SET ${CLAIM_SET(w, now, lease)} WHERE id = ${taskId} AND ${ELIGIBLE(w)} AND ${NOT_BUSY(busy)} RETURNING *`;
      if (raw) return { ok: true, task: toTaskRow(raw) };
      const [exists] = await sql`SELECT 1 AS x FROM tasks WHERE id = ${taskId}`;
      return { ok: false, reason: exists ? "conflict" : "not_found" };
    },
    async mutateTask(id, decide, then) {
      // A release that claims next (claim_next) claims in its own transaction: one commit,
      // so one WAL flush, for both (issue 13, P2).
      return begin(sql, async (tx) => {
        const before = await one(tx`SELECT * FROM tasks WHERE id = ${id} FOR UPDATE`, toTaskRow);
        if (!before) return null;
        const { next, value } = decide(before);
        if (!next) return { change: { before, after: before }, value };
        await updateTask(tx, next, withMetadata(before, next));
        await writeOutbox(tx, hooks, [{ before, after: next }]);
        const claimed = then ? await claimBest(tx, then.workerId, then.now, then.leaseUntil, then.limits.busy ?? []) : undefined;
        return { change: { before, after: next }, value, claimed };
      });
    },
    async sweepExpired(now, decide, limit) {
      return begin(sql, async (tx) => {
        const rows = await tx`SELECT * FROM tasks WHERE status = 'running' AND lease_expires_at < ${now}
          ORDER BY lease_expires_at LIMIT ${limit} FOR UPDATE SKIP LOCKED`;
        return decideAll(tx, rows, decide, hooks);
      });
    },
  };
}
