// SQLite: the webhook outbox. Deliveries of a task change go in with the change, inside
// its write transaction (handle.ts calls writeOutbox); the server's sender takes due ones.
import type { DeliveryRow, NewDelivery, OutboxStore, TaskChange } from "../types.ts";
import type { Raw, Sqlite } from "./handle.ts";

const INSERT = `INSERT INTO webhook_deliveries (id, url, event, payload, status, attempts, next_attempt_at, created_at)
  VALUES ($id, $url, $event, $payload, 'pending', 0, $created_at, $created_at) ON CONFLICT (id) DO NOTHING`;

export function insertDeliveries(h: Sqlite, rows: NewDelivery[]): void {
  for (const d of rows) h.q(INSERT).run({ id: d.id, url: d.url, event: d.event, payload: d.payload, created_at: d.created_at });
}

/** Inside a write transaction: the deliveries this change causes, if any. */
export function writeOutbox(h: Sqlite, c: TaskChange): void {
  if (h.outbox && c.before.status !== c.after.status) insertDeliveries(h, h.outbox(c));
}

const row = (r: Raw): DeliveryRow => ({ ...r, attempts: Number(r.attempts) }) as DeliveryRow;

export function sqliteOutbox(h: Sqlite): OutboxStore {
  const { q } = h;
  return {
    setOutbox(fn) {
      h.outbox = fn;
    },
    async enqueueDeliveries(d) {
      await h.write(() => insertDeliveries(h, d));
    },
    async takeDueDeliveries(now, holdUntil, limit) {
      return h.write(() =>
        (
          q(`UPDATE webhook_deliveries SET next_attempt_at = $hold WHERE id IN
               (SELECT id FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= $now ORDER BY next_attempt_at LIMIT $limit) RETURNING *`).all(
            {
              now,
              hold: holdUntil,
              limit,
            },
          ) as Raw[]
        ).map(row),
      );
    },
    async finishDelivery(id, r) {
      await h.write(() => {
        if (r.ok)
          q("UPDATE webhook_deliveries SET status = 'delivered', attempts = attempts + 1, delivered_at = $now, last_error = NULL WHERE id = $id").run({
            id,
            now: r.now,
          });
        else
          q(
            "UPDATE webhook_deliveries SET status = $status, attempts = attempts + 1, last_error = $error, next_attempt_at = COALESCE($at, next_attempt_at) WHERE id = $id",
          ).run({
            id,
            status: r.retryAt ? "pending" : "failed",
            error: r.error.slice(0, 1000),
            at: r.retryAt,
          });
      });
    },
    async listDeliveries(limit) {
      return (q("SELECT * FROM webhook_deliveries ORDER BY created_at DESC, id DESC LIMIT $limit").all({ limit }) as Raw[]).map(row);
    },
  };
}
