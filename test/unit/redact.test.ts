import { describe, expect, test } from "bun:test";
import { makeRedactor, secretValues } from "../../src/util/redact.ts";

describe("makeRedactor", () => {
  test("hides the given secrets and the values of *_TOKEN/*_KEY/*_SECRET/*_PASSWORD env vars", () => {
    const env = {
      ANTHROPIC_API_KEY: "sk-ant-12345",
      GITHUB_TOKEN: "ghp_abcdef",
      DB_PASSWORD: "hunter22",
      AWS_SECRET: "aws-s3cr3t",
      HOME: "/home/someone",
      KEYBOARD: "not-a-secret-name",
    };
    const r = makeRedactor(["bearer-tok-999"], env);
    const line = "auth bearer-tok-999 key=sk-ant-12345 gh=ghp_abcdef pw=hunter22 aws=aws-s3cr3t home=/home/someone kb=not-a-secret-name";
    expect(r(line)).toBe("auth *** key=*** gh=*** pw=*** aws=*** home=/home/someone kb=not-a-secret-name");
  });

  test("names match case-insensitively and only as a suffix", () => {
    const r = makeRedactor([], { my_api_key: "lower-case-val", KEY_ID: "prefix-only-val", TOKENS: "plural-val" });
    expect(r("lower-case-val prefix-only-val plural-val")).toBe("*** prefix-only-val plural-val");
  });

  test("replaces every occurrence, longest secret first", () => {
    const r = makeRedactor(["abcd", "abcdefgh"], {});
    expect(r("abcdefgh abcd abcdefghabcd")).toBe("*** *** ******");
    expect(secretValues(["abcd", "abcdefgh"], {})).toEqual(["abcdefgh", "abcd"]);
  });

  test("ignores values shorter than 4 characters, empty and flag-like values", () => {
    const r = makeRedactor(["abc", "", null, undefined], { X_TOKEN: "1", Y_KEY: "true", Z_SECRET: "   " });
    expect(r("abc 1 true")).toBe("abc 1 true");
    expect(secretValues(["abc", "", null, undefined], { X_TOKEN: "1", Y_KEY: "true", Z_SECRET: "   " })).toEqual([]);
  });

  test("escapes regex characters in secrets", () => {
    const r = makeRedactor(["a.b*c+(d)"], {});
    expect(r("x a.b*c+(d) y aXbbc")).toBe("x *** y aXbbc");
  });

  test("uses process.env by default", () => {
    process.env.CT_REDACT_TEST_TOKEN = "from-process-env-123";
    try {
      expect(makeRedactor([])("v=from-process-env-123")).toBe("v=***");
    } finally {
      delete process.env.CT_REDACT_TEST_TOKEN;
    }
  });

  test("is the identity when there is nothing to hide", () => {
    const r = makeRedactor([], {});
    expect(r("anything at all")).toBe("anything at all");
  });
});
