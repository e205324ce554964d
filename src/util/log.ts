// One logger for server and worker: consola for people, one JSON object per line for
// journald/Kubernetes (`log_format: json`). Call `setupLogging` once from a command.
import { consola, LogLevels, type LogType } from "consola";

let _json = false;
/** Info lines written directly, as consola's reporter would write them (see setupLogging). */
let _plainInfo: ((line: string) => void) | null = null;

export type LogFormat = "pretty" | "json";
export type LogLevel = "debug" | "info" | "warn" | "error";

const LEVELS: Record<LogLevel, number> = {
  debug: LogLevels.debug,
  info: LogLevels.info,
  warn: LogLevels.warn,
  error: LogLevels.error,
};

export function setupLogging(opts: { level?: LogLevel; format?: LogFormat; redact?: (s: string) => string }): void {
  consola.level = LEVELS[opts.level ?? "info"];
  _json = opts.format === "json";
  // consola's pretty reporter shows the time only beside lines on a terminal (stdout has
  // columns), but formats it for every line: the first toLocaleTimeString() loads ICU's
  // locale data, ~100 ms and several MB of a worker's start-up. Same output without it.
  if (!consola.options.stdout?.columns) consola.options.formatOptions = { ...consola.options.formatOptions, date: false };
  const redact = opts.redact ?? ((s: string) => s);
  // Off a terminal consola's pretty reporter writes an info line as "ℹ " + text, after
  // measuring the text's display width (emoji and East Asian tables): a third of a busy
  // server's logging time (issue 13 profile). Info lines there are written directly, same bytes.
  const out = consola.options.stdout;
  _plainInfo = opts.format !== "json" && out && !out.columns && !process.env.FORCE_COLOR ? (line) => out.write(`ℹ ${redact(line)}\n`) : null;
  if (opts.format === "json") {
    consola.setReporters([
      {
        log(obj) {
          const [msg, ...rest] = obj.args;
          const fields = rest.length === 1 && rest[0] && typeof rest[0] === "object" ? rest[0] : rest.length ? { args: rest } : {};
          const line = JSON.stringify({ time: obj.date.toISOString(), level: levelName(obj.type), tag: obj.tag || undefined, msg: String(msg), ...fields });
          process.stderr.write(redact(line) + "\n");
        },
      },
    ]);
  } else if (opts.redact) {
    // keep consola's pretty reporter, but never let a secret through
    const orig = consola.options.reporters;
    consola.setReporters(
      orig.map((r) => ({
        log(obj, ctx) {
          obj.args = obj.args.map((a) => (typeof a === "string" ? redact(a) : a));
          r.log(obj, ctx);
        },
      })),
    );
  }
}

function levelName(t: LogType): string {
  if (t === "fatal" || t === "error") return "error";
  if (t === "warn") return "warn";
  if (t === "debug" || t === "trace" || t === "verbose") return "debug";
  return "info";
}

let seen: Map<string, number> | null = null;
let seenWindowMs = 0;

/**
 * For `codetether up`, where the server and its worker share one log: an event both sides
 * report ("task claimed" for task X, "worker unregistered" for worker W) is printed once,
 * by whichever side reports it first within `windowMs`.
 */
export function logEachEventOnce(windowMs = 10_000): void {
  seen = new Map();
  seenWindowMs = windowMs;
}

function alreadyLogged(msg: string, fields: Record<string, unknown>): boolean {
  if (!seen) return false;
  const subject = fields.task ?? fields.codebase ?? fields.worker;
  if (subject === undefined) return false;
  const key = `${msg}\0${String(subject)}\0${String(fields.attempt ?? "")}`;
  const now = Date.now();
  const last = seen.get(key);
  if (seen.size > 10_000) seen.clear();
  seen.set(key, now);
  return last !== undefined && now - last < seenWindowMs;
}

/** Structured log line: message plus fields (rendered as key=value in pretty mode). */
export function log(level: "info" | "warn" | "error" | "debug", msg: string, fields: Record<string, unknown> = {}): void {
  if (alreadyLogged(msg, fields)) return;
  if (_json) {
    consola[level](msg, fields);
    return;
  }
  const kv = Object.entries(fields)
    .filter(([, v]) => v !== undefined && v !== null)
    .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
    .join(" ");
  const line = kv ? `${msg} ${kv}` : msg;
  if (level === "info" && _plainInfo && consola.level >= LogLevels.info) _plainInfo(line);
  else consola[level](line);
}
