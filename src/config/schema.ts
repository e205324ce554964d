// The single list of configuration keys: type, default, env var, flag, description.
// Everything else (resolver, `config show`, citty args, README table) is derived from KEYS.
import { hostname, homedir } from "node:os";
import { join } from "node:path";
import { z } from "zod";

export const CodebaseEntry = z.object({
  name: z.string().min(1, "name must not be empty"),
  path: z.string().min(1, "path must not be empty"),
  description: z.string().optional(),
  /** shared (default): in the directory, one task at a time; worktree: a git worktree per task. */
  isolation: z.enum(["shared", "worktree"], { error: 'expected "shared" or "worktree"' }).optional(),
});
export type CodebaseEntry = z.infer<typeof CodebaseEntry>;

export const WEBHOOK_EVENTS = ["task.completed", "task.failed", "task.cancelled", "worker.offline"] as const;
export const WebhookEntry = z
  .object({
    url: z.string().regex(/^https?:\/\/[^\s/]+/, "expected an http:// or https:// URL"),
    events: z.array(z.enum(WEBHOOK_EVENTS)).min(1).default([...WEBHOOK_EVENTS]),
    secret: z.string().min(16, "must be at least 16 characters (it signs every delivery)"),
  })
  .strict();
export type WebhookEntry = z.infer<typeof WebhookEntry>;

const positive = (what: string) => z.number({ error: `expected a number (${what})` }).positive(`must be > 0 (${what})`);
const positiveInt = (what: string) =>
  z.number({ error: `expected an integer (${what})` }).int(`must be a whole number (${what})`).positive(`must be > 0 (${what})`);

/** How a raw string from env/flag becomes a value of the key's type. */
/** "paths" is a list of filesystem paths: relative ones resolve against the config file's directory or the cwd. */
export type Kind = "string" | "url" | "number" | "int" | "bool" | "list" | "paths" | "codebases" | "enum" | "json";

export type Scope = "client" | "worker" | "server";

export interface KeyDef {
  schema: z.ZodType;
  kind: Kind;
  /** Default value, or a function of the partially resolved config (e.g. worker_id from worker_name). */
  default?: unknown | ((c: Record<string, unknown>, ctx: DefaultContext) => unknown);
  /** How a computed (function) default reads in docs and --help, e.g. "hostname". */
  defaultText?: string;
  env: string[];
  /** kebab-case flag name without dashes; repeatable for list kinds. */
  flag: string;
  description: string;
  secret?: boolean;
  /** Which commands read it: client (talks to a server as a person or script), worker, server.
   * A command's --help lists, and its resolver reads, only the keys of its scopes. */
  scope: Scope[];
}

/** What a function default may look at besides the config: the resolver's env (tests pass their own). */
export interface DefaultContext {
  env: NodeJS.ProcessEnv;
}

export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_STATE_HOME || join(env.HOME || homedir(), ".local", "state");
  return join(base, "codetether");
}

