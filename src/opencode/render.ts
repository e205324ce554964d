// Agent output for people. A task's stored output lines are what `opencode run --format
// json --print-logs` printed: JSON events on stdout, logfmt log lines and warnings on
// stderr. People expect what OpenCode's own terminal shows: the agent's text and one
// short line per tool call, not 300-character events. Shapes: see events.ts.
import { parseEvent, parseLogfmt, stripAnsi } from "./events.ts";

export type Paint = (style: "green" | "red" | "yellow" | "dim", text: string) => string;
const plain: Paint = (_style, text) => text;

const WIDTH = 100;
const oneLine = (s: string, max = WIDTH) => {
  const l =
    s
      .split("\n")
      .find((x) => x.trim())
      ?.trim() ?? "";
  return l.length > max ? `${l.slice(0, max - 1)}…` : l;
};

/** What a tool call worked on, in a few words: the file, the command, the pattern. */
function toolTarget(tool: string, input: Record<string, any>, title: unknown): string {
  const pick =
    tool === "bash"
      ? input.command
      : (input.filePath ?? input.path ?? input.pattern ?? input.url ?? input.description ?? input.query ?? (typeof title === "string" ? title : ""));
  return typeof pick === "string" ? oneLine(pick, 80) : "";
}

function renderTool(part: Record<string, any>, paint: Paint): string | null {
  const tool = String(part.tool ?? "tool");
  const st = part.state ?? {};
  const head = [tool, toolTarget(tool, st.input ?? {}, st.title)].filter(Boolean).join(" ");
  if (st.status === "error") return `${paint("red", "✗")} ${head}: ${oneLine(String(st.error ?? "error"))}`;
  const exit = st.metadata?.exit;
  if (typeof exit === "number" && exit !== 0) return `${paint("red", "✗")} ${head}: exit ${exit}`;
  if (st.status === "completed") return `${paint("green", "✓")} ${head}`;
  return null; // pending/running: OpenCode prints a tool once, when it ended
}

function renderEvent(ev: Record<string, any>, paint: Paint): string | null {
  const part = ev.part ?? {};
  switch (ev.type) {
    case "text":
      return typeof part.text === "string" && part.text.trim() && !part.synthetic ? part.text.trimEnd() : null;
    case "tool_use":
      return renderTool(part, paint);
    case "error": {
      const e = ev.error ?? {};
      const msg = e.data?.message ?? e.message ?? e.name ?? "unknown error";
      return `${paint("red", "✗")} error: ${oneLine(String(msg), 400)}`;
    }
    default:
      return null; // step_start, step_finish, reasoning, ...: bookkeeping, not output
  }
}

/** OpenCode log lines that say nothing about the task (e.g. the models.dev catalogue fetch on a closed network). */
const NOISE = /^Failed to fetch models\.dev/;

function renderLog(line: string, paint: Paint): string | null {
  const f = parseLogfmt(line);
  const message = f.message ?? "";
  if (NOISE.test(message) || f.level !== "ERROR") return null;
  const where = f.providerID ? ` (${f.providerID}/${f.modelID ?? "?"})` : "";
  const why = f.error ?? f["error.error"] ?? "";
  return paint("yellow", `! ${message}${where}${why ? `: ${oneLine(why, 300)}` : ""}`);
}

/**
 * One stored output line -> what to print (possibly several lines), or null to print
 * nothing. Lines that are neither an event nor an OpenCode log line (an echo task, our
 * own notes, warnings) pass through unchanged.
 */
export function renderLine(line: string, paint: Paint = plain): string | null {
  const ev = parseEvent(line);
  if (ev) return renderEvent(ev, paint);
  const bare = stripAnsi(line);
  if (bare.startsWith("timestamp=") && bare.includes(" level=")) return renderLog(bare, paint);
  if (NOISE.test(bare.trim())) return null;
  return line;
}
