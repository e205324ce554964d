import { defineCommand } from "../_command.ts";

export default defineCommand({
  meta: { name: "task", description: "Submit, follow, inspect, cancel and retry tasks" },
  subCommands: {
    create: () => import("./create.ts").then((m) => m.default),
    list: () => import("./list.ts").then((m) => m.default),
    show: () => import("./show.ts").then((m) => m.default),
    logs: () => import("./logs.ts").then((m) => m.default),
    cancel: () => import("./cancel.ts").then((m) => m.default),
    retry: () => import("./retry.ts").then((m) => m.default),
  },
});