export const KEYS = {
  server_url: {
    schema: z.url({ protocol: /^https?$/, error: "expected an http(s) URL like http://host:8000" }),
    kind: "url",
    default: "http://127.0.0.1:8000",
    env: ["A2A_SERVER_URL"],
    flag: "server",
    description: "Base URL of the CodeTether server",
    scope: ["client", "worker"],
  },
  worker_name: {
    schema: z.string().min(1),
    kind: "string",
    default: () => hostname(),
    defaultText: "hostname",
    env: ["A2A_WORKER_NAME"],
    flag: "name",
    description: "Human name of this worker",
    scope: ["worker"],
  },
  worker_id: {
    schema: z.string().min(1).regex(/^[A-Za-z0-9._:@-]+$/, "only letters, digits and . _ : @ -"),
    kind: "string",
    default: (c: Record<string, unknown>) => c.worker_name,
    defaultText: "worker_name",
    env: ["A2A_WORKER_ID"],
    flag: "worker-id",
    description: "Stable worker identity (default: worker_name)",
    scope: ["worker"],
  },
  poll_interval: {
    schema: positive("seconds"),
    kind: "number",
    default: 5,
    env: ["A2A_POLL_INTERVAL"],
    flag: "poll-interval",
    description: "Seconds between polls when the push stream is unavailable",
    scope: ["worker"],
  },
  codebases: {
    schema: z.array(CodebaseEntry),
    kind: "codebases",
    default: [],
    env: ["A2A_CODEBASES"],
    flag: "codebase",
    description: "Codebases this worker serves: [{name, path, description, isolation}]; env/flag form name:path[:worktree] (repeatable / comma list)",
    scope: ["worker"],
  },
  opencode_bin: {
    schema: z.string().min(1).optional(),
    kind: "string",
    env: ["A2A_OPENCODE_BIN"],
    flag: "opencode-bin",
    description: "Path to the opencode binary (default: PATH, then usual install places)",
    scope: ["worker"],
  },
  capabilities: {
    schema: z.array(z.string().min(1)),
    kind: "list",
    default: ["opencode", "build", "deploy"],
    env: ["A2A_CAPABILITIES"],
    flag: "capabilities",
    description: "Capabilities advertised to the server (comma list); a task created with --require goes only to a worker that has them all",
    scope: ["worker"],
  },
  auth_token: {
    schema: z.string().min(1).optional(),
    kind: "string",
    env: ["A2A_AUTH_TOKEN"],
    flag: "token",
    description: "Bearer token sent to the server",
    secret: true,
    scope: ["client", "worker"],
  },
  max_concurrent_tasks: {
    schema: positiveInt("tasks"),
    kind: "int",
    default: 2,
    env: ["A2A_MAX_CONCURRENT_TASKS"],
    flag: "max-concurrent-tasks",
    description: "Tasks run at once by this worker",
    scope: ["worker"],
  },
  task_timeout: {
    schema: positive("seconds"),
    kind: "number",
    default: 3600,
    env: ["A2A_TASK_TIMEOUT"],
    flag: "task-timeout",
    description: "Seconds before a task without its own timeout_s is stopped",
    scope: ["worker"],
  },
  shutdown_grace: {
    schema: positive("seconds"),
    kind: "number",
    default: 30,
    env: ["A2A_SHUTDOWN_GRACE"],
    flag: "shutdown-grace",
    description: "Seconds running tasks get to finish after SIGTERM",
    scope: ["worker"],
  },
  session_sync_interval: {
    schema: positive("seconds"),
    kind: "number",
    default: 60,
    env: ["A2A_SESSION_SYNC_INTERVAL"],
    flag: "session-sync-interval",
    description: "Seconds between OpenCode session-history syncs",
    scope: ["worker"],
  },
  sync_sessions: {
    schema: z.boolean(),
    kind: "bool",
    default: true,
    env: ["A2A_SYNC_SESSIONS"],
    flag: "sync-sessions",
    description: "Sync OpenCode session history to the server",
    scope: ["worker"],
  },
  git_author_name: {
    schema: z.string().min(1),
    kind: "string",
    default: "CodeTether",
    env: ["A2A_GIT_AUTHOR_NAME"],
    flag: "git-author-name",
    description: "Author of the commits a worktree task's changes are saved in",
    scope: ["worker"],
  },
  git_author_email: {
    schema: z.string().min(1),
    kind: "string",
    default: (c: Record<string, unknown>) => `codetether@${String(c.worker_name ?? "localhost").replace(/[^A-Za-z0-9.-]/g, "-")}`,
    defaultText: "codetether@<worker_name>",
    env: ["A2A_GIT_AUTHOR_EMAIL"],
    flag: "git-author-email",
    description: "Email of that author",
    scope: ["worker"],
  },
  allowed_paths: {
    schema: z.array(z.string().min(1)),
    kind: "paths",
    default: [],
    env: ["A2A_ALLOWED_PATHS"],
    flag: "allowed-path",
    description: "Codebase paths must lie under one of these (empty: any)",
    scope: ["worker"],
  },
  data_dir: {
    schema: z.string().min(1),
    kind: "string",
    default: (_c: Record<string, unknown>, ctx: DefaultContext) => defaultDataDir(ctx.env),
    defaultText: "$XDG_STATE_HOME/codetether or ~/.local/state/codetether",
    env: ["A2A_DATA_DIR"],
    flag: "data-dir",
    description: "State directory: lock, spool, sync state, SQLite database",
    scope: ["worker", "server"],
  },
  log_level: {
    schema: z.enum(["debug", "info", "warn", "error"]),
    kind: "enum",
    default: "info",
    env: ["A2A_LOG_LEVEL"],
    flag: "log-level",
    description: "debug | info | warn | error",
    scope: ["worker", "server"],
  },
  log_format: {
    schema: z.enum(["pretty", "json"]),
    kind: "enum",
    default: "pretty",
    env: ["A2A_LOG_FORMAT"],
    flag: "log-format",
    description: "pretty | json (one JSON object per line, for journald/Kubernetes)",
    scope: ["worker", "server"],
  },
  host: {
    schema: z.string().min(1),
    kind: "string",
    default: "127.0.0.1",
    env: ["A2A_HOST"],
    flag: "host",
    description: "Server listen address (0.0.0.0 to serve a fleet)",
    scope: ["server"],
  },
  port: {
    schema: z.number().int().min(0).max(65535, "must be a port number 0-65535"),
    kind: "int",
    default: 8000,
    env: ["A2A_PORT"],
    flag: "port",
    description: "Server listen port (0: any free port)",
    scope: ["server"],
  },
  db_path: {
    schema: z.string().min(1).optional(),
    kind: "string",
    env: ["A2A_DB_PATH"],
    flag: "db",
    description: "SQLite database file (default: <data_dir>/server.db; :memory: for tests)",
    scope: ["server"],
  },
  database_url: {
    schema: z.string().regex(/^postgres(ql)?:\/\//, "expected postgres://user:pass@host:5432/db").optional(),
    kind: "string",
    env: ["DATABASE_URL", "A2A_DATABASE_URL"],
    flag: "database-url",
    description: "PostgreSQL URL; when set the server uses PostgreSQL instead of SQLite (add ?pgbouncer=true behind PgBouncer in transaction pooling)",
    secret: true,
    scope: ["server"],
  },
  redis_url: {
    schema: z.string().regex(/^rediss?:\/\//, "expected redis://[user:pass@]host:6379").optional(),
    kind: "string",
    env: ["A2A_REDIS_URL", "REDIS_URL"],
    flag: "redis-url",
    description: "Redis for push between server replicas (instead of PostgreSQL LISTEN/NOTIFY; needed behind PgBouncer)",
    secret: true,
    scope: ["server"],
  },
  auth_tokens: {
    schema: z.array(z.string().min(1)),
    kind: "list",
    default: [],
    env: ["A2A_AUTH_TOKENS"],
    flag: "auth-tokens",
    description: "Accepted tokens, comma list of name:token or bare tokens (empty: auth off)",
    secret: true,
    scope: ["server"],
  },
  webhooks: {
    schema: z.array(WebhookEntry),
    kind: "json",
    default: [],
    env: ["A2A_WEBHOOKS"],
    flag: "webhooks",
    description: `Signed POSTs on task and worker events: JSON [{url, events, secret}] (events: ${WEBHOOK_EVENTS.join(", ")}; default all)`,
    secret: true,
    scope: ["server"],
  },
  metrics_tokens: {
    schema: z.array(z.string().min(1)),
    kind: "list",
    default: [],
    env: ["A2A_METRICS_TOKENS"],
    flag: "metrics-tokens",
    description: "Tokens that may read /metrics and nothing else (a Prometheus scraper), name:token or bare",
    secret: true,
    scope: ["server"],
  },
  retention_days: {
    schema: z.number({ error: "expected a number (days)" }).min(0, "must be >= 0 (days; 0 keeps output forever)"),
    kind: "number",
    default: 30,
    env: ["A2A_RETENTION_DAYS"],
    flag: "retention-days",
    description: "Output of tasks finished longer ago is deleted, hourly, in small batches (0: keep)",
    scope: ["server"],
  },
  task_retention_days: {
    schema: z.number({ error: "expected a number (days)" }).min(0, "must be >= 0 (days; 0 keeps tasks forever)"),
    kind: "number",
    default: 365,
    env: ["A2A_TASK_RETENTION_DAYS"],
    flag: "task-retention-days",
    description: "Tasks finished longer ago are deleted with what is left of their output (0: keep)",
    scope: ["server"],
  },
  lease_seconds: {
    schema: positive("seconds"),
    kind: "number",
    default: 60,
    env: ["A2A_LEASE_SECONDS"],
    flag: "lease-seconds",
    description: "Task lease length handed to workers",
    scope: ["server"],
  },
  heartbeat_interval: {
    schema: positive("seconds"),
    kind: "number",
    default: 15,
    env: ["A2A_HEARTBEAT_INTERVAL"],
    flag: "heartbeat-interval",
    description: "Worker heartbeat interval handed to workers; stale after 3 missed",
    scope: ["server"],
  },
  ui: {
    schema: z.boolean(),
    kind: "bool",
    default: true,
    env: ["A2A_UI"],
    flag: "ui",
    description: "Serve the web dashboard at / on the server's port",
    scope: ["server"],
  },
} satisfies Record<string, KeyDef>;

export type KeyName = keyof typeof KEYS;
export const KEY_NAMES = Object.keys(KEYS) as KeyName[];

export const ConfigSchema = z.object(
  Object.fromEntries(KEY_NAMES.map((k) => [k, KEYS[k].schema])) as { [K in KeyName]: (typeof KEYS)[K]["schema"] },
);
export type Config = z.infer<typeof ConfigSchema>;
