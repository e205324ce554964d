// Which database the server commands use: PostgreSQL when database_url is set, else SQLite
// at db_path (default <data_dir>/server.db).
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "../../config/schema.ts";
import type { StoreOptions } from "../../server/store/types.ts";
import type { RetentionSettings } from "../../server/retention.ts";
import { warn } from "../_output.ts";

export function storeOptions(config: Config): StoreOptions {
  if (config.database_url && config.db_path) warn("both database_url and db_path are set: using PostgreSQL (database_url)");
  if (config.database_url) return { kind: "postgres", url: config.database_url };
  mkdirSync(config.data_dir, { recursive: true });
  return { kind: "sqlite", path: config.db_path ?? join(config.data_dir, "server.db") };
}

export const retentionOf = (config: Config): RetentionSettings => ({ outputDays: config.retention_days, taskDays: config.task_retention_days });
