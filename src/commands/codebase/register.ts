// `codetether codebase register NAME PATH`: tell the server that a directory on a worker
// is a codebase tasks can run in. With --worker-id the codebase belongs to that worker at
// once; without it the server asks its workers which one has the path (a pending task).
import { defineCommand } from "../_command.ts";
import { existsSync, statSync } from "node:fs";
import { homedir, hostname } from "node:os";
import { resolve } from "node:path";
import { ApiError, type Client } from "../../client/index.ts";
import { CliError, EXIT } from "../../util/errors.ts";
import { clientFor, isolationArg, positiveArg } from "../_api.ts";
import type { Codebase, Task } from "../../protocol/index.ts";
import { note, printJson, spinner } from "../_output.ts";
import { follow } from "../task/_follow.ts";
import { commandConfig, jsonArg } from "../_shared.ts";

// --worker-id here names the owner, not this machine's identity: the command's own arg, not config.
const cfg = commandConfig(
  ["client"],
  {
    name: { type: "positional", required: true, description: "Codebase name (what `task create --codebase` accepts)" },
    path: { type: "positional", required: true, description: "Directory on the worker (made absolute against the current directory)" },
    "worker-id": { type: "string", valueHint: "id", description: "The worker that owns the codebase (default: whichever worker has PATH)" },
    description: { type: "string", valueHint: "text", description: "What the codebase is" },
    wait: { type: "boolean", description: "Without --worker-id: wait until a worker has registered PATH, then print the codebase id" },
    timeout: { type: "string", valueHint: "seconds", description: "With --wait: give up after SECONDS (default 60) and cancel the registration" },
    rename: { type: "boolean", description: "PATH is already registered under another name: rename that codebase to NAME (refused without it)" },
    isolation: {
      type: "string",
      valueHint: "shared|worktree",
      description: "shared (default): tasks run in PATH one at a time per worker; worktree (git): each in its own git worktree, side by side",
    },
    ...jsonArg,
  },
  ["worker_name", "worker_id"],
);

export default defineCommand({
  meta: {
    name: "register",
    description:
      "Register directory PATH as codebase NAME and print its id.\n" +
      "With --worker-id it belongs to that worker (PATH must exist here when that worker runs on this machine).\n" +
      "Without it, the first worker that has PATH registers it: prints the pending task id, or with --wait waits (up to --timeout, default 60s) and prints the codebase id.\n" +
      "A PATH already registered under another name is refused (exit 1, naming it) unless --rename.\n" +
      "--isolation worktree runs each task in its own git worktree (branch codetether/<task id>); see codetether task diff.\n" +
      "Example: codetether codebase register api /srv/api --worker-id build-1 --description 'public API'",
  },
  args: cfg.args,
  async run({ args }) {
    const { config } = await cfg.load(args);
    const client = clientFor(config);
    const name = String(args.name);
    const path = absolute(String(args.path));
    const workerId = typeof args["worker-id"] === "string" && args["worker-id"] ? args["worker-id"] : null;
    const description = typeof args.description === "string" ? args.description : null;
    if (args.timeout !== undefined && !args.wait) throw new CliError("--timeout applies only with --wait", EXIT.USAGE);
    const timeoutS = positiveArg(args.timeout, "timeout") ?? DEFAULT_WAIT_S;
    const isolation = isolationArg(args.isolation);

    let pathChecked = false;
    if (workerId) {
      const here = await isThisMachine(client, workerId, config.worker_id);
      if (here === null) {
        note(`note: cannot tell whether worker '${workerId}' runs on this machine (not registered with ${client.base}); ${path} was not checked`);
      } else if (here) {
        if (!existsSync(path)) throw new CliError(`path ${path} does not exist on this machine, where worker '${workerId}' runs`, EXIT.USAGE);
        if (!statSync(path).isDirectory()) throw new CliError(`path ${path} is not a directory (worker '${workerId}' runs on this machine)`, EXIT.USAGE);
        pathChecked = true;
      } else {
        note(`note: worker '${workerId}' runs on another machine; ${path} is not checked here (the worker checks it when it runs a task)`);
      }
    }

    let res: Awaited<ReturnType<typeof client.registerCodebase>>;
    try {
      res = await client.registerCodebase({
        name,
        path,
        description,
        worker_id: workerId,
        ...(args.rename ? { rename: true } : {}),
        ...(isolation ? { isolation } : {}),
      });
    } catch (err) {
      if (err instanceof ApiError && err.status === 409 && /^codebase_(exists|is_global)$/.test(err.code)) {
        // The server's message names the existing codebase and how to rename it; drop the "POST /v1/...: 409" prefix.
        throw new CliError(err.message.replace(/^\S+ \S+: 409 /, ""), EXIT.FAILURE);
      }
      if (err instanceof ApiError && err.status === 400 && /no workers available/i.test(err.message)) {
        throw new CliError(
          `no worker is registered with ${client.base}, so nobody can register ${path}: is a worker running (codetether worker status)? ` +
            `does it use the same server URL (--server / A2A_SERVER_URL)? or pass --worker-id`,
          EXIT.FAILURE,
        );
      }
      throw err;
    }
    let pending = "pending" in res && res.pending === true;
    const taskId = pending ? (res as { task_id: string }).task_id : null;
    let codebase: Codebase | null = "codebase" in res ? res.codebase : null;
    if (taskId && args.wait) {
      codebase = await waitForRegistration(client, taskId, path, timeoutS);
      pending = false;
    }
    if (args.json) {
      printJson({
        pending,
        id: codebase?.id ?? null,
        task_id: taskId,
        name,
        path,
        worker_id: codebase?.worker_id ?? workerId,
        description,
        path_checked: pathChecked,
      });
      return;
    }
    if (codebase) {
      process.stdout.write(`${codebase.id}\n`);
    } else {
      process.stdout.write(`${taskId}\n`);
      note(`registration pending: task ${taskId} asks the workers for ${path}; follow it with: codetether task show ${taskId} (or use --wait)`);
    }
  },
});

