// The lines below were printed by opencode 1.18.33 (`run --format json --print-logs
// --log-level ERROR`) against the scripted model server; the e2e suite runs it for real.
import { describe, expect, test } from "bun:test";
import {
  applyEvent,
  applyStderr,
  describeError,
  describeNoAnswer,
  describeStall,
  describeUnreachable,
  finalText,
  isStartupDbError,
  newRunState,
  parseEvent,
  parseLogfmt,
  providerUnreachable,
} from "../../src/opencode/events.ts";

const SID = "ses_dda39092cffeEynStWA1JrGw12";
const lines = [
  `{"type":"step_start","timestamp":1795930128701,"sessionID":"${SID}","part":{"id":"prt_1","messageID":"msg_a","sessionID":"${SID}","snapshot":"8e1b","type":"step-start"}}`,
  `{"type":"text","timestamp":1795930128702,"sessionID":"${SID}","part":{"id":"prt_0","messageID":"msg_a","sessionID":"${SID}","type":"text","text":"Let me write it.","time":{"start":1,"end":2}}}`,
  `{"type":"tool_use","timestamp":1795930128736,"sessionID":"${SID}","part":{"type":"tool","tool":"write","callID":"call_2","state":{"status":"completed","input":{"filePath":"hello.txt","content":"hi there\\n"},"output":"Wrote file successfully.","metadata":{},"title":"hello.txt","time":{"start":1795930128690,"end":1795930128720}},"id":"prt_2","sessionID":"${SID}","messageID":"msg_a"}}`,
  `{"type":"step_finish","timestamp":1795930128885,"sessionID":"${SID}","part":{"id":"prt_3","reason":"tool-calls","messageID":"msg_a","sessionID":"${SID}","type":"step-finish","tokens":{"total":15,"input":10,"output":5,"reasoning":0,"cache":{"write":0,"read":0}},"cost":0}}`,
  `{"type":"step_start","timestamp":1795930129132,"sessionID":"${SID}","part":{"id":"prt_4","messageID":"msg_b","sessionID":"${SID}","type":"step-start"}}`,
  `{"type":"text","timestamp":1795930129133,"sessionID":"${SID}","part":{"id":"prt_5","messageID":"msg_b","sessionID":"${SID}","type":"text","text":"I wrote hello.txt","time":{"start":1,"end":2}}}`,
  `{"type":"text","timestamp":1795930129134,"sessionID":"${SID}","part":{"id":"prt_6","messageID":"msg_b","sessionID":"${SID}","type":"text","text":"All done.","time":{"start":1,"end":2}}}`,
  `{"type":"step_finish","timestamp":1795930129265,"sessionID":"${SID}","part":{"id":"prt_7","reason":"stop","messageID":"msg_b","sessionID":"${SID}","type":"step-finish","tokens":{"total":15,"input":10,"output":5,"reasoning":0,"cache":{"write":0,"read":0}},"cost":0}}`,
];

const ERROR_401 = `{"type":"error","timestamp":1795930155659,"sessionID":"${SID}","error":{"name":"APIError","data":{"message":"Incorrect API key provided: test-key","statusCode":401,"isRetryable":false,"responseBody":"{}","metadata":{"url":"http://127.0.0.1:46623/v1/chat/completions"}}}}`;
const ERROR_REF = `{"type":"error","timestamp":1795930390591,"sessionID":"${SID}","error":{"name":"UnknownError","data":{"message":"Unexpected server error. Check server logs for details.","ref":"err_4b0db599"}}}`;
const LOG_FAILED = `timestamp=2026-11-29T05:33:10.590Z level=ERROR run=379a807c message=failed ref=err_4b0db599 error="ProviderModelNotFoundError: Model not found: anthropic/claude-x. Did you mean: claude-sonnet-4-5-20250929?" cause="ProviderModelNotFoundError: Model not found\\n    at <anonymous>"`;
const LOG_STREAM = `timestamp=2026-11-29T05:32:41.954Z level=ERROR run=34491d9b message="stream error" providerID=opencode modelID=big-pickle session.id=${SID} small=false agent=build mode=primary error.error="AI_APICallError: Cannot connect to API: Was there a typo in the url or port? (cause: Error: Was there a typo in the url or port?)"`;

