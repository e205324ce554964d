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

const resolve = async <T>(v: T | Promise<T> | (() => T | Promise<T>)): Promise<T> => (typeof v === "function" ? (v as () => T)() : v);

/** The same command, but its subcommands listed by the first line of their description
 * (the rest holds examples, shown on the subcommand's own help). */
function summarized(cmd: CommandDef<any>): CommandDef<any> {
  if (!cmd.subCommands) return cmd;
  return {
    ...cmd,
    subCommands: async () => {
      const subs = (await resolve(cmd.subCommands)) ?? {};
      return Object.fromEntries(
        Object.entries(subs).map(([name, loader]) => [
          name,
          async () => {
            const c = await resolve(loader as CommandDef<any>);
            const meta = (await resolve(c.meta)) ?? {};
            return { ...c, meta: { ...meta, description: meta.description?.split("\n")[0] } };
          },
        ]),
      );
    },
  };
}

async function printUsage(cmd: CommandDef<any>, rawArgs: string[], to: "out" | "err" = "out") {
  const [sub, parent] = await resolveSub(cmd, rawArgs);
  let text = await renderUsage(summarized(sub), parent);
  const stream = to === "out" ? process.stdout : process.stderr;
  if (!stream.isTTY || process.env.NO_COLOR) text = text.replace(/\x1b\[[0-9;]*m/g, "");
  stream.write(text.replace(/[ \t]+$/gm, "") + "\n");
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
