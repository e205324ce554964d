// Webhooks: signed POSTs when a task ends (task.completed / task.failed / task.cancelled)
// or a worker goes offline (worker.offline), to each configured receiver that wants the
// event. A task's deliveries are written to the store's outbox in the transaction that
// ends the task (store/*/outbox.ts), so none is lost to a crash or restart; a sender here
// posts due ones and retries failures with backoff for 48 h. Receivers drop duplicates by
// the delivery id (a send can succeed and its acknowledgement be lost).
//
// Signature (documented in the README): X-CodeTether-Signature: sha256=<hex HMAC-SHA256 of
// "<X-CodeTether-Timestamp>.<raw body>" keyed with the webhook's secret>.
import { createHmac } from "node:crypto";
import type { WebhookEntry } from "../config/validate.ts";
import { isFinal } from "../protocol/index.ts";
import { errorMessage } from "../util/errors.ts";
import { log } from "../util/log.ts";
import { toWireTask } from "./store/rows.ts";
import type { DeliveryRow, NewDelivery, Store, TaskChange, WorkerRow } from "./store/types.ts";

const GIVE_UP_MS = 48 * 3600_000;
const MAX_DELAY_MS = 3600_000;
const SEND_TIMEOUT_MS = 10_000;
const BATCH = 20;

export interface Webhooks {
  /** A worker went offline (unregistered or stopped heartbeating). */
  workerOffline(w: Pick<WorkerRow, "worker_id" | "name" | "hostname" | "last_seen">, why: string): Promise<void>;
  /** Sends what is due now (tests; the sender does this every second). */
  sendDue(): Promise<number>;
  stop(): Promise<void>;
}

export function sign(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`;
}

/** The body of one delivery: an id a receiver can deduplicate on, the event, and its data. */
export function eventBody(id: string, type: string, createdAt: string, data: unknown): string {
  return JSON.stringify({ id, type, created_at: createdAt, data });
}

/** POSTs one signed body; resolves to null on 2xx, else why not. */
export async function post(url: string, secret: string, id: string, type: string, body: string, version: string): Promise<string | null> {
  const timestamp = String(Math.floor(Date.now() / 1000));
  try {
    const res = await fetch(url, {
      method: "POST",
      body,
      redirect: "manual",
      signal: AbortSignal.timeout(SEND_TIMEOUT_MS),
      headers: {
        "content-type": "application/json",
        "user-agent": `codetether/${version}`,
        "x-codetether-event": type,
        "x-codetether-delivery": id,
        "x-codetether-timestamp": timestamp,
        "x-codetether-signature": sign(secret, timestamp, body),
      },
    });
    await res.arrayBuffer().catch(() => undefined); // drain; the answer's body is not ours to read
    return res.ok ? null : `HTTP ${res.status}`;
  } catch (err) {
    return errorMessage(err);
  }
}

/** Exponential from 5 s, capped at an hour, ±20 % so receivers coming back are not stampeded. */
export function retryDelayMs(attempts: number): number {
  const base = Math.min(5000 * 2 ** attempts, MAX_DELAY_MS);
  return Math.round(base * (0.8 + Math.random() * 0.4));
}

export function startWebhooks(store: Store, hooks: WebhookEntry[], version: string, everyMs = 1000): Webhooks {
  const wanted = (event: string) => hooks.filter((h) => (h.events as string[]).includes(event));
  const deliveries = (event: string, data: unknown, now: string): NewDelivery[] =>
    wanted(event).map((h) => {
      const id = Bun.randomUUIDv7();
      return { id, url: h.url, event, payload: eventBody(id, event, now, data), created_at: now };
    });

  // Written by the store inside the transaction that ends the task.
  store.setOutbox(
    hooks.length
      ? (c: TaskChange) =>
          isFinal(c.after.status) ? deliveries(`task.${c.after.status}`, { task: toWireTask(c.after) }, c.after.updated_at ?? new Date().toISOString()) : []
      : null,
  );

  async function sendOne(d: DeliveryRow): Promise<void> {
    const hook = hooks.find((h) => h.url === d.url);
    const now = Date.now();
    if (!hook) return store.finishDelivery(d.id, { ok: false, error: "webhook no longer configured", retryAt: null });
    const why = await post(d.url, hook.secret, d.id, d.event, d.payload, version);
    if (why === null) return store.finishDelivery(d.id, { ok: true, now: new Date().toISOString() });
    const giveUp = now - Date.parse(d.created_at) > GIVE_UP_MS;
    if (d.attempts === 0 || giveUp)
      log("warn", giveUp ? "webhook delivery given up" : "webhook delivery failed; retrying", { url: d.url, event: d.event, delivery: d.id, error: why });
    await store.finishDelivery(d.id, { ok: false, error: why, retryAt: giveUp ? null : new Date(now + retryDelayMs(d.attempts)).toISOString() });
  }

  let busy: Promise<number> | null = null;
  async function sendDue(): Promise<number> {
    if (!hooks.length) return 0;
    let sent = 0;
    for (;;) {
      const now = Date.now();
      // Held for a minute: another replica does not take it meanwhile; a crash mid-send retries then.
      const due = await store.takeDueDeliveries(new Date(now).toISOString(), new Date(now + 60_000).toISOString(), BATCH);
      await Promise.all(due.map(sendOne));
      sent += due.length;
      if (due.length < BATCH) return sent;
    }
  }
  const tick = () => {
    if (busy) return;
    busy = sendDue().catch((err) => {
      log("warn", "webhook sender failed", { error: errorMessage(err) });
      return 0;
    });
    void busy.finally(() => (busy = null));
  };
  const timer = hooks.length ? setInterval(tick, everyMs) : undefined;

  return {
    async workerOffline(w, why) {
      const now = new Date().toISOString();
      const d = deliveries(
        "worker.offline",
        { worker: { worker_id: w.worker_id, name: w.name, hostname: w.hostname, last_seen: w.last_seen }, reason: why },
        now,
      );
      if (d.length) await store.enqueueDeliveries(d);
    },
    sendDue: async () => {
      await busy;
      return sendDue();
    },
    async stop() {
      clearInterval(timer);
      await busy;
      store.setOutbox(null);
    },
  };
}
