import { defineCommand } from "../_command.ts";

export default defineCommand({
  meta: { name: "worker", description: "Run and inspect the worker that executes tasks on this machine" },
  subCommands: {
    start: () => import("./start.ts").then((m) => m.default),
    status: () => import("./status.ts").then((m) => m.default),
  },
});
