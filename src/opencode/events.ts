// What `opencode run --format json --print-logs --log-level ERROR` (OpenCode 1.18) prints,
// turned into a task outcome. stdout has one JSON event per line:
//   {"type":"step_start"|"text"|"tool_use"|"step_finish"|"reasoning"|"error",
//    "timestamp":<ms>,"sessionID":"ses_...","part":{...}}   (error events carry `error` instead of `part`)
// A `text` event is printed once per finished text part (not per token); `tool_use` once per
// finished tool call (part.state.status "completed" | "error"). stderr has logfmt log lines
// (`timestamp=... level=ERROR message=... key="value"`) plus plain warnings such as
// "permission requested: X; auto-rejecting".
import { stripAnsi } from "../util/ansi.ts";

export const PROVIDER_HINT =
  "configure a model provider for OpenCode on this worker: set the provider's API key in the worker's environment " +
  "(e.g. ANTHROPIC_API_KEY or OPENAI_API_KEY), or run `opencode auth login` as the worker's user, " +
  "or add a provider to ~/.config/opencode/opencode.json; a task may name its model as provider/model";

export interface OpencodeError {
  name: string;
  message: string;
  statusCode?: number;
  ref?: string;
}

export interface RunState {
  sessionId: string | null;
  events: number;
  /** A step began (the model was called): from here on tools may have run. */
  stepStarted: boolean;
  /** Text parts in order, with the assistant message (= step) they belong to. */
  texts: { messageId: string; text: string }[];
  toolsUsed: string[];
  /** "write: <error>" for tool calls that ended in an error (e.g. rejected permission). */
  toolErrors: string[];
  error: OpencodeError | null;
  /** From stderr: `ref` of "Unexpected server error" events -> the real error text. */
  refs: Map<string, string>;
  /** From stderr: the provider error OpenCode is retrying on (it retries connection errors forever). */
  lastStreamError: { provider: string; model: string; error: string } | null;
  /** Connection failures to the task's model in a row (refused, no such host, ...): see providerUnreachable. */
  connectionFailures: number;
  permissionRejections: string[];
  /** stderr said "database is locked" / a failed CREATE: OpenCode's db start-up race. */
  dbContention: boolean;
  stderrTail: string[];
}

export function newRunState(): RunState {
  return {
    sessionId: null,
    events: 0,
    stepStarted: false,
    texts: [],
    toolsUsed: [],
    toolErrors: [],
    error: null,
    refs: new Map(),
    lastStreamError: null,
    connectionFailures: 0,
    permissionRejections: [],
    dbContention: false,
    stderrTail: [],
  };
}

/** Parses one stdout line; returns the event, or null for a line that is not a JSON event. */
export function parseEvent(line: string): Record<string, any> | null {
  const t = line.trim();
  if (!t.startsWith("{")) return null;
  try {
    const v = JSON.parse(t);
    return v && typeof v === "object" && typeof v.type === "string" ? v : null;
  } catch {
    return null;
  }
}

export function applyEvent(s: RunState, ev: Record<string, any>): void {
  s.events++;
  if (typeof ev.sessionID === "string" && !s.sessionId) s.sessionId = ev.sessionID;
  const part = ev.part ?? {};
  if (ev.type !== "error") s.stepStarted = true;
  switch (ev.type) {
    case "text":
      if (typeof part.text === "string" && part.text.length > 0 && !part.synthetic) s.texts.push({ messageId: String(part.messageID ?? ""), text: part.text });
      break;
    case "tool_use": {
      const tool = String(part.tool ?? "unknown");
      if (!s.toolsUsed.includes(tool)) s.toolsUsed.push(tool);
      if (part.state?.status === "error") s.toolErrors.push(`${tool}: ${String(part.state.error ?? "error")}`);
      break;
    }
    case "error": {
      const e = ev.error ?? {};
      const data = e.data ?? {};
      s.error = {
        name: String(e.name ?? "Error"),
        message: String(data.message ?? e.message ?? "unknown error"),
        statusCode: typeof data.statusCode === "number" ? data.statusCode : undefined,
        ref: typeof data.ref === "string" ? data.ref : undefined,
      };
      break;
    }
  }
}

/** The final answer: the text parts of the last assistant message that had any text. */
export function finalText(s: RunState): string | null {
  const last = s.texts.at(-1);
  if (!last) return null;
  return s.texts
    .filter((t) => t.messageId === last.messageId)
    .map((t) => t.text)
    .join("\n\n");
}

export { stripAnsi }; // one stripper (../util/ansi.ts), also safe in the dashboard's bundle

/** logfmt: key=value pairs, values bare or double-quoted with backslash escapes. */
export function parseLogfmt(line: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /([A-Za-z0-9_.]+)=("(?:[^"\\]|\\.)*"|\S*)/g;
  for (const m of line.matchAll(re)) {
    let v = m[2]!;
    if (v.startsWith('"')) {
      try {
        v = JSON.parse(v);
      } catch {
        v = v.slice(1, -1);
      }
    }
    out[m[1]!] = v;
  }
  return out;
}

const TAIL_LINES = 40;

