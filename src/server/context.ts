// What every route handler gets: the store, the push hub, auth, and the server's timings.
import type { Settings } from "../protocol/index.ts";
import type { Auth } from "./auth.ts";
import type { Hub } from "./hub.ts";
import type { Metrics } from "./metrics.ts";
import type { Webhooks } from "./webhooks.ts";
import type { Store } from "./store/types.ts";

export interface ServerContext {
  store: Store;
  hub: Hub;
  auth: Auth;
  metrics: Metrics;
  webhooks: Webhooks;
  /** Events reach the other replicas (PostgreSQL LISTEN/NOTIFY or Redis); false for SQLite. */
  crossReplica: boolean;
  version: string;
  leaseMs: number;
  heartbeatIntervalS: number;
  outputCapBytes: number;
  maxBodyBytes: number;
  streamHeartbeatMs: number;
  /** Task lists count matches up to this many (X-Total-Count); beyond, X-Total-Count-At-Least. */
  listCountCap: number;
  /** The address the server listens on (the dashboard warns when it is not loopback and auth is off). */
  listenHost: string;
  /** What workers are told in the register answer. */
  settings: Settings;
}

export const nowIso = () => new Date().toISOString();
export const isoIn = (ms: number) => new Date(Date.now() + ms).toISOString();

/** How long a worker stays active without a heartbeat: 3 missed heartbeats. */
export const activeForMs = (heartbeatIntervalS: number) => 3 * heartbeatIntervalS * 1000;

/** Stale after 3 missed heartbeats; offline once unregistered. */
export function workerStatus(w: { last_seen: string; unregistered_at: string | null }, heartbeatIntervalS: number, now = Date.now()) {
  if (w.unregistered_at) return "offline" as const;
  return now - Date.parse(w.last_seen) > activeForMs(heartbeatIntervalS) ? ("stale" as const) : ("active" as const);
}
