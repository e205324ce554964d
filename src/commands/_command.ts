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

export interface Command<A extends ArgSpecs = ArgSpecs> {
  meta: CommandMeta;
  args?: A;
  subCommands?: Record<string, () => Promise<Command<any>>>;
  run?: (ctx: { args: ParsedArgs<A> }) => unknown;
}

export const defineCommand = <A extends ArgSpecs>(c: Command<A>): Command<A> => c;