describe("opencode run events", () => {
  test("session id, tools and the final text (all text parts of the last message)", () => {
    const s = newRunState();
    for (const l of lines) applyEvent(s, parseEvent(l)!);
    expect(s.sessionId).toBe(SID);
    expect(s.toolsUsed).toEqual(["write"]);
    expect(s.events).toBe(lines.length);
    expect(finalText(s)).toBe("I wrote hello.txt\n\nAll done.");
  });

  test("non-JSON lines are not events", () => {
    expect(parseEvent("Exporting session: x")).toBeNull();
    expect(parseEvent("{broken")).toBeNull();
    expect(parseEvent('{"no":"type"}')).toBeNull();
  });

  test("a provider error event keeps the provider's message and adds what to configure", () => {
    const s = newRunState();
    applyEvent(s, parseEvent(ERROR_401)!);
    expect(s.stepStarted).toBe(false);
    const msg = describeError(s);
    expect(msg).toContain("Incorrect API key provided: test-key (HTTP 401)");
    expect(msg).toContain("opencode auth login");
  });

  test("'Unexpected server error' is resolved through its ref in the stderr log", () => {
    const s = newRunState();
    applyStderr(s, LOG_FAILED);
    applyEvent(s, parseEvent(ERROR_REF)!);
    const msg = describeError(s);
    expect(msg).toStartWith("ProviderModelNotFoundError: Model not found: anthropic/claude-x.");
    expect(msg).toContain("ANTHROPIC_API_KEY");
  });

  test("retried provider errors explain a timeout; the built-in provider means none is configured", () => {
    const s = newRunState();
    applyStderr(s, LOG_STREAM);
    expect(s.lastStreamError).toEqual({ provider: "opencode", model: "big-pickle", error: expect.stringContaining("Cannot connect to API") });
    expect(describeStall(s)).toContain("no provider seems configured");
    expect(describeStall(newRunState())).toBe("");
  });

  test("auto-rejected permissions and empty runs get a reason", () => {
    const s = newRunState();
    applyStderr(s, "\x1b[93m\x1b[1m! \x1b[0mpermission requested: external_directory (/tmp/x/*); auto-rejecting");
    expect(describeNoAnswer(s)).toContain("external_directory (/tmp/x/*)");
    expect(describeNoAnswer(newRunState())).toBe("opencode produced no output");
  });

  test("a start-up database race is retryable only before any step started", () => {
    const s = newRunState();
    for (const l of ["\x1b[91m\x1b[1mError: \x1b[0mUnexpected error", "", "database is locked"]) applyStderr(s, l);
    expect(isStartupDbError(s)).toBe(true);
    const t = newRunState();
    applyStderr(t, "Failed query: ");
    expect(isStartupDbError(t)).toBe(true);
    applyEvent(t, parseEvent(lines[0]!)!);
    expect(isStartupDbError(t)).toBe(false);
  });

  test("logfmt values: bare, quoted, escaped", () => {
    expect(parseLogfmt('a=1 b="two words" c="say \\"hi\\"" d.e=x')).toEqual({ a: "1", b: "two words", c: 'say "hi"', "d.e": "x" });
  });
});

describe("an unreachable provider", () => {
  const refused = (provider: string, small = "false") =>
    `timestamp=2026-12-02T03:19:31.724Z level=ERROR run=8e2e3074 message="stream error" providerID=${provider} modelID=m1 small=${small} agent=build ` +
    'error.error="AI_APICallError: Cannot connect to API: Unable to connect. Is the computer able to access the url?"';

  test("two connection failures in a row of the task's model stop the run; other errors reset the count", () => {
    const s = newRunState();
    applyStderr(s, refused("deadprov"));
    expect(providerUnreachable(s)).toBe(false);
    applyStderr(s, refused("deadprov", "true")); // the title model: not the task's
    expect(providerUnreachable(s)).toBe(false);
    applyStderr(s, refused("deadprov"));
    expect(providerUnreachable(s)).toBe(true);
    expect(describeUnreachable(s)).toStartWith("cannot reach deadprov/m1: AI_APICallError: Cannot connect to API");
    expect(describeUnreachable(s)).toContain('could not reach model provider "deadprov"');
    applyStderr(
      s,
      LOG_STREAM.replace("Cannot connect to API: Was there a typo in the url or port? (cause: Error: Was there a typo in the url or port?)", "Overloaded"),
    );
    expect(providerUnreachable(s)).toBe(false);
  });

  test("an error event about the connection carries the hint naming the provider, not only a timeout", () => {
    const s = newRunState();
    applyStderr(s, refused("deadprov"));
    applyEvent(s, {
      type: "error",
      error: { name: "UnknownError", data: { message: "Cannot connect to API: Unable to connect. Is the computer able to access the url?" } },
    });
    expect(describeError(s)).toContain('OpenCode could not reach model provider "deadprov"');
    expect(describeError(s)).toContain("opencode auth login");
    const none = newRunState();
    applyStderr(none, LOG_STREAM);
    applyEvent(none, { type: "error", error: { name: "UnknownError", data: { message: "Cannot connect to API: Was there a typo in the url or port?" } } });
    expect(describeError(none)).toContain("no provider seems configured");
    const quiet = newRunState(); // no log line named the provider: the task's model does
    applyEvent(quiet, { type: "error", error: { name: "UnknownError", data: { message: "fetch failed" } } });
    expect(describeError(quiet, "acme/big-1")).toContain('could not reach model provider "acme"');
    expect(describeError(quiet)).toContain("could not reach the model provider");
  });
});
