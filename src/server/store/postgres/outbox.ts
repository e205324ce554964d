// PostgreSQL: the webhook outbox. Deliveries of a task change go in with the change, in its
// transaction (handle.ts's decideAll and claims.ts call writeOutbox); the server's sender
// takes due ones with FOR UPDATE SKIP LOCKED, so each goes out from one replica.
import type { DeliveryRow, NewDelivery, OutboxStore, TaskChange } from "../types.ts";
import type { Sql, Tx } from "./handle.ts";

/** Where the outbox function lives for this store (set once at start). */
export interface PgHooks {
  outbox: ((c: TaskChange) => NewDelivery[]) | null;
}

async function insertDeliveries(tx: Sql | Tx, rows: NewDelivery[]): Promise<void> {
  if (!rows.length) return;
  const values = rows.map((d) => ({ ...d, status: "pending", attempts: 0, next_attempt_at: d.created_at }));
  await tx`INSERT INTO webhook_deliveries ${tx(values, "id", "url", "event", "payload", "status", "attempts", "next_attempt_at", "created_at")} ON CONFLICT (id) DO NOTHING`;
}

/** Inside the change's transaction: the deliveries it causes, if any. */
export async function writeOutbox(tx: Tx, hooks: PgHooks, changes: TaskChange[]): Promise<void> {
  if (!hooks.outbox) return;
  const rows = changes.filter((c) => c.before.status !== c.after.status).flatMap((c) => hooks.outbox!(c));
  await insertDeliveries(tx, rows);
}

const row = (r: any): DeliveryRow => ({ ...r, attempts: Number(r.attempts) }) as DeliveryRow;

export function pgOutbox(sql: Sql, hooks: PgHooks): OutboxStore {
  return {
    setOutbox(fn) {
      hooks.outbox = fn;
    },
    async enqueueDeliveries(d) {
      await insertDeliveries(sql, d);
    },
    async takeDueDeliveries(now, holdUntil, limit) {
      const rows = await sql`UPDATE webhook_deliveries SET next_attempt_at = ${holdUntil} WHERE id IN
        (SELECT id FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= ${now} ORDER BY next_attempt_at LIMIT ${limit} FOR UPDATE SKIP LOCKED)
        RETURNING *`;
      return rows.map(row);
    },
    async finishDelivery(id, r) {
      if (r.ok)
        await sql`UPDATE webhook_deliveries SET status = 'delivered', attempts = attempts + 1, delivered_at = ${r.now}, last_error = NULL WHERE id = ${id}`;
      else
        await sql`UPDATE webhook_deliveries SET status = ${r.retryAt ? "pending" : "failed"}, attempts = attempts + 1, last_error = ${r.error.slice(0, 1000)},
                  next_attempt_at = COALESCE(${r.retryAt}, next_attempt_at) WHERE id = ${id}`;
    },
    async listDeliveries(limit) {
      return (await sql`SELECT * FROM webhook_deliveries ORDER BY created_at DESC, id DESC LIMIT ${limit}`).map(row);
    },
  };
}
