// `codetether sessions show`: one session the server holds, as a conversation (text by
// role, one line per tool call) under a header with its usage and tool statistics.
import { defineCommand } from "../_command.ts";
import { clientFor, findSession } from "../_api.ts";
import { usageText } from "../_output.ts";
import { commandConfig, jsonArg } from "../_shared.ts";

const out = (line: string) => process.stdout.write(`${line}\n`);

const cfg = commandConfig(["client"], { ...jsonArg, id: { type: "positional", description: "Session id", required: true } });

export default defineCommand({
  meta: { name: "show", description: "Show one session with its messages. Example: codetether sessions show ses_abc123 --json" },
  args: cfg.args,
  async run({ args }) {
    const { config } = await cfg.load(args);
    const client = clientFor(config);
    const { session: s, codebase: cb } = await findSession(client, String(args.id));
    const messages = await client.listMessages(cb.id, String(args.id));
    if (args.json) return void process.stdout.write(`${JSON.stringify({ session: { ...s, codebase_id: cb.id }, messages })}\n`);
    out(`${s.id}  ${s.title ?? ""}\ncodebase ${cb.name} (${cb.id})  updated ${s.updated ?? "-"}${s.task_id ? `  task ${s.task_id}` : ""}`);
    const usage = usageText(s);
    if (usage) out(`usage ${usage}`);
    const tools = (s.tools ?? []) as { tool: string; calls: number; errors: number }[];
    if (tools.length) out(`tools ${tools.map((t) => `${t.tool} ${t.calls}${t.errors ? ` (${t.errors} failed)` : ""}`).join(", ")}`);
    for (const m of messages) {
      for (const p of m.parts) {
        if (p.type === "text" && p.text) out(`[${m.role}] ${p.text}`);
        else if (p.type === "tool") out(`[${m.role}] tool ${p.tool} ${(p.state as { status?: string } | undefined)?.status ?? ""}`);
      }
    }
  },
});
