// Task list paging shared by both stores: the sort key of a row, the opaque cursor that
// carries it between pages, and the id-prefix range. Keyset paging (WHERE key > cursor)
// costs one index probe per page however deep the page is; OFFSET would rescan every
// row before it.
//
// Two orders: "default" (priority desc, created_at asc, seq asc) is the one existing
// workers rely on when they poll pending tasks, and "newest" (created_at desc, seq desc)
// is the one people read. `seq` (the insertion counter) breaks ties between tasks
// created in the same millisecond, so every row has exactly one place in either order.

export type TaskOrder = "default" | "newest";

export interface TaskKey {
  priority: number;
  created_at: string;
  seq: number;
}

export interface TaskFilter {
  status?: string;
  codebase_id?: string;
  worker_id?: string;
  id_prefix?: string;
}

export interface TaskPageQuery extends TaskFilter {
  order: TaskOrder;
  /** Rows strictly after this key in `order` (the previous page's last row). */
  cursor: TaskKey | null;
  limit: number;
}

const TAG: Record<TaskOrder, string> = { default: "d", newest: "n" };

/** An opaque, URL-safe cursor; the order is part of it so a cursor cannot be replayed in the other order. */
export function encodeCursor(order: TaskOrder, k: TaskKey): string {
  return Buffer.from(`${TAG[order]}|${k.priority}|${k.seq}|${k.created_at}`).toString("base64url");
}

/** The key inside a cursor, or null when it is not one this server made for `order`. */
export function decodeCursor(order: TaskOrder, cursor: string): TaskKey | null {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(cursor)) return null;
  const [tag, p, s, created_at, ...rest] = Buffer.from(cursor, "base64url").toString("utf8").split("|");
  if (tag !== TAG[order] || rest.length || !created_at || !/^\d{4}-\d\d-\d\dT[\d:.]+Z$/.test(created_at)) return null;
  const priority = Number(p);
  const seq = Number(s);
  if (!Number.isSafeInteger(priority) || !Number.isSafeInteger(seq) || seq < 0) return null;
  return { priority, created_at, seq };
}

export function keyOf(raw: Record<string, any>): TaskKey {
  return { priority: Number(raw.priority), created_at: raw.created_at, seq: Number(raw.seq) };
}

/**
 * Ids starting with `prefix` are exactly those in [prefix, upper) compared byte by byte,
 * where `upper` is the prefix with its last character incremented: a range an index
 * on id answers directly (LIKE would need pattern ops and escaping).
 * The wire schema (ListTasksQuery) restricts prefixes to ASCII id characters, so the increment stays ASCII.
 */
export function prefixRange(prefix: string): { lo: string; hi: string } {
  const last = prefix.charCodeAt(prefix.length - 1);
  return { lo: prefix, hi: prefix.slice(0, -1) + String.fromCharCode(last + 1) };
}
