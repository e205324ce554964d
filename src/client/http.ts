// The transport under the typed API: ofetch with the auth header, a deadline on every
// call, and errors sorted into "the server said no" (ApiError), "no server"
// (UnavailableError) and "the server said something we cannot use" (ProtocolError). They
// are plain errors: what they mean for an exit code is the CLI's business
// (src/commands/_main.ts), not the transport's.
import { ofetch, type $Fetch, type FetchResponse } from "ofetch";
import type { z } from "zod";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly url: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/** Connection refused, DNS, timeout, or a 5xx/502-504 outage: the server is not there right now. */
export class UnavailableError extends Error {
  constructor(
    message: string,
    readonly url: string,
  ) {
    super(message);
    this.name = "UnavailableError";
  }
}

/** A 2xx answer whose body does not fit the protocol: named here, not a crash somewhere later. */
export class ProtocolError extends Error {
  constructor(
    message: string,
    readonly url: string,
  ) {
    super(message);
    this.name = "ProtocolError";
  }
}

export type Method = "GET" | "POST" | "PUT" | "DELETE";

export interface RequestOptions {
  body?: Record<string, unknown>;
  query?: Record<string, unknown>;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

export interface HttpOptions {
  serverUrl: string;
  token?: string | null;
  workerId?: string | null;
  /** Deadline of a call that names none (default 30 s). */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;

export interface Http {
  base: string;
  headers: Record<string, string>;
  /** The parsed JSON body (text when it is not JSON, undefined when empty), unchecked: see `answer`. */
  request(method: Method, path: string, opts?: RequestOptions): Promise<{ status: number; data: unknown; headers: Headers }>;
}

export function createHttp(o: HttpOptions): Http {
  const base = o.serverUrl.replace(/\/+$/, "");
  const headers: Record<string, string> = { "user-agent": "codetether" };
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  if (o.workerId) headers["x-worker-id"] = o.workerId;
  const defaultTimeout = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const f: $Fetch = ofetch.create({ baseURL: base, headers, retry: 0 });

  return {
    base,
    headers,
    async request(method: Method, path: string, opts: RequestOptions = {}) {
      const url = base + path;
      let res: FetchResponse<string>;
      try {
        res = await f.raw(path, {
          method,
          body: opts.body,
          query: opts.query ? Object.fromEntries(Object.entries(opts.query).filter(([, v]) => v !== undefined && v !== null)) : undefined,
          headers: opts.headers,
          // Always a number: ofetch lays per-call options over the defaults, so an
          // `undefined` here would erase a default deadline and let a silent server hang us.
          timeout: opts.timeoutMs ?? defaultTimeout,
          ignoreResponseError: true,
          responseType: "text",
        });
      } catch (err) {
        const timedOut = err instanceof Error && /TimeoutError|aborted due to timeout/.test(`${err.name} ${err.message}`);
        const why = timedOut
          ? `no answer within ${Math.round((opts.timeoutMs ?? defaultTimeout) / 100) / 10}s`
          : err instanceof Error
            ? err.message.replace(/^\[[A-Z]+\] "[^"]*": /, "")
            : String(err);
        throw new UnavailableError(`server unreachable at ${base}: ${why}`, url);
      }
      const text = res._data ?? "";
      let data: unknown;
      if (text) {
        try {
          data = JSON.parse(text);
        } catch {
          data = text;
        }
      }
      const said = (key: "error" | "message") => (data && typeof data === "object" && key in data ? String((data as Record<string, unknown>)[key] || "") : "");
      if (res.status >= 500) {
        // 502-504 are proxies telling us the server is down; other 5xx are server bugs, still not our input.
        throw new UnavailableError(`server error from ${method} ${url}: ${said("message") || `HTTP ${res.status}`}`, url);
      }
      if (res.status >= 400) {
        const msg = said("message") || (typeof data === "string" && data ? data.slice(0, 300) : `HTTP ${res.status}`);
        throw new ApiError(res.status, said("error") || `http_${res.status}`, `${method} ${path}: ${res.status} ${msg}`, url);
      }
      return { status: res.status, data, headers: res.headers };
    },
  };
}

/**
 * The answer of `method path` checked against its protocol schema. A body that does not fit
 * is a ProtocolError naming the route and the fields: "server answered GET
 * /v1/opencode/tasks/ab12 with an unexpected body: status: missing (expected one of ...)".
 */
export function answer<S extends z.ZodType>(schema: S, method: Method, path: string, data: unknown, base = "", ctx?: { jitless: true }): z.output<S> {
  const r = schema.safeParse(data, ctx);
  if (r.success) return r.data;
  if (data === undefined) throw new ProtocolError(`server answered ${method} ${path} with an empty body, expected JSON`, base + path);
  const problems = r.error.issues.slice(0, 5).map((i) => `${i.path.map(String).join(".") || "body"}: ${problem(i, valueAt(data, i.path))}`);
  if (r.error.issues.length > 5) problems.push(`and ${r.error.issues.length - 5} more`);
  throw new ProtocolError(`server answered ${method} ${path} with an unexpected body: ${problems.join("; ")}`, base + path);
}

function valueAt(data: unknown, path: PropertyKey[]): unknown {
  let v = data;
  for (const k of path) v = v && typeof v === "object" ? (v as Record<PropertyKey, unknown>)[k] : undefined;
  return v;
}

/** zod's words, with what actually came: "missing (expected string)", "expected number, got string \"3\"". */
function problem(i: z.core.$ZodIssue, got: unknown): string {
  const expected = i.code === "invalid_type" ? i.expected : i.code === "invalid_value" ? `one of ${i.values.map((v) => JSON.stringify(v)).join(", ")}` : null;
  if (!expected) return i.message;
  if (got === undefined) return `missing (expected ${expected})`;
  const shown =
    typeof got === "string"
      ? `string ${JSON.stringify(got.length > 60 ? `${got.slice(0, 60)}...` : got)}`
      : got === null
        ? "null"
        : Array.isArray(got)
          ? "an array"
          : typeof got;
  return `expected ${expected}, got ${shown}`;
}
