// `codetether task list`: recent tasks, filtered by status, codebase or worker.
import { defineCommand } from "../_command.ts";
import { TaskStatus } from "../../protocol/index.ts";
import { CliError, EXIT } from "../../util/errors.ts";
import { clientFor, intArg, resolveCodebase } from "../_api.ts";
import { ago, clip, printJson, statusText, table } from "../_output.ts";
import { commandConfig, jsonArg } from "../_shared.ts";
import { taskJson } from "./_follow.ts";

const cfg = commandConfig(["client"], {
  status: { type: "string", valueHint: TaskStatus.options.join("|"), description: "Only tasks in this state" },
  codebase: { type: "string", valueHint: "id|name|global", description: "Only tasks of this codebase" },
  worker: { type: "string", valueHint: "id", description: "Only tasks held or run by this worker" },
  limit: { type: "string", valueHint: "n", description: "At most this many (default: 100)" },
  ...jsonArg,
});

export default defineCommand({
  meta: {
    name: "list",
    description:
      "List tasks (highest priority, then oldest first).\n" +
      "Example: codetether task list --status running --codebase api --json | jq -r '.tasks[].id'",
  },
  args: cfg.args,
  async run({ args }) {
    const { config } = await cfg.load(args);
    const codebase = args.codebase;
    const client = clientFor(config);
    const status = args.status ? String(args.status) : undefined;
    if (status && !TaskStatus.safeParse(status).success) {
      throw new CliError(`--status: expected one of ${TaskStatus.options.join(", ")}, got '${status}'`, EXIT.USAGE);
    }
    const limit = intArg(args.limit, "limit", { min: 1, max: 10000 });
    const codebaseId = typeof codebase === "string" && codebase ? await resolveCodebase(client, codebase) : undefined;
    const tasks = await client.listTasks({
      status: status as TaskStatus | undefined,
      codebase_id: codebaseId,
      worker_id: typeof args.worker === "string" && args.worker ? args.worker : undefined,
      limit,
    });
    if (args.json) {
      printJson({ tasks: tasks.map(taskJson) });
      return;
    }
    if (!tasks.length) {
      process.stdout.write("no tasks\n");
      return;
    }
    const rows = tasks.map((t) => [t.id, statusText(t.status), t.codebase_id ?? "global", t.agent_type, t.worker_id ?? "-", ago(t.created_at), clip(t.title || t.prompt, 50)]);
    process.stdout.write(table(["ID", "STATUS", "CODEBASE", "AGENT", "WORKER", "CREATED", "TITLE"], rows));
  },
});
