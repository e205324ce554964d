// The command tree of `codetether`: the groups and top-level commands, each loaded on first
// use (string-literal imports, so `bun build --compile` bundles them). The groups' modules
// are small; the leaf commands here carry their summaries (lazy()) so that `--help` loads
// none of them.
import { version } from "../../package.json";
import { defineCommand, lazy } from "./_command.ts";

export const root = defineCommand({
  meta: {
    name: "codetether",
    version,
    description: "Run AI coding-agent (OpenCode) tasks on a fleet of machines",
  },
  subCommands: {
    up: lazy("Start the server (embedded SQLite) and a worker on this machine in one foreground process", () => import("./up.ts")),
    server: () => import("./server/index.ts").then((m) => m.default),
    worker: () => import("./worker/index.ts").then((m) => m.default),
    config: () => import("./config/index.ts").then((m) => m.default),
    codebase: () => import("./codebase/index.ts").then((m) => m.default),
    task: () => import("./task/index.ts").then((m) => m.default),
    sessions: () => import("./sessions/index.ts").then((m) => m.default),
    webhook: () => import("./webhook/index.ts").then((m) => m.default),
    models: lazy("List the models the fleet's workers can run (what each worker's OpenCode lists) and which workers have each", () => import("./models.ts")),
    doctor: lazy(
      "Check this machine: config, server reachable and token accepted, OpenCode installed with a provider, codebase paths",
      () => import("./doctor.ts"),
    ),
  },
});
