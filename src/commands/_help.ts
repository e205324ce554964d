// --help text, wrapped to the terminal: what the command does, a usage line that starts
// with the program name, its commands or options, then examples. Plain text unless
// stdout is a terminal.
import type { ArgSpec, ArgSpecs } from "./_args.ts";
import type { Command, CommandMeta } from "./_command.ts";
import { painter, termWidth, wrap } from "./_output.ts";

/** "Does X.\nExample: a\nExample: b" -> text and examples. "Example:" may also end a line. */
export function splitDescription(description = ""): { text: string; examples: string[] } {
  const examples: string[] = [];
  const text = description
    .split("\n")
    .map((line) => {
      const at = line.indexOf("Example: ");
      if (at < 0) return line;
      examples.push(line.slice(at + "Example: ".length).trim());
      return line.slice(0, at).trim();
    })
    .filter(Boolean)
    .join("\n");
  return { text, examples };
}

/** The first sentence (or line): how a command is listed under its parent. */
export function summary(description: string): string {
  const { text } = splitDescription(description);
  const line = text.split("\n")[0] ?? "";
  const end = line.search(/\.(\s|$)/);
  return end < 0 ? line : line.slice(0, end);
}

const kebab = (s: string) => s.replace(/([a-z0-9])([A-Z])/g, "$1-$2").toLowerCase();

function flagLabel(name: string, spec: ArgSpec): string {
  const aliases = ([] as string[]).concat(spec.alias ?? []).map((a) => (a.length === 1 ? `-${a}` : `--${kebab(a)}`));
  const main = spec.type === "boolean" && spec.negativeDescription ? `--[no-]${kebab(name)}` : `--${kebab(name)}`;
  const hint = spec.type === "boolean" ? "" : ` <${spec.valueHint ?? "value"}>`;
  return [...aliases, main].join(", ") + hint;
}

/** Two columns: label, then the description wrapped beside it (or below a long label). */
function columns(rows: [string, string][], width: number, paint: ReturnType<typeof painter>): string {
  // Long labels go on a line of their own, so descriptions keep at least ~60% of the width.
  const labelWidth = Math.min(Math.max(...rows.map(([l]) => l.length)), 30, Math.floor(width * 0.4));
  const descCol = 2 + labelWidth + 2;
  return rows
    .map(([label, desc]) => {
      const body = wrap(desc, width - descCol, descCol);
      if (label.length > labelWidth) return `  ${paint("cyan", label)}\n${" ".repeat(descCol)}${body}`;
      return `  ${paint("cyan", label)}${" ".repeat(labelWidth - label.length + 2)}${body}`;
    })
    .join("\n");
}

export async function renderHelp(cmd: Command<any>, path: string[], stream: Parameters<typeof painter>[0] = process.stdout): Promise<string> {
  const paint = painter(stream);
  const width = Math.min(termWidth(stream), 100);
  const meta: CommandMeta = cmd.meta;
  const { text, examples } = splitDescription(meta.description);
  const prog = path.join(" ");
  const out: string[] = [];
  if (text) out.push(wrap(text, width), "");

  const subs = cmd.subCommands;
  const specs: ArgSpecs = cmd.args ?? {};
  const positional = Object.entries(specs).filter(([, s]) => s.type === "positional");
  const flags = Object.entries(specs).filter(([, s]) => s.type !== "positional");
  const required = flags.filter(([, s]) => s.required).map(([n, s]) => `${flagLabel(n, s)}`);
  const usage = [
    prog,
    subs ? "<command>" : "",
    ...positional.map(([n, s]) => {
      const name = `${n.toUpperCase()}${s.multiple ? "..." : ""}`;
      return s.required ? name : `[${name}]`;
    }),
    ...required,
    flags.length > required.length || subs ? "[options]" : "",
  ].filter(Boolean);
  out.push(`${paint("bold", "Usage:")} ${wrap(usage.join(" "), width - 7, 4)}`);

  if (subs) {
    const rows: [string, string][] = [];
    for (const [name, load] of Object.entries(subs)) rows.push([name, load.summary ?? summary((await load()).meta.description)]);
    out.push("", paint("bold", "Commands:"), columns(rows, width, paint));
  }
  if (positional.length) {
    out.push(
      "",
      paint("bold", "Arguments:"),
      columns(
        positional.map(([n, s]) => [n.toUpperCase(), s.description ?? ""]),
        width,
        paint,
      ),
    );
  }
  const optionRows: [string, string][] = flags.map(([n, s]) => [flagLabel(n, s), `${s.description ?? ""}${s.required ? " (required)" : ""}`]);
  optionRows.push(["-h, --help", "Show this help"]);
  if (meta.version) optionRows.push(["-v, --version", "Print the version"]);
  out.push("", paint("bold", "Options:"), columns(optionRows, width, paint));
  if (subs) out.push("", wrap(`Run '${prog} <command> --help' for a command's options.`, width));
  if (examples.length) out.push("", paint("bold", examples.length > 1 ? "Examples:" : "Example:"), ...examples.map((e) => `  ${e}`));
  return `${out.join("\n").replace(/[ \t]+$/gm, "")}\n`;
}
