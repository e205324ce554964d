// Strict JSON with a line/column on failure. JSON.parse says what is wrong ("Property name
// must be a string literal") but not where, and an operator editing
// /etc/a2a-worker/config.json needs the where: jsonc-parser (VS Code's) reports both. It is
// run strict: no comments, no trailing commas; JSON.parse then gives the value itself.
import { type ParseError, ParseErrorCode, parse } from "jsonc-parser";

export type JsonResult = { ok: true; value: unknown } | { ok: false; line: number; column: number; message: string };

const MESSAGES: Partial<Record<ParseErrorCode, string>> = {
  [ParseErrorCode.InvalidSymbol]: "unexpected text: JSON wants double-quoted strings, numbers, true, false or null",
  [ParseErrorCode.InvalidNumberFormat]: "bad number",
  [ParseErrorCode.PropertyNameExpected]: 'expected a "quoted" property name (no trailing commas)',
  [ParseErrorCode.ValueExpected]: "expected a value (no trailing commas)",
  [ParseErrorCode.ColonExpected]: "expected ':'",
  [ParseErrorCode.CommaExpected]: "expected ',' (or the end of the list/object)",
  [ParseErrorCode.CloseBraceExpected]: "expected '}'",
  [ParseErrorCode.CloseBracketExpected]: "expected ']'",
  [ParseErrorCode.EndOfFileExpected]: "unexpected text after the end of the JSON value",
  [ParseErrorCode.InvalidCommentToken]: "comments are not allowed in JSON",
  [ParseErrorCode.UnexpectedEndOfComment]: "comments are not allowed in JSON",
  [ParseErrorCode.UnexpectedEndOfString]: "unterminated string",
  [ParseErrorCode.UnexpectedEndOfNumber]: "bad number",
  [ParseErrorCode.InvalidUnicode]: "bad \\u escape",
  [ParseErrorCode.InvalidEscapeCharacter]: "bad escape character",
  [ParseErrorCode.InvalidCharacter]: "control character in a string (escape it)",
};

export function parseJson(text: string): JsonResult {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text; // editors on Windows add a BOM
  if (!body.trim()) return { ok: false, line: 1, column: 1, message: "empty file, expected a JSON object" };
  const errors: ParseError[] = [];
  parse(body, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  if (!errors.length) {
    try {
      return { ok: true, value: JSON.parse(body) };
    } catch (err) {
      // jsonc-parser is more lenient in corners (e.g. lone surrogates); JSON.parse has the last word.
      return { ok: false, line: 1, column: 1, message: err instanceof Error ? err.message : String(err) };
    }
  }
  const first = errors[0]!;
  return { ok: false, ...lineColumn(body, first.offset), message: MESSAGES[first.error] ?? "invalid JSON" };
}

function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  return { line, column: offset - before.lastIndexOf("\n") };
}
