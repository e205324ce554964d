// The lines below are what opencode 1.18.33 printed (`run --format json --print-logs
// --log-level ERROR`) against the scripted model server, shortened; the e2e suite checks
// the same rendering through `task logs` on a real run.
import { describe, expect, test } from "bun:test";
import { renderLine } from "../../src/opencode/render.ts";

const SID = "ses_dcb3925bcffekRW8LNyOE7nPSH";
const ev = (type: string, part: Record<string, unknown>) =>
  JSON.stringify({ type, timestamp: 1796181825797, sessionID: SID, part: { sessionID: SID, messageID: "msg_1", ...part } });
const tool = (name: string, state: Record<string, unknown>) => ev("tool_use", { type: "tool", tool: name, callID: "call_2", id: "prt_2", state });

describe("rendering agent output for people", () => {
  test("text is printed as is; step_start, step_finish and reasoning are dropped", () => {
    expect(renderLine(ev("text", { type: "text", text: "Writing.\nSecond line.\n" }))).toBe("Writing.\nSecond line.");
    expect(renderLine(ev("step_start", { type: "step-start" }))).toBeNull();
    expect(renderLine(ev("step_finish", { type: "step-finish", reason: "stop", tokens: { total: 15 } }))).toBeNull();
    expect(renderLine(ev("reasoning", { type: "reasoning", text: "hmm" }))).toBeNull();
    expect(renderLine(ev("text", { type: "text", text: "x", synthetic: true }))).toBeNull();
  });

  test("one short line per tool call: ✓ with what it worked on, ✗ with why", () => {
    const write = tool("write", {
      status: "completed",
      input: { filePath: "hello.txt", content: "hi\n" },
      output: "Wrote file successfully.",
      title: "tmp/x/hello.txt",
    });
    expect(renderLine(write)).toBe("✓ write hello.txt");
    const bash = tool("bash", {
      status: "completed",
      input: { command: "exit 1", description: "Fail" },
      metadata: { output: "(no output)", exit: 1 },
      title: "exit 1",
    });
    expect(renderLine(bash)).toBe("✗ bash exit 1: exit 1");
    const okBash = tool("bash", { status: "completed", input: { command: "npm test\n--verbose" }, metadata: { exit: 0 } });
    expect(renderLine(okBash)).toBe("✓ bash npm test");
    const read = tool("read", { status: "error", input: { filePath: "nope.txt" }, error: "File not found: /p/nope.txt" });
    expect(renderLine(read)).toBe("✗ read nope.txt: File not found: /p/nope.txt");
    expect(renderLine(tool("todowrite", { status: "completed", input: { todos: [] }, title: "2 todos" }))).toBe("✓ todowrite 2 todos");
  });

  test("colour only through the painter it is given", () => {
    const paint = (style: string, s: string) => `<${style}>${s}</${style}>`;
    const write = tool("write", { status: "completed", input: { filePath: "a.txt" } });
    expect(renderLine(write, paint)).toBe("<green>✓</green> write a.txt");
    expect(renderLine(write)).not.toContain("\x1b");
  });

  test("error events and OpenCode's error log lines are short; models.dev noise is dropped", () => {
    const err = JSON.stringify({
      type: "error",
      timestamp: 1,
      sessionID: SID,
      error: { name: "APIError", data: { message: "Incorrect API key provided: test-key", statusCode: 401 } },
    });
    expect(renderLine(err)).toBe("✗ error: Incorrect API key provided: test-key");
    const stream =
      'timestamp=2026-12-02T03:19:31.724Z level=ERROR run=8e2e3074 message="stream error" providerID=scripted modelID=scripted small=false agent=build ' +
      'error.error="AI_APICallError: Cannot connect to API: Unable to connect. Is the computer able to access the url?"';
    expect(renderLine(stream)).toBe(
      "! stream error (scripted/scripted): AI_APICallError: Cannot connect to API: Unable to connect. Is the computer able to access the url?",
    );
    const models = 'timestamp=2026-12-02T03:19:31.724Z level=ERROR run=8e2e3074 message="Failed to fetch models.dev" cause="TypeError: fetch failed"';
    expect(renderLine(models)).toBeNull();
    expect(renderLine("Failed to fetch models.dev")).toBeNull();
  });

  test("lines that are not OpenCode's pass through unchanged", () => {
    expect(renderLine("hello operator")).toBe("hello operator");
    expect(renderLine('{"not":"an event"}')).toBe('{"not":"an event"}');
    expect(renderLine("permission requested: bash (rm -rf x); auto-rejecting")).toBe("permission requested: bash (rm -rf x); auto-rejecting");
  });
});
