// `codetether task show ID`: one task in full, result included.
import { defineCommand } from "../_command.ts";
import { codebaseNames, clientFor, resolveTaskId } from "../_api.ts";
import { ago, keyValues, painter, printJson, statusText } from "../_output.ts";
import { commandConfig, jsonArg } from "../_shared.ts";
import type { DiffStat } from "../../protocol/index.ts";
import { taskJson } from "./_follow.ts";

const cfg = commandConfig(["client"], {
  id: { type: "positional", required: true, description: "Task id" },
  ...jsonArg,
});

export default defineCommand({
  meta: {
    name: "show",
    description:
      "Show a task: state, codebase, worker, attempts, times, error and result; for a worktree run its branch, commit and changes.\nExample: codetether task show 3f2a9c1e --json | jq -r .result",
  },
  args: cfg.args,
  async run({ args }) {
    const { config } = await cfg.load(args);
    const client = clientFor(config);
    const t = await client.getTask(await resolveTaskId(client, String(args.id)));
    if (args.json) {
      printJson(taskJson(t));
      return;
    }
    const name = await codebaseNames(client).catch(() => null);
    const codebaseLabel = (id: string | null | undefined) => (name && id && id !== "global" ? `${name(id)} (${id})` : (id ?? "global"));
    const when = (iso: string | null) => (iso ? `${iso} (${ago(iso)})` : null);
    process.stdout.write(
      keyValues([
        ["id", t.id],
        ["status", statusText(t.status) + (t.cancel_requested && t.status === "running" ? " (cancel requested)" : "")],
        ...(t.waiting_reason ? [["waiting", t.waiting_reason] as [string, unknown]] : []),
        ["title", t.title],
        ["codebase", codebaseLabel(t.codebase_id)],
        ["agent", t.agent_type],
        ["model", t.model],
        ["priority", t.priority],
        ["worker", t.worker_id],
        ["target worker", t.target_worker_id],
        ["target name", t.target_agent_name],
        ["requires", t.required_capabilities?.join(", ")],
        ["attempt", `${t.attempt} of ${t.max_attempts}`],
        ["session", t.session_id],
        ["created", when(t.created_at)],
        ["started", when(t.started_at)],
        ["completed", when(t.completed_at)],
        ["isolation", t.isolation ?? null],
        ["branch", t.branch ?? null],
        ["commit", t.branch ? (t.commit ?? "(no changes)") : null],
        ["changes", t.diff_stat ? diffStatText(t.diff_stat) + (t.diff_truncated ? " (stored diff truncated)" : "") : null],
        ["error", t.error],
      ]),
    );
    const paint = painter();
    process.stdout.write(`${paint("bold", "prompt:")}\n${t.prompt}\n`);
    if (t.result) process.stdout.write(`${paint("bold", "result:")}\n${t.result.trimEnd()}\n`);
    if (t.commit) process.stdout.write(paint("dim", `the change: codetether task diff ${t.id}`) + "\n");
  },
});

/** "2 files changed, 5 insertions(+), 1 deletion(-)", as git says it. */
export function diffStatText(d: DiffStat): string {
  const n = (k: number, one: string, many: string) => `${k} ${k === 1 ? one : many}`;
  return `${n(d.files, "file", "files")} changed, ${n(d.insertions, "insertion(+)", "insertions(+)")}, ${n(d.deletions, "deletion(-)", "deletions(-)")}`;
}
