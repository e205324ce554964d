// The CodeTether control plane: HTTP on Bun.serve over one store. `startServer` is what the
// `server start` and `up` commands call (and the tests, in-process); signals are the
// command's business, `stop()` is the graceful part.
import type { Server } from "bun";
import { version } from "../../package.json";
import { errorMessage } from "../util/errors.ts";
import { log } from "../util/log.ts";
import { createAuth } from "./auth.ts";
import type { ServerContext } from "./context.ts";
import { errorResponse, HttpError, json } from "./http.ts";
import { openRedisBus } from "./bus.ts";
import { createHub } from "./hub.ts";
import { createMetrics } from "./metrics.ts";
import { createRouter } from "./router.ts";
import dashboard from "../web/index.html";
import { PUBLIC_PATHS } from "./routes/dashboard.ts";
import { allRoutes } from "./routes/index.ts";
import { openStore } from "./store/index.ts";
import type { Store, StoreOptions } from "./store/types.ts";
import { startRetention, type RetentionSettings } from "./retention.ts";
import { startSweeper } from "./sweeper.ts";
import { startWebhooks } from "./webhooks.ts";
import type { WebhookEntry } from "../config/validate.ts";

export type { StoreOptions } from "./store/types.ts";

export interface ServerOptions {
  host: string;
  port: number;
  store: StoreOptions;
  authTokens: string[];
  /** Tokens that may read /metrics and nothing else (same `name:token` form). */
  metricsTokens?: string[];
  leaseSeconds?: number;
  heartbeatIntervalSeconds?: number;
  /** Larger request bodies get 413 (default 1 MiB). */
  maxBodyBytes?: number;
  /** Per-task output cap; later lines are dropped and the task marked output_truncated (default 10 MiB). */
  outputCapBytes?: number;
  sweepIntervalMs?: number;
  streamHeartbeatMs?: number;
  pollIntervalSeconds?: number;
  /** Task lists count matches up to this many (default 10,000; see routes/tasks.ts). */
  listCountCap?: number;
  /** Serve the web dashboard at `/` (default true; `ui: false` / `--no-ui` turns it off). */
  ui?: boolean;
  /** Push between replicas over Redis pub/sub instead of PostgreSQL LISTEN/NOTIFY (bus.ts). */
  redisUrl?: string | null;
  /** Signed POSTs on task and worker events (webhooks.ts). */
  webhooks?: WebhookEntry[];
  /** Output and task retention (default 30 and 365 days; see retention.ts). */
  retention?: RetentionSettings;
}

export interface ServerHandle {
  url: string;
  port: number;
  store: "sqlite" | "postgres";
  /** Stop accepting, close streams, let in-flight requests finish, close the store. */
  stop(): Promise<void>;
  /** Run the sweeper now (tests). */
  sweep(): Promise<void>;
  /** Send the webhook deliveries due now (tests). */
  sendWebhooks(): Promise<number>;
}

const MiB = 1024 * 1024;
const STOP_GRACE_MS = 10_000;
/** Store errors that mean "database unreachable or busy": 503, the client retries. */
const UNAVAILABLE = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
  "SQLITE_BUSY",
  "57P01",
  "57P03",
  "53300",
]);

