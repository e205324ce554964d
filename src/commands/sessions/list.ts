import { defineCommand } from "citty";
import { consola } from "consola";
import { createClient } from "../../client/index.ts";
import { configArgs, jsonArg, loadConfig } from "../_shared.ts";
import { resolveCodebase } from "../_api.ts";

export default defineCommand({
  meta: {
    name: "list",
    description: "List the sessions the server holds (newest first). Example: codetether sessions list --codebase api --json",
  },
  args: { ...configArgs, ...jsonArg, codebase: { type: "string", description: "Codebase name or id (default: every codebase)" } },
  async run({ args, rawArgs }) {
    const { config } = await loadConfig(args, rawArgs);
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
