// `codetether task logs ID`: the output lines the worker sent; --follow keeps reading
// until the task ends and exits with its outcome, like `task create --wait`.
import { defineCommand } from "../_command.ts";
import type { OutputLine } from "../../protocol/index.ts";
import { clientFor, resolveTaskId } from "../_api.ts";
import { note, painter, printJson } from "../_output.ts";
import { commandConfig, jsonArg } from "../_shared.ts";
import { finish, follow, outputPrinter, readOutput } from "./_follow.ts";

const cfg = commandConfig(["client"], {
  id: { type: "positional", required: true, description: "Task id" },
  follow: { type: "boolean", alias: "f", description: "Keep printing new lines until the task ends" },
  raw: { type: "boolean", description: "Print OpenCode's raw JSON events, not the agent's text and tool lines" },
  ...jsonArg,
});

export default defineCommand({
  meta: {
    name: "logs",
    description:
      "Print a task's output. --follow waits for more until the task ends (exit 0 completed, 1 failed, 130 cancelled).\n" +
      "Example: codetether task logs 3f2a9c1e --follow",
  },
  args: cfg.args,
  async run({ args }) {
    const { config } = await cfg.load(args);
    const client = clientFor(config);
    const id = await resolveTaskId(client, String(args.id));
    if (args.json) {
      // --json is a snapshot (with --follow: taken once the task has ended)
      const task = args.follow ? await follow(client, id) : await client.getTask(id);
      const { lines } = await readOutput(client, id);
      printJson({ task_id: id, status: task.status, lines: lines.map(lineJson) });
      if (args.follow) finish(task);
      return;
    }
    const paint = painter(process.stderr);
    let attempt = 0;
    const show = outputPrinter(!!args.raw);
    const print = (l: OutputLine) => {
      if (attempt && l.attempt !== attempt) note(paint("dim", `--- attempt ${l.attempt} ---`));
      attempt = l.attempt;
      show(l.line);
    };
    if (!args.follow) {
      await client.getTask(id); // an unknown id is a 404, not an empty log
      (await readOutput(client, id)).lines.forEach(print);
      return;
    }
    const onSigint = () => process.exit(130);
    process.on("SIGINT", onSigint);
    finish(await follow(client, id, { onLine: print }));
  },
});

function lineJson(l: OutputLine) {
  return { seq: l.seq, attempt: l.attempt, line: l.line, timestamp: l.timestamp ?? null };
}
