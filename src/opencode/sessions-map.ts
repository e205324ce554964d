// OpenCode 1.18's session history mapped to the wire shapes (SessionRecord,
// MessageRecord): the db reader and the CLI reader produce the same objects (the db rows
// of LIST_SQL, `opencode export`'s {info, messages:[{info, parts}]}) and map them here.
import type { MessageRecord, SessionRecord } from "../protocol/index.ts";

/** What session sync reads: a list of sessions and one session's messages. */
export interface SessionReader {
  list(): Promise<SessionRecord[]>;
  export(id: string): Promise<{ session?: SessionRecord; messages: MessageRecord[] }>;
}

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

const MAX_STRING = 64 * 1024;

/** Tool inputs/outputs can hold whole files: keep each string bounded. */
function clip<T>(v: T): T {
  if (typeof v === "string") return (v.length > MAX_STRING ? `${v.slice(0, MAX_STRING)}… [truncated ${v.length - MAX_STRING} chars]` : v) as T;
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
      return clip({
        ...base,
        ...Object.fromEntries(Object.entries(p).filter(([k, v]) => typeof v !== "object" && !["id", "type", "sessionID", "messageID"].includes(k))),
      });
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

export interface ToolStat {
  tool: string;
  calls: number;
  errors: number;
}

export interface SessionStats {
  cost: number | null;
  tokens: { input: number; output: number } | null;
  /** Calls and errors per tool, busiest first. */
  tools: ToolStat[];
}

/** What a session cost and did, from its messages: cost and tokens (OpenCode records them per assistant message; null when none did) and tool calls. */
/** What sessionStats reads of a message: MessageRecord, or the dashboard's view of one. */
export interface StatsMessage {
  cost?: number | null;
  tokens?: unknown;
  parts?: { type: string; tool?: string | null; state?: unknown }[];
}

export function sessionStats(messages: StatsMessage[]): SessionStats {
  let cost = 0;
  let input = 0;
  let output = 0;
  let seenCost = false;
  let seenTokens = false;
  const tools = new Map<string, ToolStat>();
  for (const m of messages) {
    if (typeof m.cost === "number" && Number.isFinite(m.cost)) {
      cost += m.cost;
      seenCost = true;
    }
    const t = m.tokens as { input?: unknown; output?: unknown } | null | undefined;
    if (typeof t?.input === "number" || typeof t?.output === "number") {
      input += typeof t.input === "number" ? t.input : 0;
      output += typeof t.output === "number" ? t.output : 0;
      seenTokens = true;
    }
    for (const p of m.parts ?? []) {
      if (p.type !== "tool" || typeof p.tool !== "string" || !p.tool) continue;
      const stat = tools.get(p.tool) ?? { tool: p.tool, calls: 0, errors: 0 };
      tools.set(p.tool, stat);
      stat.calls++;
      if ((p.state as { status?: unknown } | undefined)?.status === "error") stat.errors++;
    }
  }
  return {
    cost: seenCost ? cost : null,
    tokens: seenTokens ? { input, output } : null,
    tools: [...tools.values()].sort((a, b) => b.calls - a.calls || a.tool.localeCompare(b.tool)),
  };
}
