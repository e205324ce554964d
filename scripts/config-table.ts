// Prints the README's configuration table from KEYS, so the docs cannot drift from the code:
//   bun scripts/config-table.ts > /tmp/table.md
import { defaultText } from "../src/commands/_shared.ts";
import { KEY_NAMES, KEYS, type KeyDef } from "../src/config/schema.ts";

const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/</g, "&lt;"); // "<data_dir>" would vanish as an HTML tag
const code = (s: string) => `\`${s}\``;

function flagText(d: KeyDef): string {
  if (d.kind === "bool") return `${code(`--${d.flag}`)} / ${code(`--no-${d.flag}`)}`;
  if (d.kind === "codebases") return `${code(`--${d.flag} name:path`)} (repeatable)`;
  if (d.kind === "list" || d.kind === "paths") return `${code(`--${d.flag}`)} (repeatable)`;
  return code(`--${d.flag}`);
}

const rows = [
  "| key | env | flag | default | description |",
  "| --- | --- | --- | --- | --- |",
  ...KEY_NAMES.map((k) => {
    const d = KEYS[k] as KeyDef;
    const dflt = defaultText(d);
    return `| ${[code(k), d.env.map(code).join(", "), flagText(d), dflt ? code(dflt) : "—", cell(d.description) + (d.secret ? " (secret: masked in output)" : "")].join(" | ")} |`;
  }),
];
process.stdout.write(`${rows.join("\n")}\n`);
