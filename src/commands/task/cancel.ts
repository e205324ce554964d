// `codetether task cancel ID`: a pending task is cancelled at once; a running one is
// asked to stop (the worker stops the agent and reports `cancelled`).
import { defineCommand } from "../_command.ts";
import { clientFor, resolveTaskId } from "../_api.ts";
import { printJson } from "../_output.ts";
import { commandConfig, jsonArg } from "../_shared.ts";

const cfg = commandConfig(["client"], {
  id: { type: "positional", required: true, description: "Task id" },
  ...jsonArg,
});

export default defineCommand({
  meta: {
    name: "cancel",
    description:
      "Cancel a task: pending ones at once, running ones by asking their worker to stop the agent.\n" + "Example: codetether task cancel 3f2a9c1e --json",
  },
  args: cfg.args,
  async run({ args }) {
    const { config } = await cfg.load(args);
    const client = clientFor(config);
    const id = await resolveTaskId(client, String(args.id));
    await client.cancelTask(id);
    // Read the task back: older servers answer cancel with only {"success":true}.
    const t = await client.getTask(id);
    if (args.json) {
      printJson({ id: t.id, status: t.status, cancel_requested: t.cancel_requested, worker_id: t.worker_id ?? null });
      return;
    }
    if (t.status === "cancelled") process.stdout.write(`task ${t.id} cancelled\n`);
    else if (t.status === "running") process.stdout.write(`task ${t.id}: cancel requested; worker ${t.worker_id ?? "?"} is stopping it\n`);
    else process.stdout.write(`task ${t.id} is ${t.status}\n`);
  },
});
