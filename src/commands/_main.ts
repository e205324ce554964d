// Our own runMain: citty's exits 1 for everything; we need the documented exit codes
// (README "Exit codes") and one-line errors without stack traces.
import { type CommandDef, renderUsage, runCommand } from "citty";
import { consola } from "consola";
import { CliError, EXIT } from "../util/errors.ts";

async function resolveSub(cmd: CommandDef<any>, rawArgs: string[]): Promise<[CommandDef<any>, CommandDef<any> | undefined]> {
  let parent: CommandDef<any> | undefined;
  let current = cmd;
  const args = [...rawArgs];
  while (true) {
    const subs = typeof current.subCommands === "function" ? await current.subCommands() : await current.subCommands;
    if (!subs) break;
    const idx = args.findIndex((a) => !a.startsWith("-"));
    if (idx < 0) break;
    const loader = subs[args[idx]!];
    if (!loader) break;
    parent = current;
    current = await (typeof loader === "function" ? (loader as () => Promise<CommandDef<any>>)() : loader);
    args.splice(0, idx + 1);
  }
  return [current, parent];
}

async function printUsage(cmd: CommandDef<any>, rawArgs: string[], to: "out" | "err" = "out") {
  const [sub, parent] = await resolveSub(cmd, rawArgs);
  const text = await renderUsage(sub, parent);
  (to === "out" ? process.stdout : process.stderr).write(text + "\n");
}

export async function runCli(cmd: CommandDef<any>, rawArgs: string[]): Promise<void> {
  try {
    if (rawArgs.includes("--help") || rawArgs.includes("-h")) {
      await printUsage(cmd, rawArgs);
      process.exit(EXIT.OK);
    }
    if (rawArgs.length === 1 && (rawArgs[0] === "--version" || rawArgs[0] === "-v")) {
      const meta = typeof cmd.meta === "function" ? await cmd.meta() : await cmd.meta;
      process.stdout.write(`${meta?.version}\n`);
      process.exit(EXIT.OK);
    }
    if (rawArgs.length === 0) {
      await printUsage(cmd, rawArgs);
      process.exit(EXIT.OK);
    }
    await runCommand(cmd, { rawArgs });
  } catch (err) {
    if (err instanceof CliError) {
      consola.error(err.message);
      process.exit(err.exitCode);
    }
    // citty's own errors (unknown command, missing required arg) are usage errors.
    if (err instanceof Error && err.name === "CLIError") {
      await printUsage(cmd, rawArgs, "err");
      consola.error(err.message);
      process.exit(EXIT.USAGE);
    }
    consola.error(err instanceof Error ? (process.env.A2A_DEBUG ? err.stack : err.message) : String(err));
    process.exit(EXIT.FAILURE);
  }
}
