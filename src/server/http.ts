// Request/response plumbing shared by all routes: the error type every 4xx comes from,
// size-capped JSON body reading, and zod validation that names the offending field.
import type { z } from "zod";
import type { ErrorBody } from "../protocol/index.ts";
import { errorMessage } from "../util/errors.ts";

export interface FieldProblem {
  field: string;
  message: string;
}

/** A refusal the client caused; rendered as `{"error","message","details"?}`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: FieldProblem[],
  ) {
    super(message);
  }
}

export const badRequest = (field: string, message: string, code = "invalid_request") => new HttpError(400, code, `${field}: ${message}`, [{ field, message }]);
export const notFound = (what: string, id: string, field?: string) =>
  new HttpError(404, "not_found", `${what} ${id} not found`, field ? [{ field, message: `unknown ${what} ${id}` }] : undefined);

export function json(body: unknown, status = 200, headers?: Record<string, string>): Response {
  return Response.json(body, { status, headers });
}

export function errorResponse(e: HttpError): Response {
  const body: ErrorBody = { error: e.code, message: e.message };
  if (e.details?.length) body.details = e.details;
  return json(body, e.status);
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Reads the body as JSON, refusing more than `maxBytes` (413) before buffering it.
 * Empty body -> undefined. Strings are made storable in both databases: NUL and lone
 * surrogates (PostgreSQL text/jsonb reject them) become U+FFFD instead of a 500 later.
 */
export async function readJson(req: Request, maxBytes: number): Promise<unknown> {
  const declared = Number(req.headers.get("content-length") ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge(maxBytes);
  let body: Uint8Array;
  try {
    // A declared length (the usual case) is within the cap: Bun buffers it natively. Only a
    // chunked body is read as a stream, to stop at the cap (req.body builds a ReadableStream).
    body = Number.isFinite(declared) ? new Uint8Array(await req.arrayBuffer()) : await readCapped(req, maxBytes);
  } catch (err) {
    if (err instanceof HttpError) throw err;
    // The client went away (or broke the framing) mid-body: its fault, not a server error.
    throw badRequest("body", `incomplete request body (${errorMessage(err)})`, "incomplete_body");
  }
  if (body.byteLength === 0) return undefined;
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw badRequest("body", "not valid UTF-8", "invalid_json");
  }
  if (!text.trim()) return undefined;
  if (nestingDepth(text) > MAX_DEPTH) throw badRequest("body", `JSON nested deeper than ${MAX_DEPTH} levels`, "invalid_json");
  try {
    // Only escapes (\u0000, \ud800) can smuggle such characters in; skip the reviver otherwise.
    return text.includes("\\u") ? JSON.parse(text, sanitize) : JSON.parse(text);
  } catch (err) {
    throw badRequest("body", `not valid JSON (${errorMessage(err)})`, "invalid_json");
  }
}

async function readCapped(req: Request, maxBytes: number): Promise<Uint8Array> {
  if (!req.body) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of req.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > maxBytes) throw tooLarge(maxBytes);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Deeper JSON parses, but validating and storing it recurses once per level: a stack overflow (500). */
const MAX_DEPTH = 128;

/** The deepest [ / { nesting of JSON text (brackets inside strings do not count). */
function nestingDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92)
        i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 91 || c === 123) max = Math.max(max, ++depth);
    else if (c === 93 || c === 125) depth--;
  }
  return max;
}

function tooLarge(max: number): HttpError {
  return new HttpError(413, "payload_too_large", `request body is larger than ${max} bytes`, [{ field: "body", message: `at most ${max} bytes` }]);
}

const clean = (s: string) => (s.includes("\0") || !s.isWellFormed() ? s.toWellFormed().replaceAll("\0", "\uFFFD") : s);

function sanitize(_key: string, v: unknown): unknown {
  if (typeof v === "string") return clean(v);
  if (v && typeof v === "object" && !Array.isArray(v) && Object.keys(v).some((k) => clean(k) !== k)) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [clean(k), x]));
  }
  return v;
}

/** Validates `value` against `schema`; a failure is a 400 naming each bad field (`where` prefixes query/header fields). */
export function parse<S extends z.ZodType>(schema: S, value: unknown, where: "body" | "query" | "header" = "body"): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const details = r.error.issues.slice(0, 20).map((i) => {
    const path = i.path.map(String).join(".");
    return { field: where === "body" ? path || "body" : `${where}.${path}`, message: i.message };
  });
  const summary = details.map((d) => `${d.field}: ${d.message}`).join("; ");
  throw new HttpError(400, "invalid_request", summary, details);
}

/** Body for routes that take a JSON object: absent -> {}, anything but an object -> 400. */
export async function readObject(req: Request, maxBytes: number): Promise<Record<string, unknown>> {
  const v = await readJson(req, maxBytes);
  if (v === undefined) return {};
  if (!v || typeof v !== "object" || Array.isArray(v)) throw badRequest("body", "expected a JSON object");
  return v as Record<string, unknown>;
}

/** Query parameters as an object; empty values (`?status=`) count as absent. */
export function queryObject(url: URL): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of url.searchParams) if (v !== "") out[k] = v;
  return out;
}
