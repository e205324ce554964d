import { defineCommand } from "../_command.ts";

export default defineCommand({
  meta: { name: "sessions", description: "OpenCode session history: sync this machine's sessions to the server, read what the server holds" },
  subCommands: {
    sync: () => import("./sync.ts").then((m) => m.default),
    list: () => import("./list.ts").then((m) => m.default),
    show: () => import("./show.ts").then((m) => m.default),
    resume: () => import("./resume.ts").then((m) => m.default),
  },
});
