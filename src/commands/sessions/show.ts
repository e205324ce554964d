import { defineCommand } from "../_command.ts";
import { createClient } from "../../client/index.ts";
import { CliError } from "../../util/errors.ts";
import { commandConfig, jsonArg } from "../_shared.ts";

const out = (line: string) => process.stdout.write(`${line}\n`);

const cfg = commandConfig(["client"], { ...jsonArg, id: { type: "positional", description: "Session id", required: true } });

export default defineCommand({
  meta: { name: "show", description: "Show one session with its messages. Example: codetether sessions show ses_abc123 --json" },
  args: cfg.args,
  async run({ args }) {
    const { config } = await cfg.load(args);
    const client = createClient({ serverUrl: config.server_url, token: config.auth_token });
    for (const cb of await client.listCodebases()) {
      const s = (await client.listSessions(cb.id)).find((x) => x.id === args.id);
      if (!s) continue;
      const messages = await client.listMessages(cb.id, String(args.id));
      if (args.json) return void process.stdout.write(JSON.stringify({ session: { ...s, codebase_id: cb.id }, messages }) + "\n");
      out(`${s.id}  ${s.title ?? ""}\ncodebase ${cb.name} (${cb.id})  updated ${s.updated ?? "-"}${s.task_id ? `  task ${s.task_id}` : ""}`);
      for (const m of messages) {
        for (const p of m.parts) {
          if (p.type === "text" && p.text) out(`[${m.role}] ${p.text}`);
          else if (p.type === "tool") out(`[${m.role}] tool ${p.tool} ${(p.state as { status?: string } | undefined)?.status ?? ""}`);
        }
      }
      return;
    }
    throw new CliError(`session ${args.id} not found on ${client.base}`);
  },
});
