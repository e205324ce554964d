// `codetether task diff ID`: the change a worktree task made (its branch against where it
// started), as the server stored it (up to 1 MiB).
import { defineCommand } from "../_command.ts";
import { CliError, EXIT } from "../../util/errors.ts";
import { clientFor, resolveTaskId } from "../_api.ts";
import { note, printJson } from "../_output.ts";
import { commandConfig, jsonArg } from "../_shared.ts";

const cfg = commandConfig(["client"], {
  id: { type: "positional", required: true, description: "Task id" },
  ...jsonArg,
});

export default defineCommand({
  meta: {
    name: "diff",
    description:
      "Print the diff of a worktree task (isolation worktree): what the agent changed on branch codetether/<id>.\n" +
      "The server keeps up to 1 MiB of it; a longer one is cut (noted on stderr; the branch has all of it).\n" +
      "Example: codetether task diff 3f2a9c1e | git apply",
  },
  args: cfg.args,
  async run({ args }) {
    const { config } = await cfg.load(args);
    const client = clientFor(config);
    const id = await resolveTaskId(client, String(args.id));
    const d = await client.getTaskDiff(id);
    if (args.json) {
      printJson({ task_id: d.task_id, diff: d.diff, truncated: d.truncated });
      return;
    }
    if (!d.diff) {
      const t = await client.getTask(id);
      const worktree = t.isolation === "worktree";
      const why =
        worktree && (t.status === "pending" || t.status === "running")
          ? `it is ${t.status}; the diff arrives when it ends`
          : worktree && t.diff_stat?.files === 0
            ? "the agent changed nothing (no branch is kept for such a task)"
            : t.branch
              ? "its worker reported none"
              : "it did not run in a worktree (isolation worktree)";
      throw new CliError(`task ${id} has no diff: ${why}`, EXIT.FAILURE);
    }
    process.stdout.write(d.diff);
    if (d.truncated) note(`diff truncated at 1 MiB; the whole change is on branch codetether/${id}`);
  },
});