export function applyStderr(s: RunState, raw: string): void {
  const line = stripAnsi(raw).trimEnd();
  if (!line) return;
  if (/database is locked|SQLITE_BUSY|^Failed query:/i.test(line)) s.dbContention = true;
  if (line.startsWith("timestamp=") && line.includes(" level=")) {
    const f = parseLogfmt(line);
    if (f.ref && f.error) s.refs.set(f.ref, f.error);
    if (f.message === "stream error" && f["error.error"] && f.small !== "true") {
      s.lastStreamError = { provider: f.providerID ?? "?", model: f.modelID ?? "?", error: f["error.error"] };
      s.connectionFailures = looksLikeConnection(f["error.error"]) ? s.connectionFailures + 1 : 0;
    }
    // log lines are long; keep them out of the error tail unless they are errors
    if (f.level !== "ERROR") return;
    s.stderrTail.push(`${f.message ?? ""}${f.error ? `: ${f.error}` : f["error.error"] ? `: ${f["error.error"]}` : ""}`.slice(0, 2000));
  } else {
    const perm = /permission requested: (.*); auto-rejecting/.exec(line);
    if (perm) s.permissionRejections.push(perm[1]!);
    s.stderrTail.push(line);
  }
  if (s.stderrTail.length > TAIL_LINES) s.stderrTail.splice(0, s.stderrTail.length - TAIL_LINES);
}

/** The provider's endpoint could not be reached at all (as opposed to answering with an error). */
const looksLikeConnection = (m: string) =>
  /Cannot connect to API|Unable to connect|ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|getaddrinfo|fetch failed|connection refused|Was there a typo in the url/i.test(
    m,
  );

/**
 * Connection failures in a row after which the run is stopped: OpenCode 1.18 retries an
 * unreachable provider forever (2 s, 4 s, 8 s ... apart), so a refused connection or an
 * unknown host would otherwise hold the task until its timeout. Two failures (a few
 * seconds) tell a dead endpoint from a single dropped connection.
 */
export const CONNECTION_FAILURES_TO_STOP = 2;

export function providerUnreachable(s: RunState): boolean {
  return s.connectionFailures >= CONNECTION_FAILURES_TO_STOP;
}

/** What to do when `provider` cannot be reached: the README promises it names the provider. */
function unreachableHint(provider: string | null): string {
  if (provider === "opencode")
    return `no provider seems configured (OpenCode fell back to its built-in "opencode" provider, which needs the internet); ${PROVIDER_HINT}`;
  const which = provider ? `model provider "${provider}"` : "the model provider";
  return `OpenCode could not reach ${which} from this worker: check its baseURL in the OpenCode config and the worker's network/proxy, or ${PROVIDER_HINT}`;
}

/** The error of a run stopped because its provider cannot be reached. */
export function describeUnreachable(s: RunState): string {
  const e = s.lastStreamError!;
  return `cannot reach ${e.provider}/${e.model}: ${e.error} — ${unreachableHint(e.provider)}`;
}

const looksLikeAuth = (m: string) => /api[ _-]?key|unauthori[sz]ed|authenticat|invalid.*(token|key)|credential/i.test(m);

/**
 * One line for the task's `error`: the provider's message plus what to do about it.
 * `model` (provider/model, when the task named one) names the provider when OpenCode's
 * log did not.
 */
export function describeError(s: RunState, model?: string | null): string {
  const e = s.error!;
  let msg = e.message;
  if (e.ref && s.refs.has(e.ref)) msg = s.refs.get(e.ref)!; // "Unexpected server error" -> the real cause
  if (/ProviderModelNotFoundError|Model not found/i.test(msg)) return `${msg} — ${PROVIDER_HINT}`;
  if (looksLikeConnection(msg)) return `${msg} — ${unreachableHint(s.lastStreamError?.provider ?? model?.split("/")[0] ?? null)}`;
  if (e.statusCode === 401 || e.statusCode === 403 || /ProviderAuthError|LoadAPIKeyError/.test(e.name + msg) || looksLikeAuth(msg))
    return `${msg}${e.statusCode ? ` (HTTP ${e.statusCode})` : ""} — the provider rejected the credentials; ${PROVIDER_HINT}`;
  return e.statusCode ? `${msg} (HTTP ${e.statusCode})` : msg;
}

/** Why a run that ended without an answer failed, from what it printed. */
export function describeNoAnswer(s: RunState): string {
  if (s.permissionRejections.length)
    return (
      `OpenCode auto-rejected a permission request (${s.permissionRejections.join("; ")}): ` +
      "allow it under `permission` in the OpenCode config, or let the worker auto-approve"
    );
  if (s.toolErrors.length) return `opencode finished without an answer; tool errors: ${s.toolErrors.join("; ").slice(0, 1000)}`;
  if (s.events === 0) return "opencode produced no output";
  return "opencode produced no text answer";
}

/** Context for a timeout: OpenCode retries unreachable providers forever, so say which. */
export function describeStall(s: RunState): string {
  const e = s.lastStreamError;
  if (!e) return "";
  let out = `; OpenCode kept retrying ${e.provider}/${e.model}: ${e.error}`;
  if (e.provider === "opencode" || looksLikeConnection(e.error)) out += ` — ${unreachableHint(e.provider)}`;
  else if (looksLikeAuth(e.error)) out += ` — ${PROVIDER_HINT}`;
  return out;
}

/** OpenCode's migrations/first writes race across processes on a fresh or upgraded db. */
export function isStartupDbError(s: RunState): boolean {
  // once a step started the model was called and tools may have run: never re-run that
  return !s.stepStarted && (s.dbContention || /database is locked|SQLITE_BUSY/i.test(s.error?.message ?? ""));
}
