// What the operator commands (task, codebase, worker status) share besides output: the
// config flags a client needs, the client itself, and codebase name -> id resolution.
import { createClient, type Client } from "../client/index.ts";
import type { Config } from "../config/schema.ts";
import type { Codebase } from "../protocol/index.ts";
import { CliError, EXIT } from "../util/errors.ts";

export function clientFor(config: Config): Client {
  return createClient({ serverUrl: config.server_url, token: config.auth_token, timeoutMs: 15_000 });
}

/**
 * ID or NAME (among `workerId`'s codebases when given) -> codebase id. "global" stays "global"
 * unless `literalGlobal` is false. An exact id wins; a name that several
 * workers registered is ambiguous (usage error listing the ids, so the user can pick one).
 */
export async function resolveCodebase(
  client: Client,
  ref: string,
  o: { workerId?: string; literalGlobal?: boolean } = {},
): Promise<string> {
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
