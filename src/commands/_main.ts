// Our own runMain over citty's command definitions: citty's exits 1 for everything,
// accepts unknown flags and prints help with colour codes into pipes. Here: the
// documented exit codes (README "Exit codes"), a usage error with a suggestion for an
// unknown command or flag, help wrapped to the terminal, and every error one line on
// stderr. Exit codes are mapped from error types here and nowhere else.
import { CliError, EXIT } from "../util/errors.ts";
import { closest } from "../util/suggest.ts";
import { parseArgv } from "./_args.ts";
import type { Command } from "./_command.ts";
import { renderHelp } from "./_help.ts";
import { errorLine, stdoutInfo } from "./_output.ts";

const wantsHelp = (argv: string[]) => {
  const end = argv.indexOf("--");
  return (end < 0 ? argv : argv.slice(0, end)).some((a) => a === "--help" || a === "-h");
};

/** Help and the version are written with Bun.write, not process.stdout: creating that
 * WriteStream loads node:stream, a sixth of `--version`'s start-up in the compiled binary.
 * A closed stdout (`--help | head -1`) is not an error here, as before. */
async function printAndExit(text: string): Promise<never> {
  await Bun.write(Bun.stdout, text).catch(() => undefined);
  process.exit(EXIT.OK);
}

async function printHelp(cmd: Command<any>, path: string[]): Promise<never> {
  return printAndExit(await renderHelp(cmd, path, stdoutInfo()));
}

/** Walks `task create ...` down to the command; unknown names are usage errors with a guess. */
async function findCommand(root: Command<any>, argv: string[]): Promise<{ cmd: Command<any>; path: string[]; rest: string[] }> {
  const path = [root.meta.name];
  let cmd = root;
  let rest = argv;
  for (;;) {
    const subs = cmd.subCommands;
    if (!subs) return { cmd, path, rest };
    const [first] = rest;
    if (first === undefined || wantsHelp(rest.slice(0, 1))) await printHelp(cmd, path);
    if (path.length === 1 && (first === "--version" || first === "-v") && rest.length === 1) {
      await printAndExit(`${root.meta.version}\n`);
    }
    const names = Object.keys(subs);
    if (first!.startsWith("-")) {
      throw new CliError(
        `'${path.join(" ")}' needs a command before options like ${first}: one of ${names.join(", ")} (see: ${path.join(" ")} --help)`,
        EXIT.USAGE,
      );
    }
    const loader = subs[first!];
    if (!loader) {
      const guess = closest(first!, names);
      throw new CliError(
        `unknown command '${first}'${guess ? ` (did you mean '${path.join(" ")} ${guess}'?)` : ""}; commands: ${names.join(", ")}`,
        EXIT.USAGE,
      );
    }
    cmd = await loader();
    path.push(first!);
    rest = rest.slice(1);
  }
}

/** The one place errors become exit codes (README "Exit codes"). Transport errors are
 * matched by name so that `--help` and `--version` never load the HTTP client. */
export function exitCodeFor(err: unknown): number {
  if (err instanceof CliError) return err.exitCode;
  if (err instanceof Error && err.name === "UnavailableError") return EXIT.UNAVAILABLE;
  return EXIT.FAILURE;
}

export async function runCli(root: Command<any>, rawArgs: string[]): Promise<void> {
  try {
    const { cmd, path, rest } = await findCommand(root, rawArgs);
    if (wantsHelp(rest)) await printHelp(cmd, path);
    const { flagElsewhere } = await import("./_shared.ts");
    const { args } = parseArgv(cmd.args ?? {}, rest, { command: path.join(" "), elsewhere: flagElsewhere });
    await cmd.run?.({ args: args as any });
  } catch (err) {
    const message = err instanceof Error ? (process.env.A2A_DEBUG && !(err instanceof CliError) ? (err.stack ?? err.message) : err.message) : String(err);
    const { adviceFor } = await import("./_api.ts");
    errorLine(message + adviceFor(err));
    process.exit(exitCodeFor(err));
  }
}
