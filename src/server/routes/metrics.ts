// GET /metrics: Prometheus text format (see ../metrics.ts for what is measured).
import { ROUTES } from "../../protocol/index.ts";
import type { Req, RouteDef } from "../router.ts";

async function metrics({ ctx }: Req) {
  const { body, contentType } = await ctx.metrics.render();
  return new Response(body, { headers: { "content-type": contentType } });
}

export const metricsRoutes: RouteDef[] = [{ method: "GET", path: ROUTES.metrics, handler: metrics }];
