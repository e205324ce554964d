import { defineCommand } from "../_command.ts";

export default defineCommand({
  meta: { name: "server", description: "Run the CodeTether server (control plane): workers, codebases, tasks, session history" },
  subCommands: {
    start: () => import("./start.ts").then((m) => m.default),
    prune: () => import("./prune.ts").then((m) => m.default),
  },
});
