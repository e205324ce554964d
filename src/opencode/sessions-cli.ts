// Reading OpenCode's session history through its own CLI (OpenCode 1.18), mapped to the
// wire shapes by sessions-map.ts. Each call spawns opencode: ~1.5-2.5 s each, so
// opencodeReader reads OpenCode's database directly when it can (sessions-db.ts).
//  - list: `opencode db "<SELECT>" --format json` reads every project's sessions with
//    message counts in one process. `opencode session list --format json` is the fallback
//    (older versions); it only shows the project of its cwd and has no counts.
//  - export: `opencode export <id>` prints {info, messages:[{info, parts}]} on stdout.
import { spawn } from "node:child_process";
import { stripVTControlCharacters } from "node:util";
import type { SessionRecord } from "../protocol/index.ts";
import { opencodeEnv, prepareOpencode } from "./env.ts";
import { LIST_SQL, mapDbRow, mapExport, mapListEntry, type ExportedSession, type SessionReader } from "./sessions-map.ts";

export interface CliOptions {
  /** Directory to run in: `session list` shows only that directory's project. */
  cwd?: string;
  timeoutMs?: number;
}

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runCli(bin: string, args: string[], env: Record<string, string> | undefined, o: CliOptions = {}): Promise<CliResult> {
  const cwd = o.cwd ?? process.cwd();
  const merged = opencodeEnv(env, cwd);
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { cwd, env: merged, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const t = setTimeout(() => child.kill("SIGKILL"), o.timeoutMs ?? 60_000);
    child.on("error", (err) => {
      clearTimeout(t);
      reject(new Error(`cannot run ${bin}: ${err.message}`));
    });
    child.on("close", (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}

const clean = (s: string) => stripVTControlCharacters(s).trim();
const lastLine = (s: string) => clean(s).split("\n").filter(Boolean).at(-1) ?? "";

function parseJson(text: string, what: string): any {
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`${what} printed no JSON: ${text.slice(0, 200)}`);
  }
}

/** Top-level sessions of every project, newest first. */
export async function listSessions(bin: string, env?: Record<string, string>, o: CliOptions = {}): Promise<SessionRecord[]> {
  await prepareOpencode(bin, env);
  const db = await runCli(bin, ["db", LIST_SQL, "--format", "json"], env, o);
  if (db.code === 0) {
    const rows = db.stdout.trim() ? parseJson(db.stdout, "opencode db") : [];
    if (Array.isArray(rows)) return rows.map(mapDbRow);
  }
  // older opencode (no `db`, other schema): the CLI's own list, for the cwd's project
  const r = await runCli(bin, ["session", "list", "--format", "json"], env, o);
  if (r.code !== 0) throw new Error(`opencode session list failed (exit ${r.code}): ${lastLine(r.stderr) || lastLine(db.stderr)}`);
  if (!r.stdout.trim()) return []; // prints nothing when there are no sessions
  const list = parseJson(r.stdout, "opencode session list");
  return Array.isArray(list) ? list.map(mapListEntry) : [];
}

export async function exportSession(bin: string, sessionId: string, env?: Record<string, string>, o: CliOptions = {}): Promise<ExportedSession> {
  await prepareOpencode(bin, env);
  const r = await runCli(bin, ["export", sessionId], env, o);
  if (r.code !== 0) throw new Error(`opencode export ${sessionId} failed (exit ${r.code}): ${lastLine(r.stderr)}`);
  const data = parseJson(r.stdout, `opencode export ${sessionId}`);
  if (!data?.info?.id) throw new Error(`opencode export ${sessionId}: unexpected output (no info.id)`);
  return mapExport(data);
}

/** The SessionReader through the CLI only (one opencode process per call). */
export function cliReader(bin: string, env?: Record<string, string>, o: CliOptions = {}): SessionReader {
  return {
    list: () => listSessions(bin, env, o),
    export: (id) => exportSession(bin, id, env, o),
  };
}
