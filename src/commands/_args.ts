// Our own argv parser under citty's command definitions. citty 0.2 accepts any flag
// (`--agnet echo` ran the default agent), keeps only the last of a repeated flag, reads
// `--sync-sessions=0` as true and lets `--poll-interval 0` look like a missing value.
// Here an unknown flag or a stray argument is a usage error (exit 2) with a suggestion,
// a repeatable flag collects every value, and a string flag always takes the next token.
import { CliError, EXIT } from "../util/errors.ts";
import { closest } from "../util/suggest.ts";

/** citty's ArgDef plus `multiple`: a repeatable string flag whose values are collected. */
export interface ArgSpec {
  type?: "string" | "boolean" | "positional" | "enum" | "number";
  description?: string;
  valueHint?: string;
  alias?: string | string[];
  required?: boolean;
  default?: unknown;
  negativeDescription?: string;
  /** A string flag: repeatable; a positional (the last one): takes every remaining argument. */
  multiple?: boolean;
  /** A string flag that also takes `--no-<name>` (parsed as false), like `--no-config`. */
  negatable?: boolean;
}
export type ArgSpecs = Record<string, ArgSpec>;

export interface Parsed {
  /** By arg name as defined: strings, booleans, string[] for `multiple`, positionals by name. */
  args: Record<string, unknown>;
  /** Positional values in order (also under their names in `args`). */
  positionals: string[];
}

const BOOL_TEXT: Record<string, boolean> = { true: true, false: false, "1": true, "0": false, yes: true, no: false, on: true, off: false };

/** "targetWorker" and "target-worker" name the same flag. */
const kebab = (s: string) => s.replace(/([a-z0-9])([A-Z])/g, "$1-$2").toLowerCase();

interface FlagIndex {
  byName: Map<string, string>; // spelling (kebab, alias) -> arg name
  positional: string[];
}

function indexFlags(specs: ArgSpecs): FlagIndex {
  const byName = new Map<string, string>();
  const positional: string[] = [];
  for (const [name, spec] of Object.entries(specs)) {
    if (spec.type === "positional") {
      positional.push(name);
      continue;
    }
    byName.set(kebab(name), name);
    for (const a of ([] as string[]).concat(spec.alias ?? [])) byName.set(kebab(a), name);
  }
  return { byName, positional };
}

/** Every spelling a user may type for the command's flags, for suggestions and tests. */
export function flagSpellings(specs: ArgSpecs): string[] {
  const out: string[] = [];
  for (const [name, spec] of Object.entries(specs)) {
    if (spec.type === "positional") continue;
    out.push(`--${kebab(name)}`);
    if (spec.type === "boolean") out.push(`--no-${kebab(name)}`);
    for (const a of ([] as string[]).concat(spec.alias ?? [])) out.push(a.length === 1 ? `-${a}` : `--${kebab(a)}`);
  }
  return out;
}

export interface ParseContext {
  /** "codetether task create", for messages. */
  command: string;
  /** Why a flag this command lacks exists elsewhere, e.g. "--port is a server setting". */
  elsewhere?: (flag: string) => string | undefined;
}

export function parseArgv(specs: ArgSpecs, argv: string[], ctx: ParseContext): Parsed {
  const idx = indexFlags(specs);
  const args: Record<string, unknown> = {};
  const positionals: string[] = [];
  const usage = (msg: string) => new CliError(`${msg} (see: ${ctx.command} --help)`, EXIT.USAGE);

  for (let i = 0; i < argv.length; i++) {
    const tok = argv[i]!;
    if (tok === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!tok.startsWith("-") || tok === "-" || /^-\d/.test(tok)) {
      positionals.push(tok);
      continue;
    }
    const eq = tok.indexOf("=");
    const spelled = eq < 0 ? tok : tok.slice(0, eq);
    const inline = eq < 0 ? undefined : tok.slice(eq + 1);
    const bare = spelled.replace(/^--?/, "");
    let name = idx.byName.get(kebab(bare));
    let negated = false;
    if (!name && bare.startsWith("no-")) {
      const base = idx.byName.get(kebab(bare.slice(3)));
      if (base && (specs[base]!.type === "boolean" || specs[base]!.negatable)) [name, negated] = [base, true];
    }
    if (!name) throw unknownFlag(spelled, specs, ctx, usage);
    const spec = specs[name]!;
    if (negated) {
      if (inline !== undefined) throw usage(`${spelled} takes no value`);
      args[name] = false;
      continue;
    }
    if (spec.type === "boolean") {
      if (inline === undefined) args[name] = true;
      else {
        const b = BOOL_TEXT[inline.toLowerCase()];
        if (b === undefined) throw usage(`${spelled}: expected true or false, got '${inline}'`);
        args[name] = b;
      }
      continue;
    }
    // A string flag takes the next token whatever it is (`--priority -5`, `--poll-interval 0`).
    let value = inline;
    if (value === undefined) {
      if (i + 1 >= argv.length) throw usage(`${spelled} needs a value${spec.valueHint ? ` (${spec.valueHint})` : ""}`);
      value = argv[++i]!;
    }
    if (spec.multiple) args[name] = [...((args[name] as string[] | undefined) ?? []), value];
    else args[name] = value;
  }

  const last = idx.positional.at(-1);
  const variadic = last !== undefined && specs[last]!.multiple === true;
  if (!variadic && positionals.length > idx.positional.length) {
    const extra = positionals[idx.positional.length]!;
    const takes = idx.positional.length ? `takes ${idx.positional.map((p) => p.toUpperCase()).join(" ")}` : "takes no arguments";
    throw usage(`unexpected argument '${extra}': ${ctx.command} ${takes}`);
  }
  idx.positional.forEach((p, i) => {
    if (variadic && p === last) {
      if (positionals.length > i) args[p] = positionals.slice(i);
    } else if (positionals[i] !== undefined) args[p] = positionals[i];
  });
  for (const [name, spec] of Object.entries(specs)) {
    if (!spec.required || args[name] !== undefined) continue;
    throw usage(spec.type === "positional" ? `missing ${name.toUpperCase()}` : `missing --${kebab(name)}${spec.valueHint ? ` <${spec.valueHint}>` : ""}`);
  }
  return { args, positionals };
}

function unknownFlag(spelled: string, specs: ArgSpecs, ctx: ParseContext, usage: (m: string) => CliError): CliError {
  const known = flagSpellings(specs)
    .filter((f) => f.startsWith("--") && !f.startsWith("--no-"))
    .map((f) => f.slice(2));
  const guess = closest(kebab(spelled.replace(/^-+/, "")), known);
  if (guess) return new CliError(`unknown flag ${spelled} (did you mean --${guess}?)`, EXIT.USAGE);
  const other = ctx.elsewhere?.(spelled);
  return usage(`unknown flag ${spelled}${other ? `: ${other}` : ""}`);
}
