// The zod schema of each config key (KEYS in ./schema.ts holds the rest). Only the
// resolver imports this module, so commands that print help never load zod.
import { z } from "zod";
import { KEYS, type KeyName, WEBHOOK_EVENTS } from "./schema.ts";

export const CodebaseEntry = z.object({
  name: z.string().min(1, "name must not be empty"),
  path: z.string().min(1, "path must not be empty"),
  description: z.string().optional(),
  /** shared (default): in the directory, one task at a time; worktree: a git worktree per task. */
  isolation: z.enum(["shared", "worktree"], { error: 'expected "shared" or "worktree"' }).optional(),
});
export type CodebaseEntry = z.infer<typeof CodebaseEntry>;

export const WebhookEntry = z
  .object({
    url: z.string().regex(/^https?:\/\/[^\s/]+/, "expected an http:// or https:// URL"),
    events: z
      .array(z.enum(WEBHOOK_EVENTS))
      .min(1)
      .default([...WEBHOOK_EVENTS]),
    secret: z.string().min(16, "must be at least 16 characters (it signs every delivery)"),
  })
  .strict();
export type WebhookEntry = z.infer<typeof WebhookEntry>;

const positive = (what: string) => z.number({ error: `expected a number (${what})` }).positive(`must be > 0 (${what})`);
const positiveInt = (what: string) =>
  z
    .number({ error: `expected an integer (${what})` })
    .int(`must be a whole number (${what})`)
    .positive(`must be > 0 (${what})`);

/** One schema per key of KEYS, no more and no fewer (the type says so). */
export const SCHEMAS = {
  server_url: z.url({ protocol: /^https?$/, error: "expected an http(s) URL like http://host:8000" }),
  worker_name: z.string().min(1),
  worker_id: z
    .string()
    .min(1)
    .regex(/^[A-Za-z0-9._:@-]+$/, "only letters, digits and . _ : @ -"),
  poll_interval: positive("seconds"),
  codebases: z.array(CodebaseEntry),
  opencode_bin: z.string().min(1).optional(),
  capabilities: z.array(z.string().min(1)),
  auth_token: z.string().min(1).optional(),
  max_concurrent_tasks: positiveInt("tasks"),
  task_timeout: positive("seconds"),
  shutdown_grace: positive("seconds"),
  session_sync_interval: positive("seconds"),
  sync_sessions: z.boolean(),
  allowed_paths: z.array(z.string().min(1)),
  data_dir: z.string().min(1),
  log_level: z.enum(KEYS.log_level.values),
  log_format: z.enum(KEYS.log_format.values),
  host: z.string().min(1),
  port: z.number().int().min(0).max(65535, "must be a port number 0-65535"),
  db_path: z.string().min(1).optional(),
  database_url: z
    .string()
    .regex(/^postgres(ql)?:\/\//, "expected postgres://user:pass@host:5432/db")
    .optional(),
  auth_tokens: z.array(z.string().min(1)),
  lease_seconds: positive("seconds"),
  heartbeat_interval: positive("seconds"),
  ui: z.boolean(),
  git_author_name: z.string().min(1),
  git_author_email: z.string().min(1),
  redis_url: z
    .string()
    .regex(/^rediss?:\/\//, "expected redis://[user:pass@]host:6379")
    .optional(),
  webhooks: z.array(WebhookEntry),
  metrics_tokens: z.array(z.string().min(1)),
  retention_days: z.number({ error: "expected a number (days)" }).min(0, "must be >= 0 (days; 0 keeps output forever)"),
  task_retention_days: z.number({ error: "expected a number (days)" }).min(0, "must be >= 0 (days; 0 keeps tasks forever)"),
} satisfies { [K in KeyName]: z.ZodType };

export const ConfigSchema = z.object(SCHEMAS);
export type Config = z.infer<typeof ConfigSchema>;
