// What the operator commands (task, codebase, worker status) share besides output: the
// config flags a client needs, the client itself, and codebase name -> id resolution.
import { ApiError, createClient, type Client } from "../client/index.ts";
import type { Config } from "../config/schema.ts";
import { Isolation, type Codebase } from "../protocol/answers.ts";
import { CliError, EXIT } from "../util/errors.ts";

let tokenInUse: string | null = null;

export function clientFor(config: Config): Client {
  tokenInUse = config.auth_token ?? null;
  return createClient({ serverUrl: config.server_url, token: config.auth_token, timeoutMs: 15_000, shortLived: true });
}

/** What to check, added to a transport error's one line: the CLI's errors say what to do. */
export function adviceFor(err: unknown): string {
  if (!(err instanceof Error)) return "";
  if (err.name === "UnavailableError" && /unreachable/.test(err.message)) {
    return " (is the server running there? check --server / A2A_SERVER_URL, or start one: codetether up)";
  }
  const status = (err as { status?: number }).status;
  if (err.name === "ApiError" && (status === 401 || status === 403)) {
    const pair = tokenInUse && /^([A-Za-z0-9_.-]+):(.+)$/.exec(tokenInUse);
    if (pair) return ` (the token looks like a name:token entry of auth_tokens: pass only the part after '${pair[1]}:')`;
    return tokenInUse ? " (the server refused this token: check --token / A2A_AUTH_TOKEN)" : " (the server needs a token: --token or A2A_AUTH_TOKEN)";
  }
  return "";
}

/**
 * ID or NAME (among `workerId`'s codebases when given) -> codebase id. "global" stays "global"
 * unless `literalGlobal` is false. An exact id wins; a name that several
 * workers registered is ambiguous (usage error listing the ids, so the user can pick one).
 */
export async function resolveCodebase(client: Client, ref: string, o: { workerId?: string; literalGlobal?: boolean } = {}): Promise<string> {
  // Task routes take "global" as is; session routes need the worker's own global codebase id.
  if (ref === "global" && (o.literalGlobal ?? true)) return "global";
  const all = await client.listCodebases();
  const byId = all.find((c) => c.id === ref);
  if (byId) return byId.id;
  const named = all.filter((c) => c.name === ref && (!o.workerId || c.worker_id === o.workerId));
  if (named.length === 1) return named[0]!.id;
  if (named.length > 1) {
    const list = named.map((c: Codebase) => `${c.id} (worker ${c.worker_id ?? "-"}, ${c.path})`).join(", ");
    throw new CliError(`codebase name '${ref}' is ambiguous: ${named.length} codebases have it: ${list}; pass one id with --codebase`, EXIT.USAGE);
  }
  throw new CliError(`no codebase with id or name '${ref}' on ${client.base} (see: codetether codebase list)`, EXIT.FAILURE);
}

/** Parse an integer flag, or fail as a usage error naming the flag. */
export function intArg(value: unknown, flag: string, o: { min?: number; max?: number } = {}): number | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || (o.min !== undefined && n < o.min) || (o.max !== undefined && n > o.max)) {
    const range = o.min !== undefined && o.max !== undefined ? ` ${o.min}..${o.max}` : o.min !== undefined ? ` >= ${o.min}` : "";
    throw new CliError(`--${flag}: expected an integer${range}, got '${value}'`, EXIT.USAGE);
  }
  return n;
}

export function positiveArg(value: unknown, flag: string): number | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new CliError(`--${flag}: expected a number > 0, got '${value}'`, EXIT.USAGE);
  return n;
}

/** --isolation: shared | worktree (PROTOCOL.md "Extensions"). */
export function isolationArg(value: unknown): Isolation | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  const r = Isolation.safeParse(value);
  if (!r.success) throw new CliError(`--isolation: expected shared or worktree, got '${value}'`, EXIT.USAGE);
  return r.data;
}

/** Ids as people read them in tables: 8 characters. Task ids are UUIDv7, whose first
 * characters are a timestamp shared by tasks created in the same minute, so tables show
 * the random end; a unique start or end of an id is accepted back. */
export const shortId = (id: string | null | undefined): string => (!id ? "-" : id.length === 36 ? id.slice(-8) : id.slice(0, 8));

const FULL_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SUFFIX_SCAN = 1000;

/**
 * A task id, or a unique start (the server filters by `id_prefix`) or end (matched among the
 * newest tasks) of one, at least 4 characters. An older server ignores `id_prefix`, so the
 * answer is filtered here too. Nothing found: the id as given, for the server's 404.
 */
export async function resolveTaskId(client: Client, ref: string): Promise<string> {
  if (FULL_ID.test(ref) || ref.length < 4) return ref;
  const unique = (hits: { id: string }[], how: string): string | null => {
    const ids = [...new Set(hits.map((t) => t.id))];
    if (ids.length > 1) throw new CliError(`task id ${how} '${ref}' is ambiguous: ${ids.join(", ")}; give more characters`, EXIT.USAGE);
    return ids[0] ?? null;
  };
  const byStart = await client.listTasksPage({ id_prefix: ref, limit: 10 });
  const start = unique(
    byStart.tasks.filter((t) => t.id.startsWith(ref)),
    "start",
  );
  if (start) return start;
  const newest = await client.listTasksPage({ order: "newest", limit: SUFFIX_SCAN });
  return (
    unique(
      newest.tasks.filter((t) => t.id.endsWith(ref)),
      "end",
    ) ?? ref
  );
}

/** Codebase id -> name, for tables ("global" stays "global"). */
export async function codebaseNames(client: Client): Promise<(id: string | null | undefined) => string> {
  const names = new Map((await client.listCodebases()).map((c) => [c.id, c.name]));
  return (id) => (!id || id === "global" ? "global" : (names.get(id) ?? shortId(id)));
}

/** A session the server holds, with its codebase: looked up in every codebase (sessions are stored per codebase). */
export async function findSession(client: Client, id: string): Promise<{ session: Record<string, any>; codebase: Codebase }> {
  const missing = () => new CliError(`session ${id} not found on ${client.base} (see: codetether sessions list)`);
  try {
    const session = await client.getSession(id);
    if (session.codebase_id) return { session, codebase: await client.getCodebase(session.codebase_id) };
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 404) throw e;
    if (e.message.includes(`session ${id} not found`)) throw missing();
    // any other 404: a server without the route (older): look through each codebase's list
  }
  for (const codebase of await client.listCodebases()) {
    const session = (await client.listSessions(codebase.id)).find((x: { id?: string }) => x.id === id);
    if (session) return { session, codebase };
  }
  throw missing();
}
