import type { Client } from "../../client/index.ts";
import { CliError, EXIT } from "../../util/errors.ts";

/** A codebase given as id or name (among `workerId`'s when given) -> its id. */
export async function resolveCodebase(client: Client, ref: string, workerId?: string): Promise<string> {
  const all = await client.listCodebases();
  if (all.some((c) => c.id === ref)) return ref;
  const named = all.filter((c) => c.name === ref && (!workerId || c.worker_id === workerId));
  if (named.length === 1) return named[0]!.id;
  if (!named.length) throw new CliError(`codebase '${ref}' not found on ${client.base} (codetether codebase list shows them)`, EXIT.FAILURE);
  throw new CliError(`codebase name '${ref}' is ambiguous: ${named.map((c) => `${c.id} (worker ${c.worker_id})`).join(", ")}; give the id`, EXIT.USAGE);
}
