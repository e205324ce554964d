// Cross-replica wake-ups over LISTEN/NOTIFY: a task created through one replica wakes a
// worker streaming from another (see ../../hub.ts). postgres.js listens again by itself
// after a reconnect.
import { EVENTS_CHANNEL, replicaEvents } from "../replica-events.ts";
import type { StoreEvents } from "../types.ts";
import type { Sql } from "./handle.ts";

export async function listenForEvents(sql: Sql): Promise<StoreEvents & { stop(): Promise<void> }> {
  const events = replicaEvents((payload) => sql.notify(EVENTS_CHANNEL, payload));
  const listening = await sql.listen(EVENTS_CHANNEL, events.receive);
  return {
    publish: events.publish,
    onEvent: events.onEvent,
    async stop() {
      // Closing: with the database gone there is nothing to unlisten from, and the pool must
      // still be ended after this, so a failure here is not worth reporting.
      await listening.unlisten().catch(() => undefined);
    },
  };
}
