// The shape of a command: citty's (meta, args, lazy subCommands, run), typed for our own
// parser (./_args.ts), which also knows repeatable and negatable flags. Commands stay
// plain objects; `defineCommand` only gives them their types.
import type { ArgSpec, ArgSpecs } from "./_args.ts";

export interface CommandMeta {
  name: string;
  /** First sentence: the summary in the parent's command list. Lines "Example: ..." become the Examples section. */
  description: string;
  version?: string;
}

type ValueOf<S extends ArgSpec> = S extends { type: "boolean" } ? boolean : S extends { multiple: true } ? string[] : string;

/** What `run` receives: each arg by its defined name; undefined when not given. */
export type ParsedArgs<A extends ArgSpecs> = { [K in keyof A]: ValueOf<A[K]> | undefined };

/** Loads a subcommand on first use. `summary` (see lazy()) lets the parent's --help list it without loading it. */
export type CommandLoader = (() => Promise<Command<any>>) & { summary?: string };

export interface Command<A extends ArgSpecs = ArgSpecs> {
  meta: CommandMeta;
  args?: A;
  subCommands?: Record<string, CommandLoader>;
  run?: (ctx: { args: ParsedArgs<A> }) => unknown;
}

export const defineCommand = <A extends ArgSpecs>(c: Command<A>): Command<A> => c;

/**
 * A subcommand whose summary (the first sentence of its description) is known without
 * loading it: for commands whose module pulls in the config resolver, the schemas or the
 * HTTP client, which the parent's --help does not need. A test checks each summary against
 * the loaded command's description.
 */
export function lazy(summary: string, load: () => Promise<{ default: Command<any> }>): CommandLoader {
  return Object.assign(() => load().then((m) => m.default), { summary });
}
