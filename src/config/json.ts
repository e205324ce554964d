// Strict JSON parsing with a line/column on failure. Bun's JSON.parse says what is wrong
// ("Property name must be a string literal") but not where, and an operator editing
// /etc/a2a-worker/config.json needs the where. JSON.parse does the real parse; the small
// scanner below runs only after it failed, to find the first bad spot.

export type JsonResult = { ok: true; value: unknown } | { ok: false; line: number; column: number; message: string };

export function parseJson(text: string): JsonResult {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text; // editors on Windows add a BOM
  try {
    return { ok: true, value: JSON.parse(body) };
  } catch (err) {
    const found = locate(body);
    const at = found ?? { offset: 0, message: err instanceof Error ? err.message : String(err) };
    return { ok: false, ...lineColumn(body, at.offset), message: at.message };
  }
}

function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text[i] === "\n") {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

class Bad {
  constructor(
    readonly offset: number,
    readonly message: string,
  ) {}
}

/** The first syntax error of `text` as JSON (RFC 8259), or undefined when it is valid. */
export function locate(text: string): { offset: number; message: string } | undefined {
  let i = 0;
  const n = text.length;
  const show = (at: number) => (at >= n ? "end of file" : JSON.stringify(text[at]));
  const fail = (message: string, at = i): never => {
    throw new Bad(at, message);
  };
  const ws = () => {
    while (i < n && (text[i] === " " || text[i] === "\t" || text[i] === "\n" || text[i] === "\r")) i++;
  };
  const unexpected = (expected: string): never => {
    if (i >= n) return fail(`unexpected end of file, expected ${expected}`);
    const c = text[i]!;
    if (c === "/" && (text[i + 1] === "/" || text[i + 1] === "*")) return fail("comments are not allowed in JSON");
    if (c === "'") return fail("strings must use double quotes");
    return fail(`expected ${expected}, found ${show(i)}`);
  };

  const string = () => {
    const start = i;
    i++; // opening quote
    while (true) {
      if (i >= n) fail("unterminated string", start);
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return;
      }
      if (c < 0x20) fail("control character in string (write \\n, \\t ...)");
      if (c === 0x5c) {
        const e = text[i + 1];
        if (e === "u") {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) fail("bad \\u escape: expected 4 hex digits");
          i += 6;
          continue;
        }
        if (e === undefined || !'"\\/bfnrt'.includes(e)) fail(`bad escape \\${e ?? ""}`);
        i += 2;
        continue;
      }
      i++;
    }
  };

  const number = () => {
    const start = i;
    const re = /-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
    re.lastIndex = i;
    const m = re.exec(text);
    i += m ? m[0].length : 0;
    if (!m || m[0] === "-" || (i < n && /[0-9A-Za-z.]/.test(text[i]!))) fail("bad number (JSON has no leading zeros, hex, NaN or trailing dots)", start);
  };

  const value = (): void => {
    ws();
    const c = text[i];
    if (c === "{") return object();
    if (c === "[") return array();
    if (c === '"') return string();
    if (c === "-" || (c !== undefined && c >= "0" && c <= "9")) return number();
    for (const lit of ["true", "false", "null"]) {
      if (text.startsWith(lit, i)) {
        i += lit.length;
        return;
      }
    }
    unexpected("a value");
  };

  const object = () => {
    i++;
    ws();
    if (text[i] === "}") {
      i++;
      return;
    }
    while (true) {
      ws();
      if (text[i] !== '"') unexpected("a property name in double quotes");
      string();
      ws();
      if (text[i] !== ":") unexpected("':' after the property name");
      i++;
      value();
      ws();
      if (text[i] === ",") {
        const comma = i;
        i++;
        ws();
        if (text[i] === "}") fail("trailing comma before '}'", comma);
        continue;
      }
      if (text[i] === "}") {
        i++;
        return;
      }
      unexpected("',' or '}'");
    }
  };

  const array = () => {
    i++;
    ws();
    if (text[i] === "]") {
      i++;
      return;
    }
    while (true) {
      value();
      ws();
      if (text[i] === ",") {
        const comma = i;
        i++;
        ws();
        if (text[i] === "]") fail("trailing comma before ']'", comma);
        continue;
      }
      if (text[i] === "]") {
        i++;
        return;
      }
      unexpected("',' or ']'");
    }
  };

  try {
    value();
    ws();
    if (i < n) fail(`unexpected ${show(i)} after the end of the JSON value`);
    return undefined;
  } catch (e) {
    if (e instanceof Bad) return { offset: e.offset, message: e.message };
    throw e;
  }
}
