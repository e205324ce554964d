// Submitting a task as `task create` and `sessions resume` do: print its id (or JSON), or
// with --wait follow its output live and exit with its outcome.
import type { CreateTaskBody, Task } from "../../protocol/index.ts";
import { CliError, EXIT } from "../../util/errors.ts";
import type { clientFor } from "../_api.ts";
import { duration, note, painter, printJson, spinner, warn } from "../_output.ts";
import { finish, follow, outputPrinter, taskJson } from "./_follow.ts";

type Client = ReturnType<typeof clientFor>;

export async function submitTask(
  client: Client,
  body: Partial<CreateTaskBody> & { prompt: string },
  o: { wait: boolean; json: boolean; raw: boolean },
): Promise<void> {
  if (body.target_worker_id) await warnUnknownWorker(client, body.target_worker_id);
  const task = await client.createTask(stripUndefined(body));
  // The server says when no live worker can take it (capability, model, name...): say so now, not after a silent wait.
  if (task.waiting_reason) warn(`task ${task.id} waits: ${task.waiting_reason}`);
  if (body.required_capabilities?.length && !task.required_capabilities) {
    warn(`${client.base} does not know --require (an older server): task ${task.id} may run on any worker`);
  }
  if (!o.wait) {
    if (o.json) printJson(taskJson(task));
    else process.stdout.write(`${task.id}\n`);
    return;
  }
  const final = await waitFor(client, task, o.json, o.raw);
  if (o.json) printJson(taskJson(final));
  finish(final);
}

/** --prompt TEXT, or '-' for standard input; never empty. */
export async function readPrompt(arg: unknown): Promise<string> {
  const text = arg === "-" ? (await Bun.stdin.text()).trimEnd() : String(arg);
  if (!text.trim()) throw new CliError("--prompt: must not be empty", EXIT.USAGE);
  return text;
}

export function str(v: unknown): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}

/** Follow until final; people see the output live, a spinner while nothing happens, and a summary line. */
async function waitFor(client: Client, task: Task, json: boolean, raw: boolean): Promise<Task> {
  const paint = painter(process.stderr);
  let spin: ReturnType<typeof spinner> | null = null;
  // Ctrl-C is handled before anything is printed: a person (or a test) reacting to the
  // "created" line must never find the default handler still in place.
  const onSigint = () => {
    spin?.stop();
    note(`stopped waiting; task ${task.id} keeps going (codetether task cancel ${task.id})`);
    process.exit(EXIT.CANCELLED);
  };
  process.on("SIGINT", onSigint);
  if (!json) note(`task ${task.id} created`);
  spin = json ? spinner("", { write: () => true }) : spinner(`task ${task.id}: waiting for a worker`);
  let out = "";
  const show = outputPrinter(raw);
  let attempt = 0;
  const started = Date.now();
  try {
    const final = await follow(client, task.id, {
      onStatus: (t) => spin.text(`task ${t.id}: ${t.status}${t.worker_id ? ` on ${t.worker_id}` : ""}`),
      onLine: (l) => {
        if (json) return;
        spin.stop();
        if (attempt && l.attempt !== attempt) note(paint("dim", `--- attempt ${l.attempt} ---`));
        attempt = l.attempt;
        const text = show(l.line);
        if (text !== null) out += `${text}\n`;
      },
    });
    spin.stop();
    if (!json) {
      // The result is often the last thing the agent printed; do not show it twice.
      if (final.result && !shownAlready(out, final.result)) process.stdout.write(`${final.result.trimEnd()}\n`);
      const took = duration((Date.now() - started) / 1000);
      if (final.status === "completed") note(`${paint("green", "✓")} task ${final.id} completed in ${took}`);
    }
    return final;
  } finally {
    spin.stop();
    process.off("SIGINT", onSigint);
  }
}

/** The answer is usually the agent's last text, already printed (text parts joined by blank lines). */
function shownAlready(out: string, result: string): boolean {
  const squash = (s: string) => s.replace(/\s+/g, " ").trim();
  return squash(out).endsWith(squash(result));
}

function stripUndefined<T extends Record<string, unknown>>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** A task for a worker nobody registered waits until one does: say so at submit time. */
async function warnUnknownWorker(client: Client, id: string): Promise<void> {
  const workers = await client.listWorkers().catch(() => null);
  if (workers && !workers.some((w) => w.worker_id === id)) {
    warn(`no worker '${id}' is registered with ${client.base}: the task waits until one registers (see: codetether worker status --worker-id ${id})`);
  }
}
