import { defineCommand } from "../_command.ts";
import { consola } from "consola";
import { createClient } from "../../client/index.ts";
import { commandConfig, jsonArg } from "../_shared.ts";
import { resolveCodebase } from "../_api.ts";

const cfg = commandConfig(["client"], {
  ...jsonArg,
  codebase: { type: "string", valueHint: "id|name", description: "Only this codebase's sessions (default: every codebase)" },
});

export default defineCommand({
  meta: {
    name: "list",
    description: "List the sessions the server holds (newest first). Example: codetether sessions list --codebase api --json",
  },
  args: cfg.args,
  async run({ args }) {
    const { config } = await cfg.load(args);
    const client = createClient({ serverUrl: config.server_url, token: config.auth_token });
    const ids = args.codebase ? [await resolveCodebase(client, String(args.codebase), { literalGlobal: false })] : (await client.listCodebases()).map((c) => c.id);
    const rows: any[] = [];
    for (const id of ids) for (const s of await client.listSessions(id)) rows.push({ ...s, codebase_id: s.codebase_id ?? id });
    rows.sort((a, b) => String(b.updated ?? "").localeCompare(String(a.updated ?? "")));
    if (args.json) return void process.stdout.write(JSON.stringify(rows) + "\n");
    if (!rows.length) return consola.log("no sessions");
    for (const s of rows) consola.log(`${s.id}  ${s.updated ?? "-"}  ${String(s.messageCount ?? s.message_count ?? "?").padStart(4)} msgs  ${s.title ?? ""}`);
  },
});
