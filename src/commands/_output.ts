// How operator commands print: tables and key/value blocks for people, JSON with fixed
// keys for scripts, colour and spinners only when a person is watching (a TTY, no
// NO_COLOR). Every command goes through here so the policy lives in one place.
import { fstatSync } from "node:fs";
import { type Style, stripAnsi, style } from "../util/ansi.ts";

type Stream = { isTTY?: boolean; columns?: number; write(s: string): unknown };

/** What --help needs of stdout (a terminal? how wide?) without creating process.stdout when
 * stdout is a pipe, file or socket: that WriteStream (and node:tty) load node:stream, a
 * third of `--help`'s start-up in the compiled binary. Anything else (a terminal,
 * /dev/null) is asked of process.stdout as before. */
export function stdoutInfo(): Stream {
  let plain = false;
  try {
    const st = fstatSync(1);
    plain = st.isFIFO() || st.isFile() || st.isSocket();
  } catch {
    // fd 1 closed or not stat-able: let process.stdout decide, as before.
  }
  if (!plain) return process.stdout;
  return { isTTY: false, columns: undefined, write: (s: string) => process.stdout.write(s) };
}

/** Colour when the stream is a terminal, NO_COLOR is unset and TERM is not "dumb" (https://no-color.org). */
export function colorEnabled(stream: Stream = process.stdout, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== "0") return true;
  return !!stream.isTTY && env.TERM !== "dumb";
}

export type { Style };

/** Styler bound to a stream: paint("green", "ok") is plain text when that stream gets no colour. */
export function painter(stream: Stream = process.stdout, env: NodeJS.ProcessEnv = process.env): (style: Style, text: string) => string {
  const on = colorEnabled(stream, env);
  // The decision is ours (the stream we write to, NO_COLOR, FORCE_COLOR).
  return (name, text) => (on ? style(name, text) : text);
}

const visible = (s: string) => stripAnsi(s).length;

/** Columns to fit: $COLUMNS, else the terminal's width, else 80 (pipes, files). */
export function termWidth(stream: Stream = process.stdout, env: NodeJS.ProcessEnv = process.env): number {
  const fromEnv = Number(env.COLUMNS);
  if (Number.isInteger(fromEnv) && fromEnv > 20) return fromEnv;
  return stream.isTTY && stream.columns ? stream.columns : 80;
}

/** Words wrapped to `width` columns per line; lines after the first are prefixed by
 * `indent` spaces (the caller puts whatever precedes the first). */
export function wrap(text: string, width: number, indent = 0): string {
  const lines: string[] = [];
  for (const para of text.split("\n")) {
    let line = "";
    for (const word of para.split(/ +/)) {
      if (line && visible(line) + 1 + visible(word) > width) {
        lines.push(line);
        line = word;
      } else line = line ? `${line} ${word}` : word;
    }
    lines.push(line);
  }
  return lines.map((l, i) => (i ? " ".repeat(indent) + l : l)).join("\n");
}

/** `error: what failed` on stderr: one line, red only on a terminal. */
export function errorLine(text: string): void {
  process.stderr.write(`${painter(process.stderr)("red", "error:")} ${text}\n`);
}

/** `warning: ...` on stderr: one line, yellow only on a terminal. */
export function warn(text: string): void {
  process.stderr.write(`${painter(process.stderr)("yellow", "warning:")} ${text}\n`);
}

/** Columns padded to the widest cell; the last column is not padded (no trailing blanks). */
export function table(headers: string[], rows: string[][], stream: Stream = process.stdout): string {
  const paint = painter(stream);
  const all = [headers, ...rows];
  const width = headers.map((_, i) => Math.max(...all.map((r) => visible(r[i] ?? ""))));
  const line = (r: string[]) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c + " ".repeat(width[i]! - visible(c))))
      .join("  ")
      .trimEnd();
  return [paint("bold", line(headers)), ...rows.map(line)].join("\n") + "\n";
}

/** "key: value" lines with aligned values; undefined/null values are shown as "-". */
export function keyValues(pairs: [string, unknown][]): string {
  const width = Math.max(...pairs.map(([k]) => k.length));
  return pairs.map(([k, v]) => `${`${k}:`.padEnd(width + 1)} ${v === undefined || v === null || v === "" ? "-" : String(v)}`).join("\n") + "\n";
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Notes for people go to stderr, so stdout stays what a script captures (an id, a table). */
export function note(text: string): void {
  process.stderr.write(`${text}\n`);
}

/** "3s", "4m 10s", "2h 5m", "3d 4h". */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

/** "12s ago" for an ISO time, "-" when unset or unparsable. */
export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return "-";
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return "-";
  return now >= t ? `${duration((now - t) / 1000)} ago` : `in ${duration((t - now) / 1000)}`;
}

/** Truncate to `max` visible characters with an ellipsis, one line. */
/** 1234 -> "1.2k", 2_500_000 -> "2.5M": counts in narrow columns. */
export function compact(n: number): string {
  if (n < 1000) return String(Math.round(n));
  if (n < 1_000_000) return `${(n / 1000).toFixed(n < 10_000 ? 1 : 0)}k`;
  return `${(n / 1_000_000).toFixed(1)}M`;
}

/** A session's usage totals as "12.3k tok $0.04", "" when OpenCode recorded none. */
export function usageText(s: { cost?: number | null; tokens?: { input?: number; output?: number } | null }): string {
  const tok = s.tokens ? (s.tokens.input ?? 0) + (s.tokens.output ?? 0) : null;
  return [tok !== null ? `${compact(tok)} tok` : "", s.cost ? `$${s.cost.toFixed(2)}` : ""].filter(Boolean).join(" ");
}

export function clip(s: string | null | undefined, max: number): string {
  const one = (s ?? "").replace(/\s+/g, " ").trim();
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}

export interface Spinner {
  text(t: string): void;
  stop(): void;
}

/** Nothing to do: a spinner off a TTY. */
const ignore = (): void => undefined;

/** A spinner on stderr when stderr is a TTY; otherwise nothing at all (logs stay clean). */
export function spinner(initial: string, stream: Stream = process.stderr): Spinner {
  if (!stream.isTTY) return { text: ignore, stop: ignore };
  const frames = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
  const paint = painter(stream);
  let i = 0;
  let label = initial;
  let stopped = false;
  const draw = () => stream.write(`\r\x1b[2K${paint("cyan", frames[i++ % frames.length]!)} ${label}`);
  draw();
  const timer = setInterval(draw, 100);
  return {
    text(t) {
      label = t;
    },
    stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      stream.write("\r\x1b[2K");
    },
  };
}

/** Status word coloured by meaning (for task and worker states). */
export function statusText(status: string, stream: Stream = process.stdout): string {
  const paint = painter(stream);
  switch (status) {
    case "completed":
    case "active":
    case "running":
      return paint(status === "running" ? "cyan" : "green", status);
    case "failed":
    case "offline":
      return paint("red", status);
    case "cancelled":
    case "stale":
      return paint("yellow", status);
    default:
      return status;
  }
}
