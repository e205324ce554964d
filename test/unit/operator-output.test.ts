// The output policy of the operator commands and doctor's OpenCode provider detection.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { findProviders, parseJsonc } from "../../src/opencode/doctor.ts";
import { ago, clip, colorEnabled, duration, keyValues, painter, table } from "../../src/commands/_output.ts";
import { tempDir } from "../helpers/proc.ts";

const tty = { isTTY: true, write: () => true };
const pipe = { isTTY: false, write: () => true };
const tmp = tempDir("ct-output-");
afterAll(() => tmp.cleanup());

describe("colour policy", () => {
  test("colour only on a TTY, never with NO_COLOR or TERM=dumb", () => {
    expect(colorEnabled(tty, {})).toBe(true);
    expect(colorEnabled(pipe, {})).toBe(false);
    expect(colorEnabled(tty, { NO_COLOR: "1" })).toBe(false);
    expect(colorEnabled(tty, { TERM: "dumb" })).toBe(false);
    expect(colorEnabled(pipe, { FORCE_COLOR: "1" })).toBe(true);
  });
  test("painter is plain text off a TTY", () => {
    expect(painter(pipe, {})("red", "x")).toBe("x");
    expect(painter(tty, {})("red", "x")).toBe("\x1b[31mx\x1b[39m");
    expect(painter(tty, { NO_COLOR: "1" })("red", "x")).toBe("x");
  });
});

describe("tables and values", () => {
  test("columns align on visible width, no trailing blanks", () => {
    const t = table(
      ["ID", "NAME", "PATH"],
      [
        ["a", "\x1b[32mlong-name\x1b[0m", "/x"],
        ["bbb", "n", ""],
      ],
      pipe,
    );
    expect(t.split("\n")).toEqual(["ID   NAME       PATH", "a    \x1b[32mlong-name\x1b[0m  /x", "bbb  n", ""]);
  });
  test("key/values, durations, ago, clip", () => {
    expect(
      keyValues([
        ["id", "x"],
        ["worker", null],
      ]),
    ).toBe("id:     x\nworker: -\n");
    expect([duration(5), duration(65), duration(3700), duration(90000)]).toEqual(["5s", "1m 5s", "1h 1m", "1d 1h"]);
    expect(ago("2020-01-01T00:00:00Z", Date.parse("2020-01-01T00:00:12Z"))).toBe("12s ago");
    expect(ago(null)).toBe("-");
    expect(clip("a\nb  c", 10)).toBe("a b c");
    expect(clip("abcdefghijk", 5)).toBe("abcd…");
  });
});

describe("doctor's OpenCode lookups", () => {
  test("JSONC: comments and trailing commas, slashes inside strings kept", () => {
    expect(parseJsonc('{ // c\n "a": "http://x/*y*/", /* b */ "b": [1,2,], }')).toEqual({ a: "http://x/*y*/", b: [1, 2] });
    expect(parseJsonc("{nope")).toBeUndefined();
  });
  test("providers from env keys, XDG config, OPENCODE_CONFIG and auth.json; none in an empty home", () => {
    const home = join(tmp.path, "home");
    mkdirSync(home, { recursive: true });
    expect(findProviders({ HOME: home }).ok).toBe(false);
    expect(findProviders({ HOME: home, OPENAI_API_KEY: "k" }).found).toEqual(["env OPENAI_API_KEY"]);
    const cfg = join(home, ".config", "opencode");
    mkdirSync(cfg, { recursive: true });
    writeFileSync(join(cfg, "opencode.json"), JSON.stringify({ provider: {} }));
    expect(findProviders({ HOME: home }).ok).toBe(false); // an empty provider section configures nothing
    writeFileSync(join(cfg, "opencode.json"), JSON.stringify({ provider: { ollama: {} } }));
    expect(findProviders({ HOME: home }).found).toEqual([`${join(cfg, "opencode.json")} (provider: ollama)`]);
    const xdgData = join(tmp.path, "data");
    mkdirSync(join(xdgData, "opencode"), { recursive: true });
    writeFileSync(join(xdgData, "opencode", "auth.json"), JSON.stringify({ openai: { type: "oauth" } }));
    expect(findProviders({ HOME: join(tmp.path, "empty"), XDG_DATA_HOME: xdgData }).found).toEqual([`${join(xdgData, "opencode", "auth.json")} (openai)`]);
    const named = join(tmp.path, "named.json");
    writeFileSync(named, JSON.stringify({ provider: { x: {} } }));
    expect(findProviders({ HOME: join(tmp.path, "empty"), OPENCODE_CONFIG: named }).ok).toBe(true);
  });
});
