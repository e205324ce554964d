// Reading OpenCode's session history straight from its SQLite database, read-only: ~1 ms
// per read instead of one opencode process (~2 s, up to 15 s under load) per session.
// It builds the very objects the CLI path sees (`opencode db` rows for the list, and
// `opencode export`'s {info, messages:[{info, parts}]}) and maps them with the same
// functions, so both paths produce identical records (test/e2e/opencode-db-reader.test.ts
// checks that against real OpenCode runs). Anything unexpected (no db, unknown schema, a
// WAL db without its -wal/-shm files, a failing query) makes the caller use the CLI.
import { Database } from "bun:sqlite";
import { closeSync, existsSync, openSync, readSync } from "node:fs";
import { log } from "../util/log.ts";
import { errorMessage } from "../util/errors.ts";
import { locateOpencodeDb } from "./env.ts";
import { cliReader, type CliOptions } from "./sessions-cli.ts";
import { LIST_SQL, mapDbRow, mapExport, type ExportedSession, type SessionReader } from "./sessions-map.ts";

/** Columns the reader uses (OpenCode 1.18 schema); a db without them is not read. */
const REQUIRED: Record<string, string[]> = {
  session: [
    "id",
    "title",
    "directory",
    "project_id",
    "parent_id",
    "version",
    "time_created",
    "time_updated",
    "time_archived",
    "summary_additions",
    "summary_deletions",
    "summary_files",
  ],
  message: ["id", "session_id", "time_created", "data"],
  part: ["id", "message_id", "session_id", "data"],
};

/** Thrown for an id the db does not hold: the CLI would say the same, so no fallback. */
export class SessionNotFound extends Error {}

const debug = (msg: string, fields: Record<string, unknown>) => log("debug", `opencode db: ${msg}`, fields);
/** Why the db cannot be read directly (the CLI reader is used instead): logged at debug, null. */
const notUsable = (why: string, path: string): null => {
  debug(why, { path });
  return null;
};

/** SQLite header bytes 18/19 are 2 for a WAL database; null when the file is no SQLite db. */
function isWalFile(path: string): boolean | null {
  const buf = Buffer.alloc(100);
  const fd = openSync(path, "r");
  try {
    if (readSync(fd, buf, 0, 100, 0) < 100 || buf.toString("latin1", 0, 15) !== "SQLite format 3") return null;
  } finally {
    closeSync(fd);
  }
  return buf[18] === 2 || buf[19] === 2;
}

