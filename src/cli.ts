#!/usr/bin/env bun
// Entry point of the `codetether` binary: the command tree (commands/_root.ts) run by our
// own runner (commands/_main.ts), which loads only the commands a line names.
import { runCli } from "./commands/_main.ts";
import { root } from "./commands/_root.ts";

await runCli(root, process.argv.slice(2));
