// SQLite: OpenCode sessions and their messages as workers upload them (upserts: a session
// uploaded again replaces the old copy).
import type { MessageRecord, SessionRecord } from "../../../protocol/index.ts";
import { MESSAGE_UPSERT_SET, SESSION_UPSERT_SET } from "../common-sql.ts";
import { messageColumns, messageOut, sessionColumns, sessionOut } from "../rows.ts";
import type { SessionStore } from "../types.ts";
import type { Raw, Sqlite } from "./handle.ts";

export function sqliteSessions(h: Sqlite): SessionStore {
  const { q } = h;
  return {
    async upsertSessions(codebaseId: string, workerId: string | null, sessions: SessionRecord[], now: string) {
      const up = q(`INSERT INTO sessions (id, codebase_id, worker_id, task_id, title, directory, project_id, created, updated, message_count, data, synced_at)
        VALUES ($id, $cb, $w, $task_id, $title, $directory, $project_id, $created, $updated, $message_count, $data, $now)
        ON CONFLICT (id) DO UPDATE SET ${SESSION_UPSERT_SET}`);
      h.write(() => {
        for (const s of sessions) up.run({ ...sessionColumns(s), cb: codebaseId, w: workerId, now });
      });
      return sessions.length;
    },
    async listSessions(codebaseId) {
      const rows = q(`SELECT s.*, COALESCE(s.task_id, (SELECT t.id FROM tasks t WHERE t.session_id = s.id ORDER BY t.created_at DESC LIMIT 1)) AS linked_task_id
                      FROM sessions s WHERE s.codebase_id = $cb ORDER BY COALESCE(s.updated, s.created, s.synced_at) DESC, s.id`).all({
        cb: codebaseId,
      }) as Raw[];
      return rows.map(sessionOut);
    },
    async upsertMessages(codebaseId: string, sessionId: string, workerId: string | null, messages: MessageRecord[], now: string) {
      const up = q(`INSERT INTO messages (id, session_id, codebase_id, role, created, data, synced_at)
        VALUES ($id, $sid, $cb, $role, $created, $data, $now)
        ON CONFLICT (id) DO UPDATE SET ${MESSAGE_UPSERT_SET}`);
      void workerId; // messages belong to the session; the session row records the worker
      h.write(() => {
        for (const m of messages) up.run({ ...messageColumns(m), sid: sessionId, cb: codebaseId, now });
      });
      return messages.length;
    },
    async listMessages(codebaseId, sessionId) {
      const rows = q("SELECT * FROM messages WHERE session_id = $sid AND codebase_id = $cb ORDER BY created, id").all({
        sid: sessionId,
        cb: codebaseId,
      }) as Raw[];
      if (!rows.length && !q("SELECT 1 FROM sessions WHERE id = $sid AND codebase_id = $cb").get({ sid: sessionId, cb: codebaseId })) return null;
      return rows.map(messageOut);
    },
  };
}
