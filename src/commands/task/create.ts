// `codetether task create`: submit a task; with --wait, follow its output live and exit
// with its outcome (0 completed, 1 failed, 130 cancelled) so scripts can chain on it.
import { defineCommand } from "../_command.ts";
import { CliError, EXIT } from "../../util/errors.ts";
import { clientFor, findSession, intArg, isolationArg, positiveArg, resolveCodebase } from "../_api.ts";
import { commandConfig, jsonArg } from "../_shared.ts";
import { readPrompt, str, submitTask } from "./_submit.ts";

const cfg = commandConfig(["client"], {
  text: { type: "positional", multiple: true, description: "The prompt, as arguments (several are joined by spaces); or give --prompt" },
  codebase: { type: "string", valueHint: "id|name|global", description: "Codebase to run in (with --resume: the session's, by default)" },
  prompt: { type: "string", valueHint: "text", description: "What the agent should do ('-': read from stdin), instead of TEXT" },
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
  isolation: {
    type: "string",
    valueHint: "shared|worktree",
    description: "Override the codebase's isolation: worktree runs it in a git worktree on branch codetether/<id>",
  },
  resume: { type: "string", valueHint: "session-id", description: "Continue this OpenCode session (its history is the agent's context)" },
  wait: { type: "boolean", description: "Follow the output until the task ends; exit code = outcome" },
  raw: { type: "boolean", description: "With --wait: print OpenCode's raw JSON events, not the agent's text and tool lines" },
  ...jsonArg,
});

/** The prompt as given: TEXT words or --prompt, exactly one of them. */
function promptArg(text: unknown, flag: unknown): unknown {
  const words = (text as string[] | undefined) ?? [];
  if (words.length && flag !== undefined)
    throw new CliError(`the prompt is given twice: as TEXT ('${words.join(" ")}') and as --prompt; give one (see: codetether task create --help)`, EXIT.USAGE);
  if (words.length) return words.join(" ");
  if (flag === undefined) throw new CliError("missing the prompt: codetether task create 'what to do' --codebase NAME (or --prompt TEXT)", EXIT.USAGE);
  return flag;
}

export default defineCommand({
  meta: {
    name: "create",
    description:
      "Submit a task and print its id. --codebase takes an id, a name (must be unique) or 'global' (a worker's home directory).\n" +
      "--wait follows the output live and exits 0 completed, 1 failed, 130 cancelled; with --json it prints the final task.\n" +
      "--require, --model and --target-agent route it to a worker that fits; when no live worker does, a warning says why.\n" +
      "--resume SESSION continues a synced OpenCode session on its codebase's worker (see: codetether sessions list).\n" +
      "Example: codetether task create --codebase api 'Add a /health route' --model anthropic/claude-sonnet-4 --wait",
  },
  args: cfg.args,
  async run({ args }) {
    const { config } = await cfg.load(args);
    const client = clientFor(config);
    const prompt = await readPrompt(promptArg(args.text, args.prompt));
    const resume = str(args.resume);
    if (!args.codebase && !resume) throw new CliError("missing --codebase (or --resume SESSION, which runs on the session's codebase)", EXIT.USAGE);
    let codebaseId = args.codebase ? await resolveCodebase(client, String(args.codebase)) : null;
    if (resume) {
      const { codebase } = await findSession(client, resume);
      if (codebaseId && codebaseId !== codebase.id)
        throw new CliError(`session ${resume} belongs to codebase ${codebase.name} (${codebase.id}), not ${args.codebase}; leave out --codebase`, EXIT.USAGE);
      codebaseId = codebase.id;
    }
    await submitTask(
      client,
      {
        prompt,
        codebase_id: codebaseId!,
        title: str(args.title),
        agent_type: str(args.agent) ?? "build",
        model: str(args.model),
        priority: intArg(args.priority, "priority", { min: -1_000_000, max: 1_000_000 }),
        timeout_s: positiveArg(args.timeout, "timeout"),
        target_worker_id: str(args["target-worker"]),
        target_agent_name: str(args["target-agent"]),
        required_capabilities: capabilityList(args.require),
        max_attempts: intArg(args["max-attempts"], "max-attempts", { min: 1, max: 100 }),
        isolation: isolationArg(args.isolation),
        ...(resume ? { metadata: { resume_session_id: resume } } : {}),
      },
      { wait: !!args.wait, json: !!args.json, raw: !!args.raw },
    );
  },
});

/** --require values: repeated and/or comma-separated, blanks and repeats dropped; undefined when none. */
export function capabilityList(values: string[] | undefined): string[] | undefined {
  const caps = [
    ...new Set(
      (values ?? [])
        .flatMap((v) => v.split(","))
        .map((c) => c.trim())
        .filter(Boolean),
    ),
  ];
  return caps.length ? caps : undefined;
}
