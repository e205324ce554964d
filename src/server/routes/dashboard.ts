// What the web dashboard (src/web/) needs beyond the worker protocol: whether to ask for a
// token and whether to warn that the server is open to the network (public, like /health:
// the page must know before it has a token), and the queue per codebase for Fleet.
import { ROUTES } from "../../protocol/index.ts";
import { json } from "../http.ts";
import type { Req, RouteDef } from "../router.ts";
import type { TaskTimes } from "../store/types.ts";

/** Routes that answer without a token. */
export const PUBLIC_PATHS = new Set<string>([ROUTES.health, ROUTES.dashboardInfo]);

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
  const byId = new Map(codebases.rows.map((c) => [c.id, c]));
  const rows = depths.map((d) => {
    const cb = byId.get(d.route);
    return { codebase_id: d.route, name: cb?.name ?? d.route, worker_id: cb?.worker_id ?? null, pending: d.pending, oldest_pending_at: d.oldest_created_at };
  });
  rows.sort((a, b) => b.pending - a.pending || a.oldest_pending_at.localeCompare(b.oldest_pending_at));
  return json({ codebases: rows });
}

const MINUTE = 60_000;
const WINDOW_MIN = 60;

export interface Activity {
  /** Start of each minute (ms since epoch), oldest first. */
  minutes: number[];
  completed: number[];
  failed: number[];
  cancelled: number[];
  /** Tasks waiting (created, not yet started or finished) at the end of each minute. */
  queued: number[];
}

/**
 * Per minute over the last `minutes`: tasks finished by final status, and the queue depth
 * at the minute's end, reconstructed from each task's created/started/completed times
 * (a task requeued after a lost lease counts as waiting only before its latest start).
 */
export function activity(tasks: TaskTimes[], now: number, minutes = WINDOW_MIN): Activity {
  const first = Math.floor(now / MINUTE) * MINUTE - (minutes - 1) * MINUTE;
  const out: Activity = { minutes: [], completed: [], failed: [], cancelled: [], queued: [] };
  for (let i = 0; i < minutes; i++) {
    out.minutes.push(first + i * MINUTE);
    for (const series of [out.completed, out.failed, out.cancelled, out.queued]) series.push(0);
  }
  // The end of minute k is first + (k+1) min (the last one: now); a task waits at minute k's
  // end when created <= end < started. Counted with +1/-1 marks and one running sum.
  const endIndex = (x: number) => (x > now ? minutes : Math.min(minutes - 1, Math.max(0, Math.ceil((x - first) / MINUTE) - 1)));
  const marks = new Array<number>(minutes + 1).fill(0);
  for (const t of tasks) {
    const done = t.completed_at ? Date.parse(t.completed_at) : Infinity;
    const i = Math.floor((done - first) / MINUTE);
    if (i >= 0 && i < minutes && (t.status === "completed" || t.status === "failed" || t.status === "cancelled")) out[t.status][i]!++;
    const until = Math.min(t.started_at ? Date.parse(t.started_at) : Infinity, done);
    marks[endIndex(Date.parse(t.created_at))]!++;
    marks[endIndex(until)]!--;
  }
  for (let k = 0, n = 0; k < minutes; k++) out.queued[k] = n += marks[k]!;
  return out;
}

async function activityRoute({ ctx }: Req) {
  const now = Date.now();
  const since = new Date(Math.floor(now / MINUTE) * MINUTE - (WINDOW_MIN - 1) * MINUTE).toISOString();
  return json(activity(await ctx.store.activitySince(since), now));
}

export const dashboardRoutes: RouteDef[] = [
  { method: "GET", path: ROUTES.monitorActivity, handler: activityRoute },
  { method: "GET", path: ROUTES.dashboardInfo, handler: info },
  { method: "GET", path: ROUTES.monitorQueue, handler: queue },
];
