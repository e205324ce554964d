// Push between server replicas over Redis pub/sub (`redis_url`), instead of PostgreSQL
// LISTEN/NOTIFY: LISTEN needs a session of its own, which PgBouncer in transaction pooling
// does not give, so replicas behind such a pooler hear each other only through Redis.
// Bun's built-in Redis client: no dependency, RESP3, reconnects by itself; pub/sub needs a
// connection of its own, hence two clients.
import { RedisClient } from "bun";
import { errorMessage } from "../util/errors.ts";
import { redactUrl } from "../util/redact.ts";
import { EVENTS_CHANNEL, replicaEvents } from "./store/replica-events.ts";
import type { StoreEvents } from "./store/types.ts";

export interface Bus extends StoreEvents {
  close(): Promise<void>;
}

/** redis://user:secret@host -> redis://user:***@host, for messages. */
export async function openRedisBus(url: string): Promise<Bus> {
  const pub = new RedisClient(url, { connectionTimeout: 5000 });
  const sub = new RedisClient(url, { connectionTimeout: 5000 });
  const events = replicaEvents((payload) => pub.publish(EVENTS_CHANNEL, payload));
  try {
    await pub.connect();
    await sub.subscribe(EVENTS_CHANNEL, (message: string) => events.receive(message));
  } catch (err) {
    pub.close();
    sub.close();
    throw new Error(`Redis at ${redactUrl(url)}: ${errorMessage(err)}`);
  }
  return {
    publish: events.publish,
    onEvent: events.onEvent,
    async close() {
      sub.close();
      pub.close();
    },
  };
}
