// The HTTP side of keyset paging, shared by every list route: reading `?limit=` and the
// cursor (400 naming the field when either is not usable), and the `Link: <...>; rel="next"`
// header that carries the same request on to the next page. The store side is
// store/keyset.ts (lists other than tasks) and store/task-list.ts (tasks).
import { PageQuery } from "../protocol/index.ts";
import { badRequest, parse, queryObject } from "./http.ts";
import { decodeKey, encodeKey, LISTS, type Key, type KeyPage, type ListName } from "./store/keyset.ts";

/** The same request (path and filters) with the next page's cursor; relative, so it is right behind any proxy. */
export function nextPageUrl(url: URL, field: "before" | "after", cursor: string): string {
  const params = new URLSearchParams(url.search);
  params.delete("before");
  params.delete("after");
  params.set(field, cursor);
  return `${url.pathname}?${params}`;
}

export const linkHeader = (url: URL, field: "before" | "after", cursor: string) => `<${nextPageUrl(url, field, cursor)}>; rel="next"`;

/** Every list's key is (its sort value, the row's id). */
const KEY_SIZE = 2;

/** The page a list request asks for: everything unless it gives `limit`, from the start unless it gives the cursor. */
export function requestedPage(url: URL, list: ListName): KeyPage {
  const { field, tag } = LISTS[list];
  const q = parse(PageQuery, queryObject(url), "query");
  const wrong = field === "after" ? "before" : "after";
  if (q[wrong]) throw badRequest(`query.${wrong}`, `not used by this list: its next page comes from ?${field}=`);
  const raw = q[field];
  const after = raw ? decodeKey(tag, KEY_SIZE, raw) : null;
  if (raw && !after) throw badRequest(`query.${field}`, "not a cursor of this list: take it from the Link header of the previous page");
  return { after, limit: q.limit ?? null };
}

/** The Link header of a page of `list` that has more after it (none when `next` is null). */
export function pageHeaders(url: URL, list: ListName, next: Key | null): Record<string, string> {
  const { field, tag } = LISTS[list];
  return next ? { link: linkHeader(url, field, encodeKey(tag, next)) } : {};
}
