// Push between server replicas over Redis pub/sub (`redis_url`), instead of PostgreSQL
// LISTEN/NOTIFY: LISTEN needs a session of its own, which PgBouncer in transaction pooling
// does not give, so replicas behind such a pooler hear each other only through Redis.
// Bun's built-in Redis client: no dependency, RESP3, reconnects by itself; pub/sub needs a
// connection of its own, hence two clients.
import { RedisClient } from "bun";
import { errorMessage } from "../util/errors.ts";
import { log } from "../util/log.ts";
import type { StoreEvent, StoreEvents } from "./store/types.ts";

const CHANNEL = "codetether_events";

export interface Bus extends StoreEvents {
  close(): Promise<void>;
}

/** redis://user:secret@host -> redis://user:***@host, for messages. */
const redact = (url: string) => url.replace(/\/\/([^:/@]*):[^@/]*@/, "//$1:***@");

export async function openRedisBus(url: string): Promise<Bus> {
  const origin = crypto.randomUUID(); // a replica does not act twice on its own events
  const pub = new RedisClient(url, { connectionTimeout: 5000 });
  const sub = new RedisClient(url, { connectionTimeout: 5000 });
  const handlers: ((ev: StoreEvent) => void)[] = [];
  try {
    await pub.connect();
    await sub.subscribe(CHANNEL, (message: string) => {
      try {
        const { o, ...ev } = JSON.parse(message);
        if (o !== origin) for (const h of handlers) h(ev as StoreEvent);
      } catch (err) {
        log("warn", "bad event from another replica", { error: errorMessage(err) });
      }
    });
  } catch (err) {
    pub.close();
    sub.close();
    throw new Error(`Redis at ${redact(url)}: ${errorMessage(err)}`);
  }
  return {
    publish(ev) {
      pub
        .publish(CHANNEL, JSON.stringify({ o: origin, ...ev }))
        .catch((err) => log("warn", "could not publish to other replicas", { error: errorMessage(err) }));
    },
    onEvent(fn) {
      handlers.push(fn);
    },
    async close() {
      sub.close();
      pub.close();
    },
  };
}
