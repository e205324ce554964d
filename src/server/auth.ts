// Bearer-token auth and worker identity.
//
// `auth_tokens` entries are `name:token` or bare `token` (the token is what follows the
// last ':'). No tokens configured: auth is off. Otherwise every route but GET /health
// needs `Authorization: Bearer <token>` (missing 401, unknown 403).
//
// Binding of named tokens: a bare token is an operator token and may act as any worker.
// A `name:token` may do everything an operator does (create/cancel/list tasks, ...), but
// the worker ids it acts as belong to it: the first registration of a worker id through
// a named token records that name as the worker's owner, and from then on only a token
// with that name (or a bare token) may act as that worker — register it, heartbeat,
// claim, report, stream, sync sessions. One shared `workers:<token>` therefore serves a
// fleet, while `worker1:<a>` and `worker2:<b>` cannot impersonate each other.
// Tokens are compared by SHA-256 digest and never logged or echoed.
//
// `metrics_tokens` (same form) may read GET /metrics and nothing else: what a Prometheus
// scraper needs, without the power to create or cancel tasks. With only metrics tokens
// configured, /metrics needs one and the API stays open, as without tokens.
import { createHash } from "node:crypto";
import { Id, ROUTES } from "../protocol/index.ts";
import { badRequest, HttpError } from "./http.ts";
import type { Store } from "./store/types.ts";

export interface Principal {
  /** Token name of a `name:token`; null for a bare token or when auth is off. */
  name: string | null;
}

export interface Auth {
  enabled: boolean;
  /** `route`: the matched template (null: none), so a metrics-only token can be held to /metrics. */
  authenticate(req: Request, route?: string | null): Principal;
  /** Refuses (403) when a named token acts as a worker owned by another name. */
  authorizeWorker(p: Principal, workerId: string): Promise<void>;
  /** Remembers the owner written at registration. */
  noteOwner(workerId: string, owner: string | null): void;
}

const digest = (s: string) => createHash("sha256").update(s).digest("hex");

export function parseTokens(entries: string[]): Map<string, string | null> {
  const out = new Map<string, string | null>();
  for (const raw of entries) {
    const e = raw.trim();
    if (!e) continue;
    const i = e.lastIndexOf(":");
    const name = i > 0 ? e.slice(0, i) : null;
    const token = i >= 0 ? e.slice(i + 1) : e;
    if (token) out.set(digest(token), name);
  }
  return out;
}

export function createAuth(entries: string[], store: Store, metricsEntries: string[] = []): Auth {
  const tokens = parseTokens(entries);
  const metricsOnly = parseTokens(metricsEntries);
  // Owners never change once set, so a cached owner stays true across replicas.
  const owners = new Map<string, string>();
  return {
    enabled: tokens.size > 0,
    authenticate(req, route = null) {
      const forMetrics = route === ROUTES.metrics;
      if (!tokens.size && !(forMetrics && metricsOnly.size)) return { name: null };
      const refuse = (status: number, code: string, message: string) =>
        new HttpError(status, code, `Authorization: ${message}`, [{ field: "Authorization", message }]);
      const h = req.headers.get("authorization");
      if (!h) throw refuse(401, "unauthorized", "missing; send 'Authorization: Bearer <token>'");
      const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
      if (!m) throw refuse(401, "unauthorized", "must be 'Bearer <token>'");
      const d = digest(m[1]!);
      const name = tokens.get(d);
      if (name !== undefined) return { name };
      const scraper = metricsOnly.get(d);
      if (scraper !== undefined) {
        if (forMetrics) return { name: scraper };
        throw refuse(403, "forbidden", `token${scraper ? ` '${scraper}'` : ""} is a metrics token: it may read ${ROUTES.metrics} only`);
      }
      throw refuse(403, "forbidden", "token not accepted by this server");
    },
    async authorizeWorker(p, workerId) {
      if (p.name === null) return;
      let owner = owners.get(workerId);
      if (owner === undefined) {
        owner = (await store.getWorker(workerId))?.owner ?? undefined;
        if (owner) owners.set(workerId, owner);
      }
      if (owner && owner !== p.name) {
        throw new HttpError(403, "forbidden", `token '${p.name}' may not act as worker ${workerId} (registered with token '${owner}')`, [
          { field: "worker_id", message: `owned by token '${owner}'` },
        ]);
      }
    },
    noteOwner(workerId, owner) {
      if (owner) owners.set(workerId, owner);
    },
  };
}

/**
 * The worker a request speaks for: X-Worker-ID header, `worker_id` in the body or the
 * query (they must agree). Returns null when none is given. Also checks the token binding.
 */
export async function workerIdentity(auth: Auth, p: Principal, req: Request, url: URL, bodyId?: string | null): Promise<string | null> {
  const header = req.headers.get("x-worker-id");
  const query = url.searchParams.get("worker_id");
  if (header !== null && header !== "" && !Id.safeParse(header).success)
    throw badRequest("X-Worker-ID", "only letters, digits and . _ : @ - (1-200 characters)");
  if (query !== null && query !== "" && !Id.safeParse(query).success)
    throw badRequest("query.worker_id", "only letters, digits and . _ : @ - (1-200 characters)");
  const given = [...new Set([header, bodyId, query].filter((v): v is string => !!v))];
  if (given.length > 1) throw badRequest("worker_id", `X-Worker-ID, body and query name different workers (${given.join(", ")})`);
  const id = given[0] ?? null;
  if (id) await auth.authorizeWorker(p, id);
  return id;
}
