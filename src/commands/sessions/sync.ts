import { defineCommand } from "../_command.ts";
import { createClient } from "../../client/index.ts";
import { makeRedactor } from "../../util/redact.ts";
import { secretStrings } from "../../config/resolve.ts";
import { commandConfig, jsonArg } from "../_shared.ts";
import { resolveCodebase } from "../_api.ts";

const cfg = commandConfig(["worker"], {
  codebase: { type: "string", valueHint: "id|name", description: "Only sessions of this codebase (name or id)" },
  "dry-run": { type: "boolean", description: "Send nothing; report what would be sent" },
  ...jsonArg,
});

export default defineCommand({
  meta: {
    name: "sync",
    description:
      "Upload this machine's OpenCode session history to the server once (only new or changed sessions and messages).\n" +
      "Uses the worker's config (same flags as `worker start`). Example: codetether sessions sync --codebase api --dry-run",
  },
  args: cfg.args,
  async run({ args }) {
    const { config } = await cfg.load(args);
    const { syncRound, serverTarget } = await import("../../sessions/run.ts");
    const client = createClient({ serverUrl: config.server_url, token: config.auth_token, workerId: config.worker_id, shortLived: true });
    const target = await serverTarget(client, config.worker_id);
    const codebaseId = args.codebase ? await resolveCodebase(client, String(args.codebase), { workerId: config.worker_id, literalGlobal: false }) : undefined;
    const r = await syncRound({ client, config, target, redact: makeRedactor(secretStrings(config)), codebaseId, dryRun: !!args["dry-run"] });
    if (args.json) {
      process.stdout.write(JSON.stringify({ ...r, dry_run: !!args["dry-run"] }) + "\n");
      return;
    }
    const verb = args["dry-run"] ? "would send" : "sent";
    process.stdout.write(
      `sessions scanned: ${r.sessions_scanned}, ${verb}: ${r.sessions_sent}, unchanged: ${r.sessions_unchanged}; messages ${verb}: ${r.messages_sent}\n`,
    );
  },
});
