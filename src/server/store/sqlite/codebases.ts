// SQLite: codebases, one per (worker, path); a name change needs asking for (issue 17).
import { toCodebaseRow } from "../rows.ts";
import type { CodebaseInput, CodebaseStore, CodebaseUpsert } from "../types.ts";
import { ALL, LISTS, toPage } from "../keyset.ts";
import { pageParams, type Raw, type Sqlite } from "./handle.ts";

export function sqliteCodebases(h: Sqlite): CodebaseStore {
  const { q } = h;
  const byId = (id: string) => q("SELECT * FROM codebases WHERE id = $id").get({ id }) as Raw | null;
  return {
    async upsertCodebase(c: CodebaseInput, now: string, o: { rename?: boolean } = {}) {
      return h.write((): CodebaseUpsert => {
        const found = q("SELECT * FROM codebases WHERE worker_id = $w AND path = $path").get({ w: c.worker_id, path: c.path }) as Raw | null;
        if (found && found.name !== c.name && !o.rename) return { ok: false, existing: toCodebaseRow(found) };
        const p = {
          name: c.name,
          description: c.description,
          agent_config: c.agent_config ? JSON.stringify(c.agent_config) : null,
          isolation: c.isolation ?? null,
          now,
        };
        let id: string;
        if (found) {
          id = found.id;
          q(`UPDATE codebases SET name = $name, description = $description, agent_config = COALESCE($agent_config, agent_config),
             isolation = COALESCE($isolation, isolation), status = 'active', updated_at = $now WHERE id = $id`).run({ ...p, id });
        } else {
          id = crypto.randomUUID();
          q(`INSERT INTO codebases (id, name, path, description, worker_id, agent_config, isolation, registered_at, updated_at)
             VALUES ($id, $name, $path, $description, $w, $agent_config, $isolation, $now, $now)`).run({ ...p, id, path: c.path, w: c.worker_id });
        }
        const codebase = toCodebaseRow(byId(id)!);
        return { ok: true, codebase, created: !found, renamed_from: found && found.name !== c.name ? found.name : null };
      });
    },
    async codebasesAtPath(path) {
      return (q("SELECT * FROM codebases WHERE path = $path ORDER BY registered_at, id").all({ path }) as Raw[]).map(toCodebaseRow);
    },
    async renameCodebase(id, name, now) {
      const raw = q("UPDATE codebases SET name = $name, updated_at = $now WHERE id = $id RETURNING *").get({ id, name, now }) as Raw | null;
      return raw ? toCodebaseRow(raw) : null;
    },
    async getCodebase(id) {
      const raw = byId(id);
      return raw ? toCodebaseRow(raw) : null;
    },
    async listCodebases(page = ALL) {
      const { params, limit } = pageParams(page);
      const after = page.after ? "WHERE (registered_at, id) > ($k0, $k1)" : "";
      const raws = q(`SELECT * FROM codebases ${after} ORDER BY registered_at, id ${limit}`).all(params) as Raw[];
      return toPage(raws, page, LISTS.codebases.keyOf, toCodebaseRow);
    },
    async workerCodebases(workerId) {
      return (q("SELECT * FROM codebases WHERE worker_id = $w ORDER BY registered_at").all({ w: workerId }) as Raw[]).map(toCodebaseRow);
    },
    async deleteCodebase(id) {
      return q("DELETE FROM codebases WHERE id = $id").run({ id }).changes > 0;
    },
  };
}
