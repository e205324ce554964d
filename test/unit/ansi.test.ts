// util/ansi replaces node:util's styleText and stripVTControlCharacters for start-up's
// sake (README "Benchmarks", P4): it must give the same strings.
import { describe, expect, test } from "bun:test";
import { stripVTControlCharacters, styleText } from "node:util";
import { type Style, stripAnsi, style } from "../../src/util/ansi.ts";

describe("util/ansi", () => {
  test("style() writes what node:util's styleText writes", () => {
    for (const s of ["red", "green", "yellow", "blue", "magenta", "cyan", "gray", "bold", "dim"] as Style[]) {
      expect(style(s, "x")).toBe(styleText(s, "x", { validateStream: false }));
    }
  });
  test("stripAnsi() removes what stripVTControlCharacters removes", () => {
    const samples = ["plain", "\x1b[31mred\x1b[39m", "\x1b[1;32mX\x1b[0m y", "a\x1b]8;;http://x\x07link\x1b]8;;\x07b", "\x1b[2K\x1b[1Gz", "\x9b31mc"];
    for (const s of samples) expect(stripAnsi(s)).toBe(stripVTControlCharacters(s));
  });
});
