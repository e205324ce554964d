// A real server process and real worker processes, for worker and end-to-end tests.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { createClient, type Client } from "../../src/client/index.ts";
import { spawnCli, tempDir, waitUntil, type CliProc } from "./proc.ts";

export interface ServerProc {
  url: string;
  proc: CliProc;
  client: Client;
  dbPath: string;
  stop(sig?: NodeJS.Signals): Promise<number>;
}

/** `codetether server start` on a free port (or `port`), SQLite in `dir` unless `databaseUrl`. */
export async function startServerProc(
  dir: string,
  o: { port?: number; databaseUrl?: string; env?: Record<string, string>; args?: string[] } = {},
): Promise<ServerProc> {
  mkdirSync(dir, { recursive: true });
  const dbPath = join(dir, "server.db");
  const args = [
    "server",
    "start",
    "--port",
    String(o.port ?? 0),
    "--data-dir",
    dir,
    ...(o.databaseUrl ? ["--database-url", o.databaseUrl] : ["--db", dbPath]),
    ...(o.args ?? []),
  ];
  const proc = spawnCli(args, { env: { A2A_CONFIG: undefined, ...o.env } });
  const m = await proc.waitFor(/listening on (http:\/\/[\d.:]+)/, 20_000);
  const url = m[1]!;
  const token = o.env?.A2A_AUTH_TOKENS?.split(",")[0]?.split(":").pop();
  return {
    url,
    proc,
    dbPath,
    client: createClient({ serverUrl: url, token }),
    async stop(sig = "SIGTERM") {
      proc.kill(sig);
      return proc.exited;
    },
  };
}

export interface WorkerProc extends CliProc {
  dataDir: string;
}

export function startWorkerProc(
  serverUrl: string,
  o: { name: string; dataDir: string; codebases?: string[]; env?: Record<string, string | undefined>; args?: string[]; syncSessions?: boolean },
): WorkerProc {
  mkdirSync(o.dataDir, { recursive: true });
  const args = [
    "worker",
    "start",
    "--server",
    serverUrl,
    "--name",
    o.name,
    "--data-dir",
    o.dataDir,
    "--poll-interval",
    "1",
    // Off unless asked for: most tests are not about session history.
    o.syncSessions ? "--sync-sessions" : "--no-sync-sessions",
    ...(o.codebases ?? []).flatMap((c) => ["--codebase", c]),
    ...(o.args ?? []),
  ];
  const p = spawnCli(args, { env: { A2A_CONFIG: undefined, HOME: o.env?.HOME ?? process.env.HOME, ...o.env } });
  return Object.assign(p, { dataDir: o.dataDir });
}

export async function waitTask(client: Client, id: string, pred: (t: Awaited<ReturnType<Client["getTask"]>>) => boolean, what: string, timeoutMs = 30_000) {
  return waitUntil(
    async () => {
      const t = await client.getTask(id);
      return pred(t) ? t : null;
    },
    what,
    timeoutMs,
    100,
  );
}

export async function codebaseId(client: Client, workerId: string, name: string): Promise<string> {
  return waitUntil(async () => (await client.listCodebases()).find((c) => c.worker_id === workerId && c.name === name)?.id, `codebase ${name} of ${workerId}`);
}

export { tempDir };