function absolute(p: string): string {
  if (p === "~" || p.startsWith("~/")) return resolve(homedir(), p.slice(2));
  return resolve(p);
}

const DEFAULT_WAIT_S = 60;

/**
 * Follow the register_codebase task; its result is the new codebase's id. Bounded: after
 * `timeoutS`, or on Ctrl-C, the task is cancelled so no registration is left behind to be
 * taken later by surprise (issue 17), and the error says which workers lacked the path.
 */
async function waitForRegistration(client: Client, taskId: string, path: string, timeoutS: number): Promise<Codebase> {
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort("timeout"), timeoutS * 1000);
  // A second Ctrl-C (say the server does not answer the cancel) leaves at once.
  const onSigint = () => (stop.signal.aborted ? process.exit(EXIT.CANCELLED) : stop.abort("interrupt"));
  process.on("SIGINT", onSigint);
  note(`waiting up to ${timeoutS}s for a worker that has ${path} (task ${taskId}; Ctrl-C cancels it)`);
  const spin = spinner(`waiting for a worker that has ${path}`);
  let final: Task;
  try {
    final = await follow(client, taskId, { signal: stop.signal, intervalMs: 250 }).catch(async (err) => {
      if (!stop.signal.aborted) throw err;
      return cancelRegistration(client, taskId);
    });
  } finally {
    clearTimeout(timer);
    process.off("SIGINT", onSigint);
    spin.stop();
  }
  if (final.status === "cancelled" && stop.signal.reason === "interrupt") {
    throw new CliError(`interrupted: cancelled registration task ${taskId} for ${path}`, EXIT.CANCELLED);
  }
  if (final.status === "cancelled" && stop.signal.reason === "timeout") {
    throw new CliError(`no worker registered ${path} within ${timeoutS}s; cancelled task ${taskId}: ${await whoAnswered(client, final)}`, EXIT.FAILURE);
  }
  if (final.status !== "completed" || !final.result) {
    throw new CliError(`no worker registered ${path} (task ${taskId} ${final.status}${final.error ? `: ${final.error.split("\n")[0]}` : ""})`, EXIT.FAILURE);
  }
  const id = final.result.trim();
  return (
    (await client.listCodebases()).find((c) => c.id === id) ?? {
      id,
      name: "",
      path,
      description: null,
      worker_id: final.worker_id,
      agent_config: null,
      registered_at: "",
      status: "",
    }
  );
}

/** Cancels the task and returns it as it ended: a registration that finished meanwhile stays finished. */
async function cancelRegistration(client: Client, taskId: string): Promise<Task> {
  try {
    await client.cancelTask(taskId);
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 409)) throw err; // 409: already final
  }
  return client.getTask(taskId);
}

/** "w1 lacks it (does not exist); w2 did not answer", from the task's declines and the active workers. */
async function whoAnswered(client: Client, t: Task): Promise<string> {
  const raw = (t.metadata as { declined?: unknown }).declined;
  const declined = (Array.isArray(raw) ? raw : []).filter((d) => d && typeof d.worker_id === "string") as { worker_id: string; reason?: string | null }[];
  const asked = new Set(declined.map((d) => d.worker_id));
  const active = (await client.listWorkers().catch(() => [])).filter((w) => w.status === "active").map((w) => w.id);
  const silent = active.filter((id) => !asked.has(id));
  const parts = declined.map((d) => `${d.worker_id} lacks it${d.reason ? ` (${d.reason})` : ""}`);
  if (silent.length) parts.push(`${silent.join(", ")} did not answer`);
  return parts.length ? parts.join("; ") : "no active worker answered";
}

/** true/false, or null when the server does not know the worker (cannot tell). */
async function isThisMachine(client: Client, workerId: string, ownWorkerId: string): Promise<boolean | null> {
  if (workerId === ownWorkerId) return true;
  try {
    const w = await client.getWorker(workerId);
    if (!w.hostname) return null;
    return w.hostname === hostname();
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return null;
    throw err;
  }
}
