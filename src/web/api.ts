// Every call the dashboard makes goes through here, so the token is sent on each one,
// live streams included. The token lives in sessionStorage: this tab only, gone when the
// tab closes, never in a URL (URLs end up in history, logs and Referer headers).
//
// Live output is read with fetch() and a stream reader rather than EventSource, because
// EventSource cannot send an Authorization header; the alternative, a cookie, would
// need a login route and CSRF care on every write.
import { signal } from "@preact/signals";

const KEY = "codetether.token";
export const token = signal<string | null>(sessionStorage.getItem(KEY));
/** Set when the server refused our token (or wants one): the login form shows. */
export const needLogin = signal(false);

export function setToken(t: string | null): void {
  token.value = t;
  if (t) sessionStorage.setItem(KEY, t);
  else sessionStorage.removeItem(KEY);
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function headers(extra: Record<string, string> = {}): Record<string, string> {
  return token.value ? { ...extra, authorization: `Bearer ${token.value}` } : extra;
}

async function fail(res: Response): Promise<never> {
  let code = "http_" + res.status;
  let message = `${res.status} ${res.statusText}`;
  try {
    const b = await res.json();
    code = b.error ?? code;
    message = b.message ?? message;
  } catch {
    /* not JSON: keep the status line */
  }
  if (res.status === 401 || res.status === 403) needLogin.value = true;
  throw new ApiError(res.status, code, message);
}

export interface Page<T> {
  items: T;
  next: string | null;
  /** X-Total-Count, or null when the server only says "at least" (X-Total-Count-At-Least). */
  total: number | null;
  atLeast: number | null;
}

/** GET/POST/DELETE a JSON API path; 401/403 raise the login form. */
export async function api<T = any>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  return (await apiPage<T>(path, init)).items;
}

/** Like api(), plus the paging headers (Link rel="next", X-Total-Count). */
export async function apiPage<T = any>(path: string, init: { method?: string; body?: unknown } = {}): Promise<Page<T>> {
  const res = await fetch(path, {
    method: init.method ?? (init.body === undefined ? "GET" : "POST"),
    headers: headers(init.body === undefined ? {} : { "content-type": "application/json" }),
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  if (!res.ok) return fail(res);
  const text = await res.text();
  const next = /<([^>]+)>;\s*rel="next"/.exec(res.headers.get("link") ?? "")?.[1] ?? null;
  const num = (h: string) => (res.headers.get(h) === null ? null : Number(res.headers.get(h)));
  return { items: (text ? JSON.parse(text) : null) as T, next, total: num("x-total-count"), atLeast: num("x-total-count-at-least") };
}

export interface SseEvent {
  event: string;
  data: string;
}

/**
 * Reads a text/event-stream with fetch (so the Authorization header goes along) and calls
 * `onEvent` per frame until the server ends the stream or `signal` aborts.
 */
export async function readStream(path: string, onEvent: (e: SseEvent) => void, signal: AbortSignal): Promise<void> {
  const res = await fetch(path, { headers: headers({ accept: "text/event-stream" }), signal });
  if (!res.ok) return fail(res);
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += value;
    let end: number;
    while ((end = buf.indexOf("\n\n")) >= 0) {
      const frame = buf.slice(0, end);
      buf = buf.slice(end + 2);
      let event = "message";
      const data: string[] = [];
      for (const line of frame.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length) onEvent({ event, data: data.join("\n") });
    }
  }
}
