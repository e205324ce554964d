// Incremental upload of OpenCode session history. What was sent is remembered in
// data_dir (per session: `updated`; per message: a content hash), so a round with nothing
// new sends nothing, and a continued session sends only its new or changed messages.
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, isAbsolute, join, relative } from "node:path";
import type { Client } from "../client/index.ts";
import { sessionStats, type SessionReader } from "../opencode/index.ts";
import type { SessionRecord } from "../protocol/index.ts";

export type { SessionReader };

export interface SyncTarget {
  /** Registered codebases of this worker: id and absolute path. */
  codebases: { id: string; path: string }[];
  /** The worker's global codebase id: sessions outside every codebase go there. */
  globalId: string | null;
}

export interface SyncOptions {
  client: Client;
  workerId: string;
  dataDir: string;
  reader: SessionReader;
  target: SyncTarget;
  redact: (s: string) => string;
  /** Only sessions of this codebase id. */
  codebaseId?: string;
  dryRun?: boolean;
  /** session id -> task id, from the tasks this worker ran. */
  taskOf?: (sessionId: string) => string | undefined;
  sessionBatch?: number;
  messageBatch?: number;
}

export interface SyncResult {
  sessions_scanned: number;
  sessions_sent: number;
  sessions_unchanged: number;
  messages_sent: number;
}

interface SentState {
  version: 1;
  sessions: Record<string, { updated: string | null; codebase_id: string; messages: Record<string, string>; task_id?: string }>;
}

export function statePath(dataDir: string, workerId: string): string {
  return join(dataDir, `sessions-sent-${workerId.replace(/[^A-Za-z0-9._-]/g, "_")}.json`);
}

function loadState(path: string): SentState {
  try {
    const s = JSON.parse(readFileSync(path, "utf8"));
    if (s?.version === 1 && s.sessions) return s;
  } catch {
    // no state yet (first round) or unreadable: everything is sent again, which is safe
  }
  return { version: 1, sessions: {} };
}

function saveState(path: string, s: SentState): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(`${path}.tmp`, JSON.stringify(s));
  renameSync(`${path}.tmp`, path);
}

/** The registered codebase whose path contains `dir` (deepest wins), else the global one. */
export function codebaseFor(dir: string | null | undefined, t: SyncTarget): string | null {
  let best: { id: string; len: number } | null = null;
  if (dir) {
    for (const c of t.codebases) {
      const rel = relative(c.path, dir);
      if (rel === "" || (!rel.startsWith("..") && !isAbsolute(rel))) {
        if (!best || c.path.length > best.len) best = { id: c.id, len: c.path.length };
      }
    }
  }
  return best?.id ?? t.globalId;
}

export function redactDeep<T>(v: T, redact: (s: string) => string): T {
  if (typeof v === "string") return redact(v) as T;
  if (Array.isArray(v)) return v.map((x) => redactDeep(x, redact)) as T;
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, redactDeep(x, redact)])) as T;
  return v;
}

const hash = (m: unknown) => createHash("sha1").update(JSON.stringify(m)).digest("hex");

function chunks<T>(xs: T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
}

export async function syncSessions(o: SyncOptions): Promise<SyncResult> {
  const path = statePath(o.dataDir, o.workerId);
  const state = loadState(path);
  const res: SyncResult = { sessions_scanned: 0, sessions_sent: 0, sessions_unchanged: 0, messages_sent: 0 };
  const changed = new Map<string, SessionRecord[]>(); // codebase id -> sessions to upsert

  for (const s of await o.reader.list()) {
    const cb = codebaseFor(s.directory, o.target);
    if (!cb || (o.codebaseId && cb !== o.codebaseId)) continue;
    res.sessions_scanned++;
    const prev = state.sessions[s.id];
    const taskId = o.taskOf?.(s.id) ?? prev?.task_id;
    if (prev && prev.updated === (s.updated ?? null) && prev.codebase_id === cb && prev.task_id === taskId) {
      res.sessions_unchanged++;
      continue;
    }
    const { messages } = await o.reader.export(s.id);
    const sent = prev?.codebase_id === cb ? prev.messages : {};
    const fresh = messages.map((m) => redactDeep(m, o.redact)).filter((m) => sent[m.id] !== hash(m));
    for (const batch of chunks(fresh, o.messageBatch ?? 200)) {
      if (!o.dryRun) await o.client.syncMessages(cb, s.id, { worker_id: o.workerId, messages: batch });
      res.messages_sent += batch.length;
    }
    const record = redactDeep(
      { ...s, messageCount: s.messageCount ?? messages.length, ...sessionStats(messages), ...(taskId ? { task_id: taskId } : {}) },
      o.redact,
    );
    changed.set(cb, [...(changed.get(cb) ?? []), record]);
    if (!o.dryRun) {
      // Messages first, then the session: a crash in between re-sends the session next round.
      const msgs = { ...sent };
      for (const m of fresh) msgs[m.id] = hash(m);
      state.sessions[s.id] = { updated: s.updated ?? null, codebase_id: cb, messages: msgs, ...(taskId ? { task_id: taskId } : {}) };
    }
  }

  for (const [cb, sessions] of changed) {
    for (const batch of chunks(sessions, o.sessionBatch ?? 100)) {
      if (!o.dryRun) await o.client.syncSessions(cb, { worker_id: o.workerId, sessions: batch });
      res.sessions_sent += batch.length;
    }
  }
  if (!o.dryRun) saveState(path, state);
  return res;
}
