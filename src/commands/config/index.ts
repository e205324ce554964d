import { defineCommand } from "../_command.ts";

export default defineCommand({
  meta: { name: "config", description: "Inspect the configuration every command resolves (file -> env -> flags)" },
  subCommands: {
    show: () => import("./show.ts").then((m) => m.default),
  },
});
