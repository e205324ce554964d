// `codetether task create`: submit a task; with --wait, follow its output live and exit
// with its outcome (0 completed, 1 failed, 130 cancelled) so scripts can chain on it.
import { defineCommand } from "../_command.ts";
import type { Task } from "../../protocol/index.ts";
import { CliError, EXIT } from "../../util/errors.ts";
import { clientFor, intArg, positiveArg, resolveCodebase } from "../_api.ts";
import { duration, note, painter, printJson, spinner, warn } from "../_output.ts";
import { commandConfig, jsonArg } from "../_shared.ts";
import { finish, follow, outputPrinter, taskJson } from "./_follow.ts";

const cfg = commandConfig(["client"], {
  codebase: { type: "string", required: true, valueHint: "id|name|global", description: "Codebase to run in" },
  prompt: { type: "string", required: true, valueHint: "text", description: "What the agent should do ('-': read from stdin)" },
  title: { type: "string", valueHint: "text", description: "Short title (default: the server's)" },
  agent: { type: "string", valueHint: "name", description: "OpenCode agent, or echo/noop for checks without a model (default: build)" },
  model: { type: "string", valueHint: "provider/model", description: "Model, e.g. anthropic/claude-sonnet-4 (default: the worker's OpenCode default)" },
  priority: { type: "string", valueHint: "n", description: "Higher runs first (default: 0)" },
  timeout: { type: "string", valueHint: "seconds", description: "Stop the agent after this long (default: the worker's task_timeout)" },
  "target-worker": { type: "string", valueHint: "id", description: "Only this worker may run it" },
  "target-agent": { type: "string", valueHint: "name", description: "Only the worker of this name (worker_name) may run it" },
  require: {
    type: "string",
    multiple: true,
    valueHint: "cap[,cap]",
    description: "Only a worker advertising these capabilities may run it (repeatable, comma list), e.g. --require build,gpu",
  },
  "max-attempts": { type: "string", valueHint: "n", description: "Attempts before it fails (default: 3)" },
  wait: { type: "boolean", description: "Follow the output until the task ends; exit code = outcome" },
  raw: { type: "boolean", description: "With --wait: print OpenCode's raw JSON events, not the agent's text and tool lines" },
  ...jsonArg,
});

export default defineCommand({
  meta: {
    name: "create",
    description:
      "Submit a task and print its id. --codebase takes an id, a name (must be unique) or 'global' (a worker's home directory).\n" +
      "--wait follows the output live and exits 0 completed, 1 failed, 130 cancelled; with --json it prints the final task.\n" +
      "--require, --model and --target-agent route it to a worker that fits; when no live worker does, a warning says why.\n" +
      "Example: codetether task create --codebase api --prompt 'Add a /health route' --model anthropic/claude-sonnet-4 --wait",
  },
  args: cfg.args,
  async run({ args }) {
    const { config } = await cfg.load(args);
    const codebase = args.codebase;
    const client = clientFor(config);
    let prompt = String(args.prompt);
    if (prompt === "-") prompt = (await Bun.stdin.text()).trimEnd();
    if (!prompt.trim()) throw new CliError("--prompt: must not be empty", EXIT.USAGE);
    const body = {
      prompt,
      title: str(args.title),
      agent_type: str(args.agent) ?? "build",
      model: str(args.model),
      priority: intArg(args.priority, "priority", { min: -1_000_000, max: 1_000_000 }),
      timeout_s: positiveArg(args.timeout, "timeout"),
      target_worker_id: str(args["target-worker"]),
      target_agent_name: str(args["target-agent"]),
      required_capabilities: capabilityList(args.require),
      max_attempts: intArg(args["max-attempts"], "max-attempts", { min: 1, max: 100 }),
    };
    const codebaseId = await resolveCodebase(client, String(codebase));
    if (body.target_worker_id) await warnUnknownWorker(client, body.target_worker_id);
    const task = await client.createTask({ ...stripUndefined(body), codebase_id: codebaseId });
    // The server says when no live worker can take it (capability, model, name...): say so now, not after a silent wait.
    if (task.waiting_reason) warn(`task ${task.id} waits: ${task.waiting_reason}`);
    if (body.required_capabilities && !task.required_capabilities) {
      warn(`${client.base} does not know --require (an older server): task ${task.id} may run on any worker`);
    }

    if (!args.wait) {
      if (args.json) printJson(taskJson(task));
      else process.stdout.write(`${task.id}\n`);
      return;
    }
    const final = await waitFor(client, task, !!args.json, !!args.raw);
    if (args.json) printJson(taskJson(final));
    finish(final);
  },
});

/** Follow until final; people see the output live, a spinner while nothing happens, and a summary line. */
async function waitFor(client: ReturnType<typeof clientFor>, task: Task, json: boolean, raw: boolean): Promise<Task> {
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

function str(v: unknown): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}

/** --require values: repeated and/or comma-separated, blanks and repeats dropped; undefined when none. */
export function capabilityList(values: string[] | undefined): string[] | undefined {
  const caps = [...new Set((values ?? []).flatMap((v) => v.split(",")).map((c) => c.trim()).filter(Boolean))];
  return caps.length ? caps : undefined;
}

function stripUndefined<T extends Record<string, unknown>>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** A task for a worker nobody registered waits until one does: say so at submit time. */
async function warnUnknownWorker(client: ReturnType<typeof clientFor>, id: string): Promise<void> {
  const workers = await client.listWorkers().catch(() => null);
  if (workers && !workers.some((w) => w.worker_id === id)) {
    warn(`no worker '${id}' is registered with ${client.base}: the task waits until one registers (see: codetether worker status --worker-id ${id})`);
  }
}
