// `codetether task list`: newest tasks first, filtered by status, codebase or worker; a
// note on stderr when more exist than were shown, so new work is never silently cut off.
import { TaskStatus, type Task } from "../../protocol/answers.ts";
import { CliError, EXIT } from "../../util/errors.ts";
import { clientFor, codebaseNames, intArg, resolveCodebase, shortId } from "../_api.ts";
import { defineCommand } from "../_command.ts";
import { ago, clip, note, printJson, statusText, table, termWidth } from "../_output.ts";
import { commandConfig, jsonArg } from "../_shared.ts";
import { taskJson } from "./_follow.ts";

const DEFAULT_LIMIT = 100;
const PAGE = 500;

const cfg = commandConfig(["client"], {
  status: { type: "string", valueHint: TaskStatus.options.join("|"), description: "Only tasks in this state" },
  codebase: { type: "string", valueHint: "id|name|global", description: "Only tasks of this codebase" },
  worker: { type: "string", valueHint: "id", description: "Only tasks held or run by this worker" },
  limit: { type: "string", valueHint: "n", description: `At most this many, newest first (default: ${DEFAULT_LIMIT})` },
  all: { type: "boolean", description: "Every matching task (pages through the server's list)" },
  ...jsonArg,
});

export default defineCommand({
  meta: {
    name: "list",
    description:
      "List tasks, newest first. IDs are shown by their last 8 characters; a unique start or end of an id works wherever a task id is asked for.\n" +
      "Example: codetether task list --status running --codebase api --json | jq -r '.tasks[].id'",
  },
  args: cfg.args,
  async run({ args }) {
    const { config } = await cfg.load(args);
    const client = clientFor(config);
    const status = args.status || undefined;
    if (status && !TaskStatus.safeParse(status).success) {
      throw new CliError(`--status: expected one of ${TaskStatus.options.join(", ")}, got '${status}'`, EXIT.USAGE);
    }
    if (args.all && args.limit) throw new CliError("--all and --limit: give one of them", EXIT.USAGE);
    const limit = args.all ? Number.POSITIVE_INFINITY : (intArg(args.limit, "limit", { min: 1, max: 10000 }) ?? DEFAULT_LIMIT);
    const codebaseId = args.codebase ? await resolveCodebase(client, args.codebase) : undefined;
    const filters = { status, codebase_id: codebaseId, worker_id: args.worker || undefined };

    const { tasks, total, more } = await fetchNewest(client, filters, limit);
    if (args.json) {
      printJson({ tasks: tasks.map(taskJson), total: total ?? null });
      return;
    }
    if (!tasks.length) {
      process.stdout.write("no tasks\n");
      return;
    }
    const codebase = await codebaseNames(client);
    process.stdout.write(render(tasks, codebase));
    if (more)
      note(total === null ? `showing the newest ${tasks.length}; more exist (--limit N or --all)` : `${tasks.length} of ${total}; --limit N or --all for more`);
  },
});

/** Newest first, up to `limit`, following the server's Link pages; with `since`, none created before it. */
export async function fetchNewest(client: ReturnType<typeof clientFor>, filters: Record<string, unknown>, limit: number, since?: number) {
  const tasks: Task[] = [];
  let query: Record<string, unknown> | null = { ...filters, order: "newest", limit: Math.min(limit, PAGE) };
  let total: number | null = null;
  let more = false;
  while (query && tasks.length < limit) {
    const page = await client.listTasksPage(query);
    total ??= page.total;
    tasks.push(...page.tasks);
    more = !!page.next || page.tasks.length === Number(query.limit);
    if (since !== undefined && page.tasks.some((t) => Date.parse(t.created_at) < since)) break;
    // Without a Link header (an older server) there is no next page to ask for.
    query = page.next ? { ...page.next, limit: Math.min(limit - tasks.length, PAGE) } : null;
  }
  // An older server ignores order=newest (priority, then oldest first): sort here.
  tasks.sort((a, b) => Date.parse(b.created_at) - Date.parse(a.created_at));
  const shown = (since === undefined ? tasks : tasks.filter((t) => Date.parse(t.created_at) >= since)).slice(0, limit);
  return { tasks: shown, total, more: more && (total === null || total > shown.length) };
}

/** Columns that fit the terminal: the title takes what the others leave. */
function render(tasks: Task[], codebase: (id: string | null | undefined) => string): string {
  const rows = tasks.map((t) => [
    shortId(t.id),
    statusText(t.status),
    clip(codebase(t.codebase_id), 20),
    t.agent_type,
    clip(t.worker_id ?? "-", 16),
    ago(t.created_at),
    t.title || t.prompt,
  ]);
  const headers = ["ID", "STATUS", "CODEBASE", "AGENT", "WORKER", "CREATED", "TITLE"];
  const fixed = headers.slice(0, -1).map((h, i) => Math.max(h.length, ...rows.map((r) => Bun.stringWidth(r[i]!))));
  const room = Math.max(termWidth() - fixed.reduce((a, b) => a + b + 2, 0), 10);
  return table(
    headers,
    rows.map((r) => [...r.slice(0, -1), clip(r.at(-1), room)]),
  );
}