function columns(db: Database, table: string): Set<string> {
  return new Set((db.query(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name));
}

/**
 * Opens OpenCode's database read-only, or returns null (-> CLI) when that is not safe or
 * the schema is not the one this reader knows. Never writes: a read-only connection of a
 * WAL database creates the -wal and -shm files when they are missing, so such a db is
 * left to the CLI (OpenCode keeps both files after it ran, so this is rare).
 */
export function openOpencodeDb(path: string): Database | null {
  let db: Database | null = null;
  try {
    if (!existsSync(path)) return notUsable("no database file", path);
    const wal = isWalFile(path);
    if (wal === null) return notUsable("not an SQLite database", path);
    if (wal && !(existsSync(`${path}-wal`) && existsSync(`${path}-shm`))) return notUsable("WAL database without -wal/-shm: reading would create them", path);
    db = new Database(path, { readonly: true });
    db.exec("PRAGMA query_only = 1"); // belt and braces on top of the read-only open
    db.exec("PRAGMA busy_timeout = 2000");
    for (const [table, cols] of Object.entries(REQUIRED)) {
      const have = columns(db, table);
      const missing = cols.filter((c) => !have.has(c));
      if (missing.length) {
        debug("unexpected schema", { path, table, missing: missing.join(",") });
        db.close();
        return null;
      }
    }
    return db;
  } catch (err) {
    debug("cannot open", { path, error: errorMessage(err) });
    try {
      db?.close();
    } catch {
      // already closed or never opened: the fallback reader takes over either way
    }
    return null;
  }
}

const parse = (text: unknown, what: string): Record<string, any> => {
  const v = JSON.parse(String(text));
  if (!v || typeof v !== "object" || Array.isArray(v)) throw new Error(`${what}: data is not a JSON object`);
  return v;
};

/** Session.Info as OpenCode builds it from a row: only the fields mapExport reads. */
function sessionInfo(r: Record<string, any>): Record<string, any> {
  const summary =
    r.summary_additions !== null || r.summary_deletions !== null || r.summary_files !== null
      ? {
          additions: r.summary_additions ?? 0,
          deletions: r.summary_deletions ?? 0,
          files: r.summary_files ?? 0,
          ...(r.summary_diffs ? { diffs: JSON.parse(r.summary_diffs) } : {}),
        }
      : undefined;
  return {
    id: r.id,
    projectID: r.project_id,
    directory: r.directory,
    title: r.title,
    version: r.version,
    ...(summary ? { summary } : {}),
    time: { created: r.time_created, updated: r.time_updated },
  };
}

/** The SessionReader over an open database (the caller closes it). */
export function dbReader(db: Database): SessionReader {
  const hasDiffs = columns(db, "session").has("summary_diffs");
  const hasV2 = db.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'session_message'").get() != null;
  return {
    // the same statement `opencode db` runs for the CLI path
    list: async () => (db.query(LIST_SQL).all() as Record<string, any>[]).map(mapDbRow),
    export: async (id) => readSession(db, id, hasDiffs, hasV2),
  };
}

function readSession(db: Database, id: string, hasDiffs: boolean, hasV2: boolean): ExportedSession {
  // one read transaction: a consistent snapshot while OpenCode may be writing
  const read = db.transaction(() => {
    const s = db
      .query(
        "SELECT id, project_id, directory, title, version, time_created, time_updated, summary_additions, " +
          `summary_deletions, summary_files${hasDiffs ? ", summary_diffs" : ""} FROM session WHERE id = ?`,
      )
      .get(id) as Record<string, any> | null;
    if (!s) return null;
    // OpenCode's order: messages by (time_created, id), parts by (message_id, id)
    const msgs = db.query("SELECT id, session_id, data FROM message WHERE session_id = ? ORDER BY time_created, id").all(id) as Record<string, any>[];
    const parts = db.query("SELECT id, message_id, session_id, data FROM part WHERE session_id = ? ORDER BY message_id, id").all(id) as Record<string, any>[];
    // a newer OpenCode that keeps messages only in its v2 table: let the CLI read them
    if (msgs.length === 0 && hasV2 && db.query("SELECT 1 FROM session_message WHERE session_id = ? LIMIT 1").get(id))
      throw new Error("messages are in session_message, which this reader does not know");
    return { s, msgs, parts };
  });
  const rows = read();
  if (!rows) throw new SessionNotFound(`Session not found: ${id}`);
  const byMessage = new Map<string, Record<string, any>[]>();
  for (const p of rows.parts) {
    const part = { ...parse(p.data, `part ${p.id}`), id: p.id, sessionID: p.session_id, messageID: p.message_id };
    const list = byMessage.get(p.message_id);
    if (list) list.push(part);
    else byMessage.set(p.message_id, [part]);
  }
  return mapExport({
    info: sessionInfo(rows.s),
    messages: rows.msgs.map((m) => ({
      info: { ...parse(m.data, `message ${m.id}`), id: m.id, sessionID: m.session_id },
      parts: byMessage.get(m.id) ?? [],
    })),
  });
}

/**
 * The db reader when the db can be read, else `cli`, decided per call (each call opens and
 * closes the db: ~1 ms, and no handle is held between sync rounds).
 */
export function dbFirstReader(
  bin: string,
  env: Record<string, string> | undefined,
  cli: SessionReader,
  locate: () => Promise<string | null> = () => locateOpencodeDb(bin, env),
): SessionReader {
  const via = async <T>(what: string, read: (r: SessionReader) => Promise<T>, fallback: () => Promise<T>): Promise<T> => {
    const path = await locate();
    const db = path ? openOpencodeDb(path) : null;
    if (!db) return fallback();
    try {
      return await read(dbReader(db));
    } catch (err) {
      if (err instanceof SessionNotFound) throw err;
      debug(`${what} failed, using the CLI`, { path, error: errorMessage(err) });
      return fallback();
    } finally {
      db.close();
    }
  };
  return {
    list: () =>
      via(
        "list",
        (r) => r.list(),
        () => cli.list(),
      ),
    export: (id) =>
      via(
        `export ${id}`,
        (r) => r.export(id),
        () => cli.export(id),
      ),
  };
}

/** The SessionReader that session sync uses: OpenCode's db read-only when it can, else the CLI. */
export function opencodeReader(bin: string, env?: Record<string, string>, o: CliOptions = {}): SessionReader {
  return dbFirstReader(bin, env, cliReader(bin, env, o));
}
