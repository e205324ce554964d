import { defineCommand } from "../_command.ts";

export default defineCommand({
  meta: { name: "codebase", description: "Register and list codebases (directories on workers that tasks run in)" },
  subCommands: {
    register: () => import("./register.ts").then((m) => m.default),
    list: () => import("./list.ts").then((m) => m.default),
  },
});
