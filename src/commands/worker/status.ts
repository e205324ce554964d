// `codetether worker status`: is the worker of this config running here, and does the
// server see it? The local view (lock + status file) needs no server, so `--local` is a
// liveness probe that never fails because the control plane is down.
import { defineCommand } from "../_command.ts";
import { ApiError, UnavailableError } from "../../client/index.ts";
import type { Config } from "../../config/schema.ts";
import type { MonitorWorker, WorkerInstance, WorkerRecord } from "../../protocol/index.ts";
import { CliError, EXIT, errorMessage } from "../../util/errors.ts";
import { lockHolder } from "../../worker/lock.ts";
import { readStatus, statusPath } from "../../worker/status-file.ts";
import { adviceFor, clientFor } from "../_api.ts";
import { ago, duration, keyValues, painter, printJson, statusText } from "../_output.ts";
import { commandConfig, jsonArg } from "../_shared.ts";

export interface LocalView {
  pid: number;
  /** This process's identity on the server (null: status file of an older version). */
  instance_id: string | null;
  started_at: string | null;
  uptime_s: number | null;
  streaming: boolean | null;
  last_contact: string | null;
  running_tasks: { id: string; attempt: number | null; started_at: string }[];
  tasks_completed: number | null;
  tasks_failed: number | null;
  tasks_cancelled: number | null;
  status_file: string;
}

export interface ServerView {
  url: string;
  reachable: boolean;
  registered: boolean;
  status: string | null;
  last_heartbeat: string | null;
  hostname: string | null;
  codebases: number | null;
  tasks_completed: number | null;
  tasks_running: number | null;
  /** The process the server records as holding this worker id (null: legacy worker or old server). */
  instance: WorkerInstance | null;
  error: string | null;
}

export function localView(config: Config, now = Date.now()): LocalView | null {
  const pid = lockHolder(config.data_dir, config.worker_id);
  if (pid === null) return null;
  const s = readStatus(config.data_dir, config.worker_id);
  // A status file left by an earlier run (other pid) says nothing about this one.
  const f = s && s.pid === pid ? s : null;
  const started = f ? Date.parse(f.started_at) : NaN;
  return {
    pid,
    instance_id: f?.instance_id ?? null,
    started_at: f?.started_at ?? null,
    uptime_s: Number.isFinite(started) ? Math.max(0, Math.round((now - started) / 1000)) : null,
    streaming: f?.streaming ?? null,
    last_contact: f?.last_contact ?? null,
    running_tasks: f?.running ?? [],
    tasks_completed: f?.tasks_completed ?? null,
    tasks_failed: f?.tasks_failed ?? null,
    tasks_cancelled: f?.tasks_cancelled ?? null,
    status_file: statusPath(config.data_dir, config.worker_id),
  };
}

export async function serverView(config: Config): Promise<ServerView> {
  const client = clientFor(config);
  const view: ServerView = {
    url: client.base,
    reachable: true,
    registered: false,
    status: null,
    last_heartbeat: null,
    hostname: null,
    codebases: null,
    tasks_completed: null,
    tasks_running: null,
    instance: null,
    error: null,
  };
  let record: WorkerRecord | null = null;
  try {
    record = await client.getWorker(config.worker_id);
  } catch (err) {
    if (err instanceof UnavailableError) return { ...view, reachable: false, error: err.message };
    // A refused token (or any other answer) must not hide the local view: report it beside it.
    if (!(err instanceof ApiError && err.status === 404)) return { ...view, error: `${errorMessage(err)}${adviceFor(err)}` };
  }
  if (!record) return view;
  let mon: MonitorWorker | undefined;
  try {
    mon = (await client.monitorWorkers()).workers.find((w) => w.id === config.worker_id);
  } catch (err) {
    if (err instanceof UnavailableError) return { ...view, reachable: false, error: err.message };
    throw err;
  }
  return {
    ...view,
    registered: true,
    status: mon?.status ?? record.status,
    last_heartbeat: mon?.last_heartbeat ?? record.last_seen,
    hostname: mon?.hostname ?? record.hostname,
    codebases: mon?.codebases ?? record.codebases.length,
    tasks_completed: mon?.tasks_completed ?? null,
    tasks_running: mon?.tasks_running ?? null,
    instance: mon?.instance ?? record.instance ?? null,
  };
}

const cfg = commandConfig(
  ["client"],
  { ...jsonArg, local: { type: "boolean", description: "Only the local view (no server call): exit 0 running, 3 not running" } },
  ["worker_name", "worker_id", "data_dir"],
);