export async function startServer(opts: ServerOptions): Promise<ServerHandle> {
  const bus = opts.redisUrl ? await openRedisBus(opts.redisUrl) : null;
  let store: Store;
  try {
    store = await openStore(opts.store.kind === "postgres" && bus ? { ...opts.store, listen: false } : opts.store);
  } catch (err) {
    await bus?.close();
    throw err;
  }
  const hub = createHub(store, bus ?? store);
  const leaseS = opts.leaseSeconds ?? 60;
  const hbS = opts.heartbeatIntervalSeconds ?? 15;
  const ctx: ServerContext = {
    store,
    hub,
    auth: createAuth(opts.authTokens, store, opts.metricsTokens ?? []),
    metrics: createMetrics(store, hub, hbS),
    webhooks: startWebhooks(store, opts.webhooks ?? [], version),
    crossReplica: !!bus || store.crossReplica,
    version,
    leaseMs: leaseS * 1000,
    heartbeatIntervalS: hbS,
    outputCapBytes: opts.outputCapBytes ?? 10 * MiB,
    maxBodyBytes: opts.maxBodyBytes ?? MiB,
    streamHeartbeatMs: opts.streamHeartbeatMs ?? 15_000,
    listenHost: opts.host,
    listCountCap: opts.listCountCap ?? 10_000,
    settings: { heartbeat_interval_s: hbS, lease_s: leaseS, poll_interval_s: opts.pollIntervalSeconds ?? 5 },
  };
  const router = createRouter(allRoutes);
  let stopping = false;
  let inflight = 0;

  async function handle(req: Request, server: Server<unknown> | undefined): Promise<Response> {
    const started = performance.now();
    let route = "unmatched";
    const res = await answer(req, server, (r) => {
      route = r;
    });
    ctx.metrics.http(req.method, route, res.status, (performance.now() - started) / 1000);
    return res;
  }

  async function answer(req: Request, server: Server<unknown> | undefined, matched: (route: string) => void): Promise<Response> {
    // HTTP/1.0 requests without a Host header arrive with a relative URL.
    const url = new URL(req.url, "http://localhost");
    inflight++;
    try {
      if (stopping) throw new HttpError(503, "shutting_down", "server is shutting down");
      const m = router.match(req.method, url.pathname);
      if (m && "route" in m) matched(m.route);
      const principal =
        req.method === "GET" && PUBLIC_PATHS.has(url.pathname) ? { name: null } : ctx.auth.authenticate(req, m && "route" in m ? m.route : null);
      if (!m) throw new HttpError(404, "not_found", `no route ${req.method} ${url.pathname}`);
      if ("allowed" in m) {
        const res = errorResponse(new HttpError(405, "method_not_allowed", `${req.method} not allowed on ${url.pathname} (allowed: ${m.allowed.join(", ")})`));
        res.headers.set("allow", m.allowed.join(", "));
        return res;
      }
      return await m.handler({ req, url, params: m.params, principal, server, ctx });
    } catch (err) {
      if (err instanceof HttpError) return errorResponse(err);
      const code = (err as { code?: string }).code;
      if (code && UNAVAILABLE.has(code)) {
        log("warn", "store unavailable", { method: req.method, path: url.pathname, error: errorMessage(err) });
        ctx.metrics.storeError();
        return json({ error: "store_unavailable", message: "the database is unavailable; retry shortly" }, 503, { "retry-after": "1" });
      }
      log("error", "request failed", { method: req.method, path: url.pathname, error: errorMessage(err), stack: (err as Error).stack });
      return json({ error: "internal", message: "internal server error" }, 500);
    } finally {
      inflight--;
    }
  }

  const maxBody = ctx.maxBodyBytes;
  let server: Server<unknown>;
  try {
    server = Bun.serve({
      hostname: opts.host,
      port: opts.port,
      development: false,
      // Bun turns SO_REUSEPORT on outside development mode: a second server on a busy port
      // would then start "fine" and steal half the connections. A busy port is an error.
      reusePort: false,
      idleTimeout: 60,
      // Bun's own limit is only a backstop; our reader answers 413 as JSON for bodies above maxBodyBytes.
      maxRequestBodySize: Math.max(maxBody * 4, 8 * MiB),
      // The dashboard: Bun bundles the HTML import (scripts, styles) and serves it with its
      // assets; in a --compile'd binary the bundle is built in, so nothing is read or
      // fetched at run time. Static and secret-free, so it needs no token; the API does.
      routes: opts.ui === false ? undefined : { "/": dashboard },
      fetch: handle,
    });
  } catch (err) {
    await ctx.webhooks.stop();
    await store.close();
    await bus?.close();
    throw new Error(`cannot listen on ${opts.host}:${opts.port}: ${errorMessage(err)}`);
  }
  const sweeper = startSweeper(ctx, opts.sweepIntervalMs ?? 1000);
  const retention = startRetention(store, opts.retention ?? { outputDays: 30, taskDays: 365 });
  const port = server.port!;
  const url = `http://${urlHost(opts.host)}:${port}`;

  let stopped: Promise<void> | null = null;
  return {
    url,
    port,
    store: store.kind,
    sweep: () => sweeper.runOnce(),
    sendWebhooks: () => ctx.webhooks.sendDue(),
    stop: () =>
      (stopped ??= (async () => {
        stopping = true;
        await sweeper.stop();
        await retention.stop();
        await ctx.webhooks.stop();
        hub.closeAll();
        const graceful = server.stop(false);
        const t = setTimeout(() => void server.stop(true), STOP_GRACE_MS);
        await graceful;
        clearTimeout(t);
        for (let i = 0; inflight > 0 && i < STOP_GRACE_MS / 50; i++) await Bun.sleep(50);
        await store.close();
        await bus?.close();
      })()),
  };
}

/** A URL clients can use: wildcard binds are reached through loopback; IPv6 literals get brackets. */
function urlHost(host: string): string {
  if (host === "0.0.0.0" || host === "") return "127.0.0.1";
  if (host === "::") return "[::1]";
  return host.includes(":") ? `[${host}]` : host;
}
