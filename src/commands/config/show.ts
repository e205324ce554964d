// `codetether config show`: the resolved config with the source of each value, so an
// operator can see which file, env var or flag set what. Secrets are masked.
import { defineCommand } from "../_command.ts";
import type { Resolved } from "../../config/resolve.ts";
import { maskedValue } from "../../config/resolve.ts";
import { type CodebaseEntry, KEY_NAMES, type KeyName } from "../../config/schema.ts";
import { commandConfig, jsonArg } from "../_shared.ts";

// Every key: this is where an operator asks "why is this set?" for any command.
const cfg = commandConfig(["client", "worker", "server"], { ...jsonArg });

export default defineCommand({
  meta: {
    name: "show",
    description:
      "Print the resolved configuration and where each value came from (default, file, env var or flag); secrets masked.\n" +
      "Example: A2A_POLL_INTERVAL=2 codetether config show --server http://ct.example:8000 --json",
  },
  args: cfg.args,
  async run({ args }) {
    const resolved = await cfg.load(args);
    process.stdout.write(args.json ? `${JSON.stringify(toJson(resolved), null, 2)}\n` : toTable(resolved));
  },
});

/** Fixed keys: {"file", "config": {key: {"value", "source"}}, "warnings"}; unset values are null. */
export function toJson(r: Resolved) {
  const config: Record<string, { value: unknown; source: string }> = {};
  for (const k of KEY_NAMES) config[k] = { value: maskedValue(k, r.config[k]) ?? null, source: r.sources[k] };
  return { file: r.file ?? null, config, warnings: r.warnings };
}

function show(k: KeyName, value: unknown): string {
  const v = maskedValue(k, value);
  if (v === undefined || v === null) return "(unset)";
  if (!Array.isArray(v)) return String(v);
  if (!v.length) return "(none)";
  return v.map((x) => (typeof x === "object" ? `${(x as CodebaseEntry).name}=${(x as CodebaseEntry).path}` : String(x))).join(", ");
}

export function toTable(r: Resolved): string {
  const rows = [["KEY", "VALUE", "SOURCE"], ...KEY_NAMES.map((k) => [k, show(k, r.config[k]), r.sources[k]])];
  const width = [0, 1].map((i) => Math.max(...rows.map((row) => row[i]!.length)));
  const lines = rows.map(([k, v, s]) => `${k!.padEnd(width[0]!)}  ${v!.padEnd(width[1]!)}  ${s}`.trimEnd());
  return `file: ${r.file ?? "(none)"}\n${lines.join("\n")}\n`;
}
