// Every route the server serves, one list per area; test/unit/routes.test.ts holds it
// against the protocol's templates (src/protocol/routes.ts).
import type { RouteDef } from "../router.ts";
import { codebaseRoutes } from "./codebases.ts";
import { dashboardRoutes } from "./dashboard.ts";
import { declineRoutes } from "./decline.ts";
import { dispatchRoutes } from "./dispatch.ts";
import { metricsRoutes } from "./metrics.ts";
import { outputRoutes } from "./output.ts";
import { retryRoutes } from "./retry.ts";
import { sessionRoutes } from "./sessions.ts";
import { taskRoutes } from "./tasks.ts";
import { workerRoutes } from "./workers.ts";

export const allRoutes: RouteDef[] = [
  ...workerRoutes,
  ...codebaseRoutes,
  ...taskRoutes,
  ...retryRoutes,
  ...outputRoutes,
  ...dispatchRoutes,
  ...declineRoutes,
  ...sessionRoutes,
  ...dashboardRoutes,
  ...metricsRoutes,
];
