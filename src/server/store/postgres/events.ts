// Cross-replica wake-ups over LISTEN/NOTIFY: a task created through one replica wakes a
// worker streaming from another (see ../../hub.ts). postgres.js listens again by itself
// after a reconnect.
import { errorMessage } from "../../../util/errors.ts";
import { log } from "../../../util/log.ts";
import type { StoreEvent, StoreEvents } from "../types.ts";
import type { Sql } from "./handle.ts";

const CHANNEL = "codetether_events";

export async function listenForEvents(sql: Sql): Promise<StoreEvents & { stop(): Promise<void> }> {
  // Each replica tags what it publishes so it does not act twice on its own events.
  const origin = crypto.randomUUID();
  const handlers: ((ev: StoreEvent) => void)[] = [];
  const listening = await sql.listen(CHANNEL, (payload) => {
    try {
      const { o, ...ev } = JSON.parse(payload);
      if (o !== origin) for (const h of handlers) h(ev as StoreEvent);
    } catch (err) {
      log("warn", "bad event from another replica", { error: errorMessage(err) });
    }
  });
  return {
    publish(ev) {
      sql.notify(CHANNEL, JSON.stringify({ o: origin, ...ev })).catch((err) => log("warn", "could not notify other replicas", { error: errorMessage(err) }));
    },
    onEvent(fn) {
      handlers.push(fn);
    },
    async stop() {
      // Closing: with the database gone there is nothing to unlisten from, and the pool must
      // still be ended after this, so a failure here is not worth reporting.
      await listening.unlisten().catch(() => undefined);
    },
  };
}
