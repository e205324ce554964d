// A small method + path router: the protocol's route templates (src/protocol/routes.ts,
// like `/v1/opencode/tasks/:id/output`), params URL-decoded, `/v1/agent/...` served by the
// same handlers as `/v1/opencode/...`.
import type { Server } from "bun";
import { API, API_ALIAS, type Route } from "../protocol/routes.ts";
import type { Principal } from "./auth.ts";
import { badRequest } from "./http.ts";
import type { ServerContext } from "./context.ts";

export interface Req {
  req: Request;
  url: URL;
  params: Record<string, string>;
  principal: Principal;
  server: Server<unknown> | undefined;
  ctx: ServerContext;
}

export type Handler = (r: Req) => Response | Promise<Response>;

export interface RouteDef {
  method: "GET" | "POST" | "PUT" | "DELETE";
  /** A template of ROUTES: a path written anywhere else does not compile. */
  path: Route;
  handler: Handler;
}

interface Compiled extends RouteDef {
  parts: string[];
}

export type Match = { handler: Handler; params: Record<string, string>; route: Route } | { allowed: string[] } | null;

export function createRouter(defs: RouteDef[]) {
  const routes: Compiled[] = defs.map((d) => ({ ...d, parts: d.path.split("/").slice(1) }));

  function matchParts(r: Compiled, parts: string[]): Record<string, string> | null {
    if (r.parts.length !== parts.length) return null;
    const params: Record<string, string> = {};
    for (let i = 0; i < parts.length; i++) {
      const want = r.parts[i]!;
      if (want.startsWith(":")) {
        try {
          params[want.slice(1)] = decodeURIComponent(parts[i]!);
        } catch {
          throw badRequest(want.slice(1), "bad percent-encoding in the URL path");
        }
        // No id we hand out has control characters, and PostgreSQL cannot even compare a NUL.
        if (/[\u0000-\u001f\u007f]/.test(params[want.slice(1)]!)) throw badRequest(want.slice(1), "control characters in the URL path");
        if (!params[want.slice(1)]) return null;
      } else if (want !== parts[i]) return null;
    }
    return params;
  }

  return {
    match(method: string, pathname: string): Match {
      const path = pathname.startsWith(API_ALIAS + "/") ? API + pathname.slice(API_ALIAS.length) : pathname;
      const parts = path.replace(/\/+$/, "").split("/").slice(1);
      const allowed: string[] = [];
      for (const r of routes) {
        const params = matchParts(r, parts);
        if (!params) continue;
        if (r.method === method) return { handler: r.handler, params, route: r.path };
        allowed.push(r.method);
      }
      return allowed.length ? { allowed } : null;
    },
  };
}
