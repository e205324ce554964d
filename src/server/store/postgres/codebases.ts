// PostgreSQL: codebases, one per (worker, path); a name change needs asking for (issue 17).
import { toCodebaseRow } from "../rows.ts";
import type { CodebaseInput, CodebaseStore, CodebaseUpsert } from "../types.ts";
import { ALL, LISTS, toPage } from "../keyset.ts";
import { one, pageLimit, type Sql } from "./handle.ts";

export function pgCodebases(sql: Sql): CodebaseStore {
  const part: CodebaseStore = {
    async upsertCodebase(c: CodebaseInput, now: string, o: { rename?: boolean } = {}): Promise<CodebaseUpsert> {
      const cfg = c.agent_config ? sql.json(c.agent_config as any) : null;
      const rename = !!o.rename;
      // The old name comes from a self-join on the pre-statement snapshot; the WHERE skips
      // the update (no row returned) when it would rename without being asked to.
      const [raw] = await sql`INSERT INTO codebases AS cb (id, name, path, description, worker_id, agent_config, isolation, registered_at, updated_at)
        VALUES (${crypto.randomUUID()}, ${c.name}, ${c.path}, ${c.description}, ${c.worker_id}, ${cfg}, ${c.isolation ?? null}, ${now}, ${now})
        ON CONFLICT (worker_id, path) DO UPDATE SET name = excluded.name, description = excluded.description,
          agent_config = COALESCE(excluded.agent_config, cb.agent_config),
          isolation = COALESCE(excluded.isolation, cb.isolation), status = 'active', updated_at = excluded.updated_at
          WHERE ${rename} OR cb.name = excluded.name
        RETURNING cb.*, (xmax = 0) AS inserted,
          (SELECT old.name FROM codebases old WHERE old.id = cb.id) AS old_name`;
      if (!raw) {
        const existing = await one(sql`SELECT * FROM codebases WHERE worker_id = ${c.worker_id} AND path = ${c.path}`, toCodebaseRow);
        // Deleted between the two statements: register again from scratch.
        if (!existing) return part.upsertCodebase(c, now, o);
        return { ok: false, existing };
      }
      const created = !!raw.inserted;
      const renamedFrom = !created && raw.old_name !== c.name ? (raw.old_name as string) : null;
      return { ok: true, codebase: toCodebaseRow(raw), created, renamed_from: renamedFrom };
    },
    async codebasesAtPath(path) {
      return (await sql`SELECT * FROM codebases WHERE path = ${path} ORDER BY registered_at, id`).map(toCodebaseRow);
    },
    async renameCodebase(id, name, now) {
      return one(sql`UPDATE codebases SET name = ${name}, updated_at = ${now} WHERE id = ${id} RETURNING *`, toCodebaseRow);
    },
    async getCodebase(id) {
      return one(sql`SELECT * FROM codebases WHERE id = ${id}`, toCodebaseRow);
    },
    async listCodebases(page = ALL) {
      const k = page.after;
      const after = k ? sql`WHERE (registered_at, id) > (${k[0]!}, ${k[1]!})` : sql``;
      const raws = await sql`SELECT * FROM codebases ${after} ORDER BY registered_at, id ${pageLimit(sql, page)}`;
      return toPage(raws, page, LISTS.codebases.keyOf, toCodebaseRow);
    },
    async workerCodebases(workerId) {
      return (await sql`SELECT * FROM codebases WHERE worker_id = ${workerId} ORDER BY registered_at`).map(toCodebaseRow);
    },
    async deleteCodebase(id) {
      return (await sql`DELETE FROM codebases WHERE id = ${id}`).count > 0;
    },
  };
  return part;
}
