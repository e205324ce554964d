// Terminal colour codes and their removal, without node:util: loading node:util (and its
// inspect module, which stripVTControlCharacters pulls in) was a third of `--version`'s
// start-up in the compiled binary (README "Benchmarks", P4).

/** SGR open/close codes, the same as node:util's `inspect.colors` that `styleText` uses. */
const SGR = {
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  blue: [34, 39],
  magenta: [35, 39],
  cyan: [36, 39],
  gray: [90, 39],
  bold: [1, 22],
  dim: [2, 22],
} as const;

export type Style = keyof typeof SGR;

export function style(name: Style, text: string): string {
  const [open, close] = SGR[name];
  return `\u001b[${open}m${text}\u001b[${close}m`;
}

// The pattern of node:util's stripVTControlCharacters (lib/internal/util/inspect.js),
// compiled on first use: building it at import showed in `--help`'s start-up profile.
const ANSI_PATTERN =
  "[\\u001B\\u009B][[\\]()#;?]*" +
  "(?:(?:(?:(?:;[-a-zA-Z\\d\\/\\#&.:=?%@~_]+)*" +
  "|[a-zA-Z\\d]+(?:;[-a-zA-Z\\d\\/\\#&.:=?%@~_]*)*)?" +
  "(?:\\u0007|\\u001B\\u005C|\\u009C))" +
  "|(?:(?:\\d{1,4}(?:;\\d{0,4})*)?[\\dA-PR-TZcf-ntqry=><~]))";
let ansi: RegExp | undefined;

export const stripAnsi = (s: string): string => (s.includes("\u001b") || s.includes("\u009b") ? s.replace((ansi ??= new RegExp(ANSI_PATTERN, "g")), "") : s);