/** "host build-1, pid 4242, started 2026-... (instance 3f2a...)". */
function instanceText(i: WorkerInstance): string {
  return `host ${i.hostname ?? "?"}, pid ${i.pid ?? "?"}, started ${i.started_at ?? "?"} (instance ${i.instance_id ?? "?"})`;
}

export default defineCommand({
  meta: {
    name: "status",
    description:
      "Show whether this machine's worker is running (lock, pid, uptime, running tasks, last server contact) and how the server sees it.\n" +
      "Exit 0 running and healthy, 1 running but not healthy on the server, 3 not running, 69 server unreachable.\n" +
      "--local checks only this machine (exit 0 or 3, never 69): use it as a Kubernetes liveness probe.\n" +
      "Example: codetether worker status --name build-1 --json",
  },
  args: cfg.args,
  async run({ args }) {
    const { config } = await cfg.load(args);
    const local = localView(config);
    const server = args.local ? null : await serverView(config);
    const running = local !== null;
    const elsewhere = !!local?.instance_id && !!server?.instance?.instance_id && server.instance.instance_id !== local.instance_id;
    const healthy = running && (args.local || (!!server?.registered && server.status === "active" && !elsewhere));
    if (args.json) {
      printJson({ worker_id: config.worker_id, running, healthy, local, server });
    } else {
      process.stdout.write(render(config, local, server));
    }
    // Not running is the primary fact; a down server only matters for a running worker.
    if (!running) throw new CliError(`worker '${config.worker_id}' is not running on this machine (data dir ${config.data_dir})`, EXIT.NOT_RUNNING);
    if (server && !server.reachable) throw new CliError(server.error ?? `server unreachable at ${server.url}`, EXIT.UNAVAILABLE);
    if (server?.error) throw new CliError(server.error, EXIT.FAILURE);
    if (!healthy) {
      const why = !server?.registered
        ? "is not registered with the server"
        : elsewhere
          ? `was replaced: the server records another process for this worker id (${instanceText(server.instance!)})`
          : `is ${server.status} on the server`;
      throw new CliError(`worker '${config.worker_id}' is running (pid ${local!.pid}) but ${why} at ${server!.url}`, EXIT.FAILURE);
    }
  },
});

/** Flags a server record held by a process other than the one running here (two machines, one worker id). */
function heldElsewhere(local: LocalView | null, i: WorkerInstance, paint: ReturnType<typeof painter>): string {
  if (!local?.instance_id || !i.instance_id || local.instance_id === i.instance_id) return "";
  return ` ${paint("yellow", "(another process, not this one)")}`;
}

function render(config: Config, local: LocalView | null, server: ServerView | null): string {
  const paint = painter();
  const rows: [string, unknown][] = [];
  if (!local) {
    rows.push(["local", paint("red", "not running")], ["data dir", config.data_dir]);
  } else {
    const tasks = local.running_tasks.length ? local.running_tasks.map((t) => `${t.id} (${ago(t.started_at)})`).join(", ") : "none";
    rows.push(
      ["local", paint("green", "running")],
      ["pid", local.pid],
      ["instance", local.instance_id],
      ["uptime", local.uptime_s === null ? null : duration(local.uptime_s)],
      ["push stream", local.streaming === null ? null : local.streaming ? "connected" : "not connected (polling)"],
      ["last contact", local.last_contact ? `${ago(local.last_contact)} (${local.last_contact})` : "never"],
      ["running tasks", tasks],
      [
        "done here",
        local.tasks_completed === null ? null : `${local.tasks_completed} completed, ${local.tasks_failed} failed, ${local.tasks_cancelled} cancelled`,
      ],
    );
  }
  if (server) {
    if (!server.reachable) rows.push(["server", `${paint("red", "unreachable")} ${server.url}`]);
    else if (server.error) rows.push(["server", `${server.url}: ${paint("red", "refused")} (see the error below)`]);
    else if (!server.registered) rows.push(["server", `${server.url}: ${paint("yellow", "not registered")}`]);
    else
      rows.push(
        ["server", server.url],
        ["status", statusText(server.status ?? "-")],
        ["last heartbeat", server.last_heartbeat ? `${ago(server.last_heartbeat)} (${server.last_heartbeat})` : null],
        ["hostname", server.hostname],
        ["instance", server.instance ? instanceText(server.instance) + heldElsewhere(local, server.instance, paint) : null],
        ["codebases", server.codebases],
        ["tasks completed", server.tasks_completed],
        ["tasks running", server.tasks_running],
      );
  }
  return `${paint("bold", `worker ${config.worker_id}`)}\n${keyValues(rows)}`;
}
