// Following a task: poll its output (`GET .../output?since=N`) and its status until it
// is final. Polling, not the SSE stream, because it survives proxies and server restarts
// with no extra code: a short outage is waited out, a long one is exit 69.
import { type Client, UnavailableError } from "../../client/index.ts";
import { isFinal, type OutputLine, Task } from "../../protocol/answers.ts";
import { renderLine } from "../../opencode/render.ts"; // not the adapter (index.ts): the CLI loads only the renderer
import { CliError, EXIT } from "../../util/errors.ts";
import { painter } from "../_output.ts";

const TASK_KEYS = Object.keys(Task.shape) as (keyof Task)[];

/** The task with exactly the protocol's keys (missing ones null), whatever the server adds. */
export function taskJson(t: Task): Record<string, unknown> {
  return Object.fromEntries(TASK_KEYS.map((k) => [k, (t as Record<string, unknown>)[k] ?? null]));
}

/** Throws the CliError a final, unsuccessful task ends the command with. */
export function finish(t: Task): void {
  if (t.status === "completed") return;
  if (t.status === "cancelled") throw new CliError(`task ${t.id} was cancelled`, EXIT.CANCELLED);
  throw new CliError(`task ${t.id} ${t.status}${t.error ? `: ${t.error.split("\n")[0]}` : ""}`, EXIT.FAILURE);
}

/**
 * Prints stored output lines to stdout: as people read them (the agent's text, one line
 * per tool call, colour on a terminal) or, with `raw`, exactly as stored. Returns what
 * it printed for a line, null when nothing.
 */
export function outputPrinter(raw: boolean): (line: string) => string | null {
  const paint = painter(process.stdout);
  return (line) => {
    const text = raw ? line : renderLine(line, paint);
    if (text !== null) process.stdout.write(`${text}\n`);
    return text;
  };
}

/** Every stored output line from `since` on, paging until the server has no more. */
export async function readOutput(client: Client, id: string, since = 0): Promise<{ lines: OutputLine[]; next: number }> {
  const lines: OutputLine[] = [];
  let next = since;
  for (;;) {
    const page = await client.getOutput(id, next);
    if (!page.outputs.length) break;
    lines.push(...page.outputs);
    next += page.outputs.length;
    if (next >= page.total) break;
  }
  return { lines, next };
}

export interface FollowOptions {
  onLine?: (l: OutputLine) => void;
  onStatus?: (t: Task) => void;
  signal?: AbortSignal;
  /** How long the server may be unreachable before giving up (exit 69). */
  outageMs?: number;
  intervalMs?: number;
}

/** Poll until the task is final; returns the final task after delivering every output line. */
export async function follow(client: Client, id: string, o: FollowOptions = {}): Promise<Task> {
  const outageMs = o.outageMs ?? 60_000;
  const interval = o.intervalMs ?? 500;
  let since = 0;
  let downSince: number | null = null;
  let lastStatus = "";
  for (;;) {
    try {
      // Status first, output second: a task seen final has all its lines stored already.
      const task = await client.getTask(id);
      const out = await readOutput(client, id, since);
      since = out.next;
      for (const l of out.lines) o.onLine?.(l);
      downSince = null;
      if (task.status !== lastStatus) {
        lastStatus = task.status;
        o.onStatus?.(task);
      }
      if (isFinal(task.status)) return task;
    } catch (err) {
      if (!(err instanceof UnavailableError)) throw err;
      downSince ??= Date.now();
      if (Date.now() - downSince > outageMs) throw err;
    }
    if (o.signal?.aborted) throw new CliError(`stopped following task ${id}`, EXIT.CANCELLED);
    await new Promise((r) => setTimeout(r, interval));
  }
}
