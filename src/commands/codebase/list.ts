// `codetether codebase list`: every codebase the server knows, with its owning worker.
import { defineCommand } from "../_command.ts";
import type { Codebase } from "../../protocol/index.ts";
import { clientFor } from "../_api.ts";
import { printJson, table } from "../_output.ts";
import { commandConfig, jsonArg } from "../_shared.ts";

const cfg = commandConfig(["client"], { ...jsonArg });

export default defineCommand({
  meta: {
    name: "list",
    description:
      "List the codebases registered with the server.\nExample: codetether codebase list --json | jq -r '.codebases[] | select(.name==\"api\") | .id'",
  },
  args: cfg.args,
  async run({ args }) {
    const { config } = await cfg.load(args);
    const codebases = await clientFor(config).listCodebases();
    if (args.json) {
      printJson({ codebases: codebases.map(codebaseJson) });
      return;
    }
    if (!codebases.length) {
      process.stdout.write("no codebases registered (codetether codebase register NAME PATH)\n");
      return;
    }
    const rows = codebases.map((c) => [c.id, c.name, c.worker_id ?? "-", c.status, c.isolation ?? "shared", c.path]);
    process.stdout.write(table(["ID", "NAME", "WORKER", "STATUS", "ISOLATION", "PATH"], rows));
  },
});

/** Fixed keys, whatever extra fields a server sends. */
export function codebaseJson(c: Codebase) {
  return {
    id: c.id,
    name: c.name,
    path: c.path,
    description: c.description ?? null,
    worker_id: c.worker_id ?? null,
    status: c.status ?? null,
    registered_at: c.registered_at ?? null,
    // never set (or a server that keeps none): what workers do by default
    isolation: c.isolation ?? "shared",
  };
}
