// PostgreSQL: OpenCode sessions and their messages as workers upload them (upserts: a
// session uploaded again replaces the old copy). One transaction per upload, its rows
// pipelined on the connection.
import type { MessageRecord, SessionRecord } from "../../../protocol/index.ts";
import { MESSAGE_UPSERT_SET, SESSION_UPSERT_SET } from "../common-sql.ts";
import { messageColumns, messageOut, sessionColumns, sessionOut } from "../rows.ts";
import type { SessionStore } from "../types.ts";
import { begin, type Sql } from "./handle.ts";

export function pgSessions(sql: Sql): SessionStore {
  return {
    async upsertSessions(codebaseId: string, workerId: string | null, sessions: SessionRecord[], now: string) {
      await begin(sql, (tx) =>
        Promise.all(
          sessions.map((s) => {
            const c = sessionColumns(s);
            return tx`INSERT INTO sessions (id, codebase_id, worker_id, task_id, title, directory, project_id, created, updated, message_count, data, synced_at)
              VALUES (${c.id}, ${codebaseId}, ${workerId}, ${c.task_id}, ${c.title}, ${c.directory}, ${c.project_id}, ${c.created}, ${c.updated},
                      ${c.message_count}, ${sql.json(s as any)}, ${now})
              ON CONFLICT (id) DO UPDATE SET ${sql.unsafe(SESSION_UPSERT_SET)}`;
          }),
        ),
      );
      return sessions.length;
    },
    async listSessions(codebaseId) {
      const rows =
        await sql`SELECT s.*, COALESCE(s.task_id, (SELECT t.id FROM tasks t WHERE t.session_id = s.id ORDER BY t.created_at DESC LIMIT 1)) AS linked_task_id
        FROM sessions s WHERE s.codebase_id = ${codebaseId} ORDER BY COALESCE(s.updated, s.created, s.synced_at) DESC, s.id`;
      return rows.map(sessionOut);
    },
    async upsertMessages(codebaseId: string, sessionId: string, _workerId: string | null, messages: MessageRecord[], now: string) {
      await begin(sql, (tx) =>
        Promise.all(
          messages.map((m) => {
            const c = messageColumns(m);
            return tx`INSERT INTO messages (id, session_id, codebase_id, role, created, data, synced_at)
              VALUES (${c.id}, ${sessionId}, ${codebaseId}, ${c.role}, ${c.created}, ${sql.json(m as any)}, ${now})
              ON CONFLICT (id) DO UPDATE SET ${sql.unsafe(MESSAGE_UPSERT_SET)}`;
          }),
        ),
      );
      return messages.length;
    },
    async listMessages(codebaseId, sessionId) {
      const rows = await sql`SELECT * FROM messages WHERE session_id = ${sessionId} AND codebase_id = ${codebaseId} ORDER BY created, id`;
      if (!rows.length) {
        const [s] = await sql`SELECT 1 AS x FROM sessions WHERE id = ${sessionId} AND codebase_id = ${codebaseId}`;
        if (!s) return null;
      }
      return rows.map(messageOut);
    },
  };
}
