// What the web dashboard (src/web/) needs beyond the worker protocol: whether to ask for a
// token and whether to warn that the server is open to the network (public, like /health:
// the page must know before it has a token), and the queue per codebase for Fleet.
import { json } from "../http.ts";
import type { Req, RouteDef } from "../router.ts";

/** Routes that answer without a token. */
export const PUBLIC_PATHS = new Set(["/health", "/v1/dashboard/info"]);

/** A bind address only this machine can reach. */
export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function info({ ctx }: Req) {
  return json({ version: ctx.version, auth: ctx.auth.enabled, exposed: !isLoopback(ctx.listenHost) });
}

/** Pending tasks per codebase with the oldest one's age, named, busiest first. */
async function queue({ ctx }: Req) {
  const [depths, codebases] = await Promise.all([ctx.store.queueDepths(), ctx.store.listCodebases()]);
  const byId = new Map(codebases.map((c) => [c.id, c]));
  const rows = depths.map((d) => {
    const cb = byId.get(d.route);
    return { codebase_id: d.route, name: cb?.name ?? d.route, worker_id: cb?.worker_id ?? null, pending: d.pending, oldest_pending_at: d.oldest_created_at };
  });
  rows.sort((a, b) => b.pending - a.pending || a.oldest_pending_at.localeCompare(b.oldest_pending_at));
  return json({ codebases: rows });
}

export const dashboardRoutes: RouteDef[] = [
  { method: "GET", path: "/v1/dashboard/info", handler: info },
  { method: "GET", path: "/v1/monitor/queue", handler: queue },
];
