#!/usr/bin/env bun
// Entry point of the `codetether` binary. Subcommands load lazily (string-literal
// imports, so `bun build --compile` bundles them) to keep `--help` and `--version` fast.
import { defineCommand } from "./commands/_command.ts";
import { version } from "../package.json";
import { runCli } from "./commands/_main.ts";

const main = defineCommand({
  meta: {
    name: "codetether",
    version,
    description: "Run AI coding-agent (OpenCode) tasks on a fleet of machines",
  },
  subCommands: {
    up: () => import("./commands/up.ts").then((m) => m.default),
    server: () => import("./commands/server/index.ts").then((m) => m.default),
    worker: () => import("./commands/worker/index.ts").then((m) => m.default),
    config: () => import("./commands/config/index.ts").then((m) => m.default),
    codebase: () => import("./commands/codebase/index.ts").then((m) => m.default),
    task: () => import("./commands/task/index.ts").then((m) => m.default),
    sessions: () => import("./commands/sessions/index.ts").then((m) => m.default),
    webhook: () => import("./commands/webhook/index.ts").then((m) => m.default),
    models: () => import("./commands/models.ts").then((m) => m.default),
    doctor: () => import("./commands/doctor.ts").then((m) => m.default),
  },
});

await runCli(main, process.argv.slice(2));
