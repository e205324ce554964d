// Keyset paging for every list but the task list (which has two orders and its own cursor,
// task-list.ts): workers, codebases, a codebase's sessions, a session's messages. A page is
// "the rows after this key, at most this many", where the key is the last row's values of
// the list's ORDER BY columns; each list's ORDER BY is an index (migration 8), so a page costs
// one index probe however deep it is. The cursor carries the key between pages, opaque and
// tagged with its list, so a workers cursor is refused by the codebases list.

/** The ORDER BY values of a row: text, or null where the column may be null. */
export type Key = (string | null)[];

export interface KeyPage {
  /** Rows strictly after this key in the list's order; null: from the start. */
  after: Key | null;
  /** At most this many; null: all of them (what these lists answered before paging). */
  limit: number | null;
}

export interface Paged<T> {
  rows: T[];
  /** The last row's key when more rows follow. */
  next: Key | null;
}

/** The page to ask a store for when the caller gave none: everything. */
export const ALL: KeyPage = { after: null, limit: null };

/** How many rows to read for `p`: one more than asked, whose presence says a next page exists. */
export const readLimit = (p: KeyPage): number | null => (p.limit === null ? null : p.limit + 1);

/** Rows read with readLimit(p) as a page: at most p.limit of them, and the key to go on from. */
export function toPage<R, T>(raws: R[], p: KeyPage, keyOf: (r: R) => Key, map: (r: R) => T): Paged<T> {
  const more = p.limit !== null && raws.length > p.limit;
  const shown = more ? raws.slice(0, p.limit!) : raws;
  return { rows: shown.map(map), next: more ? keyOf(shown.at(-1)!) : null };
}

export function encodeKey(list: string, key: Key): string {
  return Buffer.from(JSON.stringify([list, ...key])).toString("base64url");
}

/** The key inside `cursor`, or null when it is not a cursor this server made for `list` with `size` values. */
export function decodeKey(list: string, size: number, cursor: string): Key | null {
  if (!/^[A-Za-z0-9_-]{1,1400}$/.test(cursor)) return null;
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    return null;
  }
  if (!Array.isArray(v) || v.length !== size + 1 || v[0] !== list) return null;
  const key = v.slice(1);
  return key.every((x) => x === null || typeof x === "string") ? (key as Key) : null;
}

type Raw = Record<string, any>;
const text = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

/**
 * Each paged list: its cursor's tag, the query parameter that carries it (`before` where the
 * list is newest first, `after` otherwise, as in the task list) and the key of a stored row.
 * Sessions are read with their sort key as `page_key` (COALESCE(updated, created, synced_at)).
 */
export const LISTS = {
  workers: { tag: "workers", field: "after", keyOf: (r: Raw): Key => [r.registered_at, r.worker_id] },
  codebases: { tag: "codebases", field: "after", keyOf: (r: Raw): Key => [r.registered_at, r.id] },
  sessions: { tag: "sessions", field: "before", keyOf: (r: Raw): Key => [text(r.page_key), r.id] },
  messages: { tag: "messages", field: "after", keyOf: (r: Raw): Key => [text(r.created), r.id] },
} as const;
export type ListName = keyof typeof LISTS;
