import { defineCommand } from "citty";

export default defineCommand({
  meta: { name: "codebase", description: "Register and list codebases (directories on workers that tasks run in)" },
  subCommands: {
    register: () => import("./register.ts").then((m) => m.default),
    list: () => import("./list.ts").then((m) => m.default),
  },
});
