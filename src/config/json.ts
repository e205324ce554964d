// Strict JSON with a line/column on failure. JSON.parse says what is wrong ("Property name
// must be a string literal") but not where, and an operator editing
// /etc/a2a-worker/config.json needs the where: jsonc-parser (VS Code's) reports both. It is
// run strict: no comments, no trailing commas. JSON.parse reads the file first and gives the
// value; jsonc-parser is loaded only to say where a file that JSON.parse refuses goes wrong.
import type { ParseError } from "jsonc-parser";

export type JsonResult = { ok: true; value: unknown } | { ok: false; line: number; column: number; message: string };

// jsonc-parser's ParseErrorCode, by number: its enum is a value, and importing it would load the parser.
const MESSAGES: Partial<Record<number, string>> = {
  [1 /* InvalidSymbol */]: "unexpected text: JSON wants double-quoted strings, numbers, true, false or null",
  [2 /* InvalidNumberFormat */]: "bad number",
  [3 /* PropertyNameExpected */]: 'expected a "quoted" property name (no trailing commas)',
  [4 /* ValueExpected */]: "expected a value (no trailing commas)",
  [5 /* ColonExpected */]: "expected ':'",
  [6 /* CommaExpected */]: "expected ',' (or the end of the list/object)",
  [7 /* CloseBraceExpected */]: "expected '}'",
  [8 /* CloseBracketExpected */]: "expected ']'",
  [9 /* EndOfFileExpected */]: "unexpected text after the end of the JSON value",
  [10 /* InvalidCommentToken */]: "comments are not allowed in JSON",
  [11 /* UnexpectedEndOfComment */]: "comments are not allowed in JSON",
  [12 /* UnexpectedEndOfString */]: "unterminated string",
  [13 /* UnexpectedEndOfNumber */]: "bad number",
  [14 /* InvalidUnicode */]: "bad \\u escape",
  [15 /* InvalidEscapeCharacter */]: "bad escape character",
  [16 /* InvalidCharacter */]: "control character in a string (escape it)",
};

export async function parseJson(text: string): Promise<JsonResult> {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text; // editors on Windows add a BOM
  if (!body.trim()) return { ok: false, line: 1, column: 1, message: "empty file, expected a JSON object" };
  let failure: Error;
  try {
    return { ok: true, value: JSON.parse(body) };
  } catch (err) {
    failure = err as Error;
  }
  const { parse } = await import("jsonc-parser");
  const errors: ParseError[] = [];
  parse(body, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  // jsonc-parser is more lenient in corners (e.g. lone surrogates): then JSON.parse's message, without a place.
  const first = errors[0];
  if (!first) return { ok: false, line: 1, column: 1, message: failure.message };
  return { ok: false, ...lineColumn(body, first.offset), message: MESSAGES[first.error] ?? "invalid JSON" };
}

function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  return { line, column: offset - before.lastIndexOf("\n") };
}
