// Reading OpenCode's session history through its own CLI (OpenCode 1.18), mapped to the
// wire shapes (SessionRecord, MessageRecord). Each call spawns opencode: ~1.5-2.5 s each,
// so opencodeReader reads OpenCode's database directly when it can (opencode-db.ts).
//  - list: `opencode db "<SELECT>" --format json` reads every project's sessions with
//    message counts in one process. `opencode session list --format json` is the fallback
//    (older versions); it only shows the project of its cwd and has no counts.
//  - export: `opencode export <id>` prints {info, messages:[{info, parts}]} on stdout.
import { spawn } from "node:child_process";
import type { MessageRecord, SessionRecord } from "../protocol/index.ts";
import { OPENCODE_BASE_ENV, prepareOpencode } from "../worker/opencode.ts";
import { dbFirstReader } from "./opencode-db.ts";
import type { SessionReader } from "./sync.ts";

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
  const merged: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) merged[k] = v;
  Object.assign(merged, OPENCODE_BASE_ENV, env, { PWD: cwd }); // OpenCode reads $PWD before cwd()
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { cwd, env: merged, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const t = setTimeout(() => child.kill("SIGKILL"), o.timeoutMs ?? 60_000);
    child.on("error", (err) => (clearTimeout(t), reject(new Error(`cannot run ${bin}: ${err.message}`))));
    child.on("close", (code) => (clearTimeout(t), resolve({ code, stdout, stderr })));
  });
}

// eslint-disable-next-line no-control-regex
const clean = (s: string) => s.replace(/\x1b\[[0-9;]*[A-Za-z]/g, "").trim();
const lastLine = (s: string) => clean(s).split("\n").filter(Boolean).at(-1) ?? "";

const iso = (ms: unknown): string | null => (typeof ms === "number" && Number.isFinite(ms) ? new Date(ms).toISOString() : null);

/** Top-level, unarchived sessions with message counts: run by `opencode db` and by the db reader. */
export const LIST_SQL =
  "SELECT s.id, s.title, s.directory, s.project_id, s.version, s.time_created, s.time_updated, " +
  "s.summary_additions, s.summary_deletions, s.summary_files, " +
  "(SELECT count(*) FROM message m WHERE m.session_id = s.id) AS message_count " +
  "FROM session s WHERE s.parent_id IS NULL AND s.time_archived IS NULL ORDER BY s.time_updated DESC";

export function mapDbRow(r: Record<string, any>): SessionRecord {
  const summary =
    r.summary_additions == null && r.summary_deletions == null && r.summary_files == null
      ? undefined
      : { additions: r.summary_additions ?? 0, deletions: r.summary_deletions ?? 0, files: r.summary_files ?? 0 };
  return {
    id: String(r.id),
    title: r.title ?? null,
    directory: r.directory ?? null,
    project_id: r.project_id ?? null,
    created: iso(r.time_created),
    updated: iso(r.time_updated),
    messageCount: typeof r.message_count === "number" ? r.message_count : null,
    summary,
    version: r.version ?? null,
  } as SessionRecord;
}

/** One entry of `opencode session list --format json`: {id,title,updated,created,projectId,directory}. */
export function mapListEntry(e: Record<string, any>): SessionRecord {
  return {
    id: String(e.id),
    title: e.title ?? null,
    directory: e.directory ?? null,
    project_id: e.projectId ?? e.projectID ?? null,
    created: iso(e.created),
    updated: iso(e.updated),
    messageCount: null,
    version: null,
  } as SessionRecord;
}

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

// ---------------------------------------------------------------- export

const MAX_STRING = 64 * 1024;

/** Tool inputs/outputs can hold whole files: keep each string bounded. */
function clip<T>(v: T): T {
  if (typeof v === "string")
    return (v.length > MAX_STRING ? `${v.slice(0, MAX_STRING)}… [truncated ${v.length - MAX_STRING} chars]` : v) as T;
  if (Array.isArray(v)) return v.map(clip) as T;
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, clip(x)])) as T;
  return v;
}

/** Drops undefined fields (keeps the JSON small and the hashes in sync.ts stable). */
const defined = <T extends Record<string, unknown>>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;

export function mapPart(p: Record<string, any>): MessageRecord["parts"][number] {
  const base = { id: String(p.id), type: String(p.type) };
  switch (p.type) {
    case "text":
    case "reasoning":
      return clip(defined({ ...base, text: p.text ?? "", synthetic: p.synthetic, time: p.time }));
    case "tool": {
      const st = p.state ?? {};
      const state = defined({
        status: st.status,
        input: st.input,
        output: st.output,
        error: st.error,
        title: st.title,
        time: st.time, // {start, end} epoch ms
      });
      return clip({ ...base, tool: p.tool ?? null, callID: p.callID, state });
    }
    case "step-finish":
      return defined({ ...base, reason: p.reason, cost: p.cost, tokens: p.tokens });
    case "file":
      return clip(defined({ ...base, mime: p.mime, filename: p.filename, url: p.url }));
    case "patch":
      return clip(defined({ ...base, hash: p.hash, files: p.files }));
    case "agent":
    case "subtask":
      return clip(defined({ ...base, name: p.name, agent: p.agent, description: p.description, prompt: p.prompt }));
    default:
      // step-start, snapshot, compaction, retry, ...: their scalar fields only
      return clip({ ...base, ...Object.fromEntries(Object.entries(p).filter(([k, v]) => typeof v !== "object" && !["id", "type", "sessionID", "messageID"].includes(k))) });
  }
}

export function mapMessage(m: { info: Record<string, any>; parts?: Record<string, any>[] }): MessageRecord {
  const i = m.info;
  const model = i.role === "user" ? i.model : i.providerID || i.modelID ? { providerID: i.providerID, modelID: i.modelID } : undefined;
  return defined({
    id: String(i.id),
    sessionID: i.sessionID,
    role: i.role ?? null,
    time: defined({ created: iso(i.time?.created), completed: iso(i.time?.completed) ?? undefined }),
    agent: i.agent ?? i.mode ?? null,
    model,
    cost: typeof i.cost === "number" ? i.cost : undefined,
    tokens: i.tokens,
    finish: i.finish,
    error: i.error ? { name: i.error.name, message: i.error.data?.message ?? i.error.message } : undefined,
    parts: (m.parts ?? []).map(mapPart),
  }) as MessageRecord;
}

export interface ExportedSession {
  session: SessionRecord;
  messages: MessageRecord[];
}

export function mapExport(data: { info: Record<string, any>; messages?: { info: Record<string, any>; parts?: any[] }[] }): ExportedSession {
  const i = data.info;
  const messages = (data.messages ?? []).map(mapMessage);
  return {
    session: {
      id: String(i.id),
      title: i.title ?? null,
      directory: i.directory ?? null,
      project_id: i.projectID ?? null,
      created: iso(i.time?.created),
      updated: iso(i.time?.updated),
      messageCount: messages.length,
      summary: i.summary,
      version: i.version ?? null,
    } as SessionRecord,
    messages,
  };
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

/** The SessionReader that session sync uses: OpenCode's db read-only when it can, else the CLI. */
export function opencodeReader(bin: string, env?: Record<string, string>, o: CliOptions = {}): SessionReader {
  return dbFirstReader(bin, env, cliReader(bin, env, o));
}
