// Events between server replicas, whatever carries them (PostgreSQL NOTIFY here, Redis
// pub/sub in ../bus.ts): JSON on one channel, each tagged with the sending replica's origin
// so a replica does not act twice on its own events.
import { errorMessage } from "../../util/errors.ts";
import { log } from "../../util/log.ts";
import type { StoreEvent, StoreEvents } from "./types.ts";

export const EVENTS_CHANNEL = "codetether_events";

/** `send` puts a payload on the channel; hand what arrives on it to `receive`. */
export function replicaEvents(send: (payload: string) => Promise<unknown>): StoreEvents & { receive(payload: string): void } {
  const origin = crypto.randomUUID();
  const handlers: ((ev: StoreEvent) => void)[] = [];
  return {
    publish(ev) {
      send(JSON.stringify({ o: origin, ...ev })).catch((err) => log("warn", "could not tell the other replicas", { error: errorMessage(err) }));
    },
    onEvent(fn) {
      handlers.push(fn);
    },
    receive(payload) {
      try {
        const { o, ...ev } = JSON.parse(payload);
        if (o !== origin) for (const h of handlers) h(ev as StoreEvent);
      } catch (err) {
        log("warn", "bad event from another replica", { error: errorMessage(err) });
      }
    },
  };
}
