// What `server start` and `up` hand to startServer, from the config: the database
// (PostgreSQL when database_url is set, else SQLite at db_path, default
// <data_dir>/server.db), auth, push between replicas, webhooks, retention and timings.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "../../config/schema.ts";
import type { ServerOptions } from "../../server/index.ts";
import type { RetentionSettings } from "../../server/retention.ts";
import type { StoreOptions } from "../../server/store/types.ts";
import { warn } from "../_output.ts";

export function storeOptions(config: Config): StoreOptions {
  if (config.database_url && config.db_path) warn("both database_url and db_path are set: using PostgreSQL (database_url)");
  if (config.database_url) return { kind: "postgres", url: config.database_url };
  mkdirSync(config.data_dir, { recursive: true });
  return { kind: "sqlite", path: config.db_path ?? join(config.data_dir, "server.db") };
}

export const retentionOf = (config: Config): RetentionSettings => ({ outputDays: config.retention_days, taskDays: config.task_retention_days });

export function serverOptions(config: Config, store: StoreOptions = storeOptions(config)): ServerOptions {
  return {
    host: config.host,
    port: config.port,
    store,
    authTokens: config.auth_tokens,
    metricsTokens: config.metrics_tokens,
    retention: retentionOf(config),
    redisUrl: config.redis_url,
    webhooks: config.webhooks,
    leaseSeconds: config.lease_seconds,
    heartbeatIntervalSeconds: config.heartbeat_interval,
    ui: config.ui,
  };
}
