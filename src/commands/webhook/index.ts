import { defineCommand } from "../_command.ts";

export default defineCommand({
  meta: { name: "webhook", description: "Check the server's webhook receivers" },
  subCommands: {
    test: () => import("./test.ts").then((m) => m.default),
  },
});
