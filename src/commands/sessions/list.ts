// `codetether sessions list`: the OpenCode sessions the server holds, newest first.
import { createClient } from "../../client/index.ts";
import type { StoredSession } from "../../protocol/index.ts";
import { CliError, EXIT } from "../../util/errors.ts";
import { codebaseNames, intArg, resolveCodebase } from "../_api.ts";
import { defineCommand } from "../_command.ts";
import { ago, clip, note, printJson, table, termWidth, usageText } from "../_output.ts";
import { commandConfig, jsonArg } from "../_shared.ts";

const DEFAULT_LIMIT = 100;

const cfg = commandConfig(["client"], {
  ...jsonArg,
  codebase: { type: "string", valueHint: "id|name", description: "Only this codebase's sessions (default: every codebase)" },
  limit: { type: "string", valueHint: "n", description: `At most this many, newest first (default: ${DEFAULT_LIMIT})` },
  all: { type: "boolean", description: "Every session" },
});

export default defineCommand({
  meta: {
    name: "list",
    description:
      "List the sessions the server holds, newest first: 100 unless --limit N or --all (a note on stderr says when more exist).\n" +
      "Example: codetether sessions list --codebase api --json",
  },
  args: cfg.args,
  async run({ args }) {
    const { config } = await cfg.load(args);
    if (args.all && args.limit) throw new CliError("--all and --limit: give one of them", EXIT.USAGE);
    const limit = args.all ? null : (intArg(args.limit, "limit", { min: 1, max: 10000 }) ?? DEFAULT_LIMIT);
    const client = createClient({ serverUrl: config.server_url, token: config.auth_token, shortLived: true });
    const ids = args.codebase ? [await resolveCodebase(client, args.codebase, { literalGlobal: false })] : (await client.listCodebases()).map((c) => c.id);
    let rows: (StoredSession & { codebase_id: string; message_count?: unknown })[] = [];
    let more = false;
    // Each codebase's newest `limit` (the server's list is newest first), merged: the newest `limit` of all are among them.
    for (const id of ids) {
      const page = limit === null ? { sessions: await client.listSessions(id), more: false } : await client.listSessionsPage(id, limit);
      more ||= page.more;
      for (const s of page.sessions) rows.push({ ...s, codebase_id: s.codebase_id ?? id });
    }
    rows.sort((a, b) => String(b.updated ?? "").localeCompare(String(a.updated ?? "")));
    if (limit !== null && rows.length > limit) [rows, more] = [rows.slice(0, limit), true];
    if (more) note(`showing the newest ${rows.length}; more exist (--limit N or --all)`);
    if (args.json) return printJson(rows);
    if (!rows.length) return void process.stdout.write("no sessions\n");
    const name = await codebaseNames(client);
    const cells = rows.map((s) => [
      s.id,
      clip(name(s.codebase_id), 20),
      ago(s.updated),
      String(s.messageCount ?? s.message_count ?? "?"),
      usageText(s) || "—",
      s.title ?? "",
    ]);
    const fixed = cells.reduce((w, r) => r.slice(0, -1).map((c: string, i: number) => Math.max(w[i]!, c.length)), [2, 8, 7, 4, 5]);
    const room = Math.max(termWidth() - fixed.reduce((a: number, b: number) => a + b + 2, 0), 10);
    process.stdout.write(
      table(
        ["ID", "CODEBASE", "UPDATED", "MSGS", "USAGE", "TITLE"],
        cells.map((r) => [...r.slice(0, -1), clip(r.at(-1), room)]),
      ),
    );
  },
});
