// SQLite: OpenCode sessions and their messages as workers upload them (upserts: a session
// uploaded again replaces the old copy).
import type { MessageRecord, SessionRecord } from "../../../protocol/index.ts";
import { LINKED_TASK, MESSAGE_UPSERT_SET, SESSION_UPSERT_SET } from "../common-sql.ts";
import { messageColumns, messageOut, sessionColumns, sessionOut } from "../rows.ts";
import type { SessionStore } from "../types.ts";
import { ALL, LISTS, toPage } from "../keyset.ts";
import { pageParams, type Raw, type Sqlite } from "./handle.ts";

// A session's place in its codebase's list: the same expression as index sessions_codebase_recent.
const SESSION_KEY = "COALESCE(s.updated, s.created, s.synced_at)";

export function sqliteSessions(h: Sqlite): SessionStore {
  const { q } = h;
  return {
    async upsertSessions(codebaseId: string, workerId: string | null, sessions: SessionRecord[], now: string) {
      const up = q(`INSERT INTO sessions (id, codebase_id, worker_id, task_id, title, directory, project_id, created, updated, message_count, data, synced_at)
        VALUES ($id, $cb, $w, $task_id, $title, $directory, $project_id, $created, $updated, $message_count, $data, $now)
        ON CONFLICT (id) DO UPDATE SET ${SESSION_UPSERT_SET}`);
      await h.write(() => {
        for (const s of sessions) up.run({ ...sessionColumns(s), cb: codebaseId, w: workerId, now });
      });
      return sessions.length;
    },
    async listSessions(codebaseId, page = ALL) {
      const { params, limit } = pageParams(page);
      const after = page.after ? `AND ${SESSION_KEY} <= $k0 AND (${SESSION_KEY} < $k0 OR s.id > $k1)` : "";
      const rows = q(`SELECT s.*, ${SESSION_KEY} AS page_key, ${LINKED_TASK} AS linked_task_id
                      FROM sessions s WHERE s.codebase_id = $cb ${after} ORDER BY ${SESSION_KEY} DESC, s.id ${limit}`).all({
        ...params,
        cb: codebaseId,
      }) as Raw[];
      return toPage(rows, page, LISTS.sessions.keyOf, sessionOut);
    },
    async getSession(id) {
      const raw = q(`SELECT s.*, ${LINKED_TASK} AS linked_task_id FROM sessions s WHERE s.id = $id`).get({ id }) as Raw | null;
      return raw ? sessionOut(raw) : null;
    },
    async upsertMessages(codebaseId: string, sessionId: string, workerId: string | null, messages: MessageRecord[], now: string) {
      const up = q(`INSERT INTO messages (id, session_id, codebase_id, role, created, data, synced_at)
        VALUES ($id, $sid, $cb, $role, $created, $data, $now)
        ON CONFLICT (id) DO UPDATE SET ${MESSAGE_UPSERT_SET}`);
      void workerId; // messages belong to the session; the session row records the worker
      await h.write(() => {
        for (const m of messages) up.run({ ...messageColumns(m), sid: sessionId, cb: codebaseId, now });
      });
      return messages.length;
    },
    async listMessages(codebaseId, sessionId, page = ALL) {
      const { params, limit } = pageParams(page);
      // SQLite puts messages without a time first: after one of them come the rest of them, then every timed one.
      const after = !page.after
        ? ""
        : page.after[0] === null
          ? "AND ((created IS NULL AND id > $k1) OR created IS NOT NULL)"
          : "AND created >= $k0 AND (created > $k0 OR id > $k1)";
      const rows = q(`SELECT * FROM messages WHERE session_id = $sid AND codebase_id = $cb ${after} ORDER BY created, id ${limit}`).all({
        ...params,
        sid: sessionId,
        cb: codebaseId,
      }) as Raw[];
      if (!rows.length && !page.after && !q("SELECT 1 FROM sessions WHERE id = $sid AND codebase_id = $cb").get({ sid: sessionId, cb: codebaseId }))
        return null;
      return toPage(rows, page, LISTS.messages.keyOf, messageOut);
    },
  };
}
