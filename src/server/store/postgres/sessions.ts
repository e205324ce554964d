// PostgreSQL: OpenCode sessions and their messages as workers upload them (upserts: a
// session uploaded again replaces the old copy). One transaction per upload, its rows
// pipelined on the connection.
import type { MessageRecord, SessionRecord } from "../../../protocol/index.ts";
import { LINKED_TASK, MESSAGE_UPSERT_SET, SESSION_UPSERT_SET } from "../common-sql.ts";
import { messageColumns, messageOut, sessionColumns, sessionOut } from "../rows.ts";
import type { SessionStore } from "../types.ts";
import { ALL, LISTS, toPage } from "../keyset.ts";
import { begin, pageLimit, type Sql } from "./handle.ts";

export function pgSessions(sql: Sql): SessionStore {
  // A session's place in its codebase's list: the same expression as index sessions_codebase_recent.
  const SESSION_KEY = sql.unsafe("COALESCE(s.updated, s.created, s.synced_at)");
  const LINKED = sql.unsafe(LINKED_TASK);
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
    async listSessions(codebaseId, page = ALL) {
      const k = page.after;
      // Newest first, ties by id ascending; written so the index range is key <= the cursor's.
      const after = k ? sql`AND ${SESSION_KEY} <= ${k[0]!} AND (${SESSION_KEY} < ${k[0]!} OR s.id > ${k[1]!})` : sql``;
      const rows = await sql`SELECT s.*, ${SESSION_KEY} AS page_key, ${LINKED} AS linked_task_id
        FROM sessions s WHERE s.codebase_id = ${codebaseId} ${after} ORDER BY ${SESSION_KEY} DESC, s.id ${pageLimit(sql, page)}`;
      return toPage(rows, page, LISTS.sessions.keyOf, sessionOut);
    },
    async getSession(id) {
      const [raw] = await sql`SELECT s.*, ${LINKED} AS linked_task_id FROM sessions s WHERE s.id = ${id}`;
      return raw ? sessionOut(raw) : null;
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
    async listMessages(codebaseId, sessionId, page = ALL) {
      const k = page.after;
      // PostgreSQL puts messages without a time last: after a timed one come the later timed ones, then those.
      const after = !k
        ? sql``
        : k[0] === null
          ? sql`AND created IS NULL AND id > ${k[1]!}`
          : sql`AND ((created >= ${k[0]} AND (created > ${k[0]} OR id > ${k[1]!})) OR created IS NULL)`;
      const rows =
        await sql`SELECT * FROM messages WHERE session_id = ${sessionId} AND codebase_id = ${codebaseId} ${after} ORDER BY created, id ${pageLimit(sql, page)}`;
      if (!rows.length && !k) {
        const [s] = await sql`SELECT 1 AS x FROM sessions WHERE id = ${sessionId} AND codebase_id = ${codebaseId}`;
        if (!s) return null;
      }
      return toPage(rows, page, LISTS.messages.keyOf, messageOut);
    },
  };
}
