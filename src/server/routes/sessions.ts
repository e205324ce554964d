// OpenCode session history synced by workers: stored as sent (upsert by id), listed back.
import { MessagesSyncBody, ROUTES, SessionsSyncBody } from "../../protocol/index.ts";
import { workerIdentity } from "../auth.ts";
import { nowIso } from "../context.ts";
import { json, notFound, parse, readObject } from "../http.ts";
import { pageHeaders, requestedPage } from "../paging.ts";
import type { Req, RouteDef } from "../router.ts";

async function codebaseOr404(r: Req): Promise<string> {
  const id = r.params.id!;
  if (!(await r.ctx.store.getCodebase(id))) throw notFound("codebase", id);
  return id;
}

async function syncSessions(r: Req) {
  const b = parse(SessionsSyncBody, await readObject(r.req, r.ctx.maxBodyBytes));
  const workerId = await workerIdentity(r.ctx.auth, r.principal, r.req, r.url, b.worker_id);
  const cb = await codebaseOr404(r);
  const n = await r.ctx.store.upsertSessions(cb, workerId, b.sessions, nowIso());
  return json({ success: true, sessions_count: n });
}

async function syncMessages(r: Req) {
  const b = parse(MessagesSyncBody, await readObject(r.req, r.ctx.maxBodyBytes));
  const workerId = await workerIdentity(r.ctx.auth, r.principal, r.req, r.url, b.worker_id);
  const cb = await codebaseOr404(r);
  const n = await r.ctx.store.upsertMessages(cb, r.params.sid!, workerId, b.messages, nowIso());
  return json({ success: true, messages_count: n });
}

async function listSessions(r: Req) {
  const asked = requestedPage(r.url, "sessions");
  const page = await r.ctx.store.listSessions(await codebaseOr404(r), asked);
  return json(page.rows, 200, pageHeaders(r.url, "sessions", page.next));
}

async function getSession(r: Req) {
  const session = await r.ctx.store.getSession(r.params.sid!);
  if (!session) throw notFound("session", r.params.sid!);
  return json(session);
}

async function listMessages(r: Req) {
  const asked = requestedPage(r.url, "messages");
  const page = await r.ctx.store.listMessages(await codebaseOr404(r), r.params.sid!, asked);
  if (!page) throw notFound("session", r.params.sid!);
  return json(page.rows, 200, pageHeaders(r.url, "messages", page.next));
}

export const sessionRoutes: RouteDef[] = [
  { method: "POST", path: ROUTES.sessionsSync, handler: syncSessions },
  { method: "GET", path: ROUTES.sessions, handler: listSessions },
  { method: "GET", path: ROUTES.session, handler: getSession },
  { method: "POST", path: ROUTES.messagesSync, handler: syncMessages },
  { method: "GET", path: ROUTES.messages, handler: listMessages },
];
