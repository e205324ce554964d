// `codetether webhook test`: a signed sample event to each configured receiver (or one given
// with --url/--secret), exactly as the server signs real ones, so a receiver's signature
// check can be tried before any task ends.
import { version } from "../../../package.json";
import { WEBHOOK_EVENTS } from "../../config/schema.ts";
import type { WebhookEntry } from "../../config/validate.ts";
import { CliError, EXIT } from "../../util/errors.ts";
import { defineCommand } from "../_command.ts";
import { errorLine, printJson } from "../_output.ts";
import { commandConfig, jsonArg } from "../_shared.ts";

const cfg = commandConfig(["server"], {
  url: { type: "string", valueHint: "https://...", description: "Send to this receiver instead of the configured webhooks (needs --secret)" },
  secret: { type: "string", valueHint: "text", description: "With --url: the secret to sign with" },
  event: { type: "string", valueHint: WEBHOOK_EVENTS.join("|"), description: "The sample's event type (default: task.completed)" },
  ...jsonArg,
});

export default defineCommand({
  meta: {
    name: "test",
    description:
      "Send a signed sample event to each webhook of the server's config (webhooks), or to --url with --secret; exit 1 when one fails.\n" +
      "Example: codetether webhook test --url http://127.0.0.1:9000/hook --secret $SECRET",
  },
  args: cfg.args,
  async run({ args }) {
    const { config } = await cfg.load(args);
    const event = args.event || "task.completed";
    if (!(WEBHOOK_EVENTS as readonly string[]).includes(event))
      throw new CliError(`--event: expected one of ${WEBHOOK_EVENTS.join(", ")}, got '${event}'`, EXIT.USAGE);
    if (args.url && !args.secret) throw new CliError("--url needs --secret (the receiver checks the signature with it)", EXIT.USAGE);
    const hooks: Pick<WebhookEntry, "url" | "secret">[] = args.url ? [{ url: args.url, secret: args.secret! }] : config.webhooks;
    if (!hooks.length) throw new CliError("no webhooks configured (webhooks in the config file or A2A_WEBHOOKS), and no --url given", EXIT.CONFIG);
    const { eventBody, post } = await import("../../server/webhooks.ts");
    const now = new Date().toISOString();
    const results: { url: string; id: string; ok: boolean; error: string | null }[] = [];
    for (const h of hooks) {
      const id = `test-${Bun.randomUUIDv7()}`;
      const data =
        event === "worker.offline"
          ? { worker: { worker_id: "sample-worker", name: "sample-worker" }, reason: "test" }
          : { task: { id: "sample-task", status: event.slice(5), test: true } };
      const error = await post(h.url, h.secret, id, event, eventBody(id, event, now, data), version);
      results.push({ url: h.url, id, ok: error === null, error });
      if (!args.json) {
        if (error === null) process.stdout.write(`✓ ${h.url}: accepted ${event} (delivery ${id})\n`);
        else errorLine(`${h.url}: ${error}`);
      }
    }
    if (args.json) printJson(results);
    const failed = results.filter((r) => !r.ok).length;
    if (failed) throw new CliError(`${failed} of ${results.length} receivers did not accept the sample`, EXIT.FAILURE);
  },
});
