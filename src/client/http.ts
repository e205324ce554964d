// The transport under the typed API: ofetch with the auth header, a deadline on every
// call, and errors sorted into "the server said no" (ApiError) and "no server"
// (UnavailableError). They are plain errors: what they mean for an exit code is the
// CLI's business (src/commands/_main.ts), not the transport's.
import { ofetch, type $Fetch } from "ofetch";

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

export interface HttpOptions {
  serverUrl: string;
  token?: string | null;
  workerId?: string | null;
  /** Deadline of a call that names none (default 30 s). */
  timeoutMs?: number;
}

export const DEFAULT_TIMEOUT_MS = 30_000;

export interface Http {
  base: string;
  headers: Record<string, string>;
  request<T>(method: string, path: string, opts?: { body?: unknown; query?: Record<string, unknown>; headers?: Record<string, string>; timeoutMs?: number }): Promise<{ status: number; data: T; headers: Headers }>;
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
    async request<T>(method: string, path: string, opts: { body?: unknown; query?: Record<string, unknown>; headers?: Record<string, string>; timeoutMs?: number } = {}) {
      const url = base + path;
      let res;
      try {
        res = await f.raw(path, {
          method: method as any,
          body: opts.body as any,
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
          : err instanceof Error ? err.message.replace(/^\[[A-Z]+\] "[^"]*": /, "") : String(err);
        throw new UnavailableError(`server unreachable at ${base}: ${why}`, url);
      }
      const text = (res._data as string | undefined) ?? "";
      let data: any = undefined;
      if (text) {
        try {
          data = JSON.parse(text);
        } catch {
          data = text;
        }
      }
      if (res.status >= 500) {
        // 502-504 are proxies telling us the server is down; other 5xx are server bugs, still not our input.
        const msg = typeof data === "object" && data?.message ? data.message : `HTTP ${res.status}`;
        throw new UnavailableError(`server error from ${method} ${url}: ${msg}`, url);
      }
      if (res.status >= 400) {
        const code = typeof data === "object" && data?.error ? String(data.error) : `http_${res.status}`;
        const msg = typeof data === "object" && data?.message ? String(data.message) : typeof data === "string" && data ? data.slice(0, 300) : `HTTP ${res.status}`;
        throw new ApiError(res.status, code, `${method} ${path}: ${res.status} ${msg}`, url);
      }
      return { status: res.status, data: data as T, headers: res.headers };
    },
  };
}
