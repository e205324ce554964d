// `codetether task retry`: run finished tasks again as new tasks with the same fields,
// each linked to the one it retries (`metadata.retry_of`). By id, or every failed task of
// a period (`--failed --since 1h`) that has not been retried yet.
import type { Task } from "../../protocol/index.ts";
import { CliError, EXIT, errorMessage } from "../../util/errors.ts";
import { clientFor, resolveCodebase, resolveTaskId, shortId } from "../_api.ts";
import { defineCommand } from "../_command.ts";
import { errorLine, note, printJson } from "../_output.ts";
import { commandConfig, jsonArg } from "../_shared.ts";
import { fetchNewest } from "./list.ts";

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** "90s", "30m", "1h", "2d" -> milliseconds; a usage error naming the flag otherwise. */
export function parseDuration(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)([smhd])$/.exec(text.trim());
  if (!m || Number(m[1]) <= 0) throw new CliError(`${flag}: expected a duration like 30m, 1h or 2d, got '${text}'`, EXIT.USAGE);
  return Number(m[1]) * UNITS[m[2]!]! * 1000;
}

const cfg = commandConfig(["client"], {
  ids: { type: "positional", multiple: true, description: "Task ids (a unique start or end of an id works)" },
  failed: { type: "boolean", description: "Retry every failed task created within --since that has not been retried yet" },
  since: { type: "string", valueHint: "duration", description: "With --failed: how far back, by creation time: 30m, 1h, 2d (default: 24h)" },
  codebase: { type: "string", valueHint: "id|name|global", description: "With --failed: only this codebase's tasks" },
  ...jsonArg,
});

export default defineCommand({
  meta: {
    name: "retry",
    description:
      "Run finished tasks again: each becomes a new task with the same codebase, prompt, agent, model and limits, linked to it by metadata.retry_of.\n" +
      "Example: codetether task retry --failed --since 1h --codebase api",
  },
  args: cfg.args,
  async run({ args }) {
    const { config } = await cfg.load(args);
    const client = clientFor(config);
    const refs = (args.ids as string[] | undefined) ?? [];
    if (refs.length && args.failed) throw new CliError("give task ids or --failed, not both", EXIT.USAGE);
    if (!refs.length && !args.failed) throw new CliError("missing task ids (or --failed to retry the failed tasks of a period)", EXIT.USAGE);
    if (!args.failed && (args.since || args.codebase)) throw new CliError("--since and --codebase go with --failed", EXIT.USAGE);

    let ids: string[];
    if (args.failed) {
      const since = Date.now() - parseDuration(args.since || "24h", "--since");
      const codebaseId = args.codebase ? await resolveCodebase(client, args.codebase) : undefined;
      ids = await failedNotRetried(client, since, codebaseId);
      if (!ids.length) note(`no failed tasks to retry since ${new Date(since).toISOString()}`);
    } else {
      ids = [];
      for (const ref of refs) ids.push(await resolveTaskId(client, ref));
    }

    const made: { retry_of: string; id: string | null; status: string | null; error: string | null }[] = [];
    for (const id of ids) {
      try {
        const t = await client.retryTask(id);
        made.push({ retry_of: id, id: t.id, status: t.status, error: null });
        if (!args.json) process.stdout.write(`${t.id}  retries ${shortId(id)}\n`);
      } catch (err) {
        made.push({ retry_of: id, id: null, status: null, error: errorMessage(err) });
        if (!args.json) errorLine(`task ${shortId(id)}: ${errorMessage(err)}`);
      }
    }
    if (args.json) printJson(made);
    if (made.some((m) => m.error)) throw new CliError(`${made.filter((m) => m.error).length} of ${made.length} could not be retried`, EXIT.FAILURE);
  },
});

/** Failed tasks created since `since`, oldest first, minus those a task of the same period already retries. */
async function failedNotRetried(client: ReturnType<typeof clientFor>, since: number, codebaseId?: string): Promise<string[]> {
  const filters = codebaseId ? { codebase_id: codebaseId } : {};
  const failed = (await fetchNewest(client, { ...filters, status: "failed" }, Number.POSITIVE_INFINITY, since)).tasks;
  if (!failed.length) return [];
  const recent = (await fetchNewest(client, filters, Number.POSITIVE_INFINITY, since)).tasks;
  const retried = new Set(recent.map((t: Task) => t.metadata?.retry_of).filter((x): x is string => typeof x === "string"));
  return failed
    .filter((t) => !retried.has(t.id))
    .reverse()
    .map((t) => t.id);
}
