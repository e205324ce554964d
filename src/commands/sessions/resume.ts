// `codetether sessions resume`: continue a synced OpenCode session with a new prompt, as a
// task on the session's codebase (so on the worker that has it); the new messages join
// the same session with the next sync.
import { defineCommand } from "../_command.ts";
import { clientFor, findSession } from "../_api.ts";
import { commandConfig, jsonArg } from "../_shared.ts";
import { readPrompt, str, submitTask } from "../task/_submit.ts";

const cfg = commandConfig(["client"], {
  id: { type: "positional", description: "Session id (see: codetether sessions list)", required: true },
  prompt: { type: "string", required: true, valueHint: "text", description: "What the agent should do next ('-': read from stdin)" },
  agent: { type: "string", valueHint: "name", description: "OpenCode agent (default: build)" },
  model: { type: "string", valueHint: "provider/model", description: "Model (default: the worker's OpenCode default)" },
  wait: { type: "boolean", description: "Follow the output until the task ends; exit code = outcome" },
  raw: { type: "boolean", description: "With --wait: print OpenCode's raw JSON events" },
  ...jsonArg,
});

export default defineCommand({
  meta: {
    name: "resume",
    description:
      "Continue a session with a new prompt: a task on the session's codebase with resume_session_id; prints its id.\n" +
      "Example: codetether sessions resume ses_abc123 --prompt 'Now add tests' --wait",
  },
  args: cfg.args,
  async run({ args }) {
    const { config } = await cfg.load(args);
    const client = clientFor(config);
    const prompt = await readPrompt(args.prompt);
    const id = String(args.id);
    const { codebase } = await findSession(client, id);
    await submitTask(
      client,
      { prompt, codebase_id: codebase.id, agent_type: str(args.agent) ?? "build", model: str(args.model), metadata: { resume_session_id: id } },
      { wait: !!args.wait, json: !!args.json, raw: !!args.raw },
    );
  },
});
