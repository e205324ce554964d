#!/usr/bin/env bun
// `npm run build` -> dist/codetether: one self-contained executable (no node_modules needed).
// --minify and --bytecode measured fastest to start (see README "Benchmarks", P4).
import { $ } from "bun";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: { out: { type: "string", default: "dist/codetether" }, target: { type: "string" } },
});
const target = values.target ? ["--target", values.target] : [];
await $`bun build src/cli.ts --compile --minify --bytecode --splitting --format=esm --sourcemap=none ${target} --outfile ${values.out!}`;
console.log(`built ${values.out}`);
