// Arg bundles shared by commands. `configArgs` is derived from KEYS, so a new config key is
// a flag of every command that spreads it; `loadConfig(args)` turns the parsed flags into
// a resolved config (file -> env -> flags). Commands:
//   args: { ...configArgs, ...jsonArg },  run: ({ args }) => loadConfig(args)
import type { ArgDef, ArgsDef } from "citty";
import { consola } from "consola";
import { CONFIG_ENV, CONFIG_FLAG, type Resolved, resolveConfig, searchPaths } from "../config/resolve.ts";
import { KEY_NAMES, KEYS, type KeyDef } from "../config/schema.ts";

export const jsonArg = {
  json: { type: "boolean", description: "Print JSON with fixed keys (for scripts)" },
} as const satisfies ArgsDef;

const def = (k: (typeof KEY_NAMES)[number]) => KEYS[k] as KeyDef;
const REPEATABLE = new Set(["list", "paths", "codebases"]);

function valueHint(d: KeyDef): string | undefined {
  switch (d.kind) {
    case "url":
      return "url";
    case "number":
    case "int":
      return "n";
    case "list":
      return "a,b";
    case "paths":
      return "path";
    case "codebases":
      return "name:path";
    case "enum":
      return (d.schema as unknown as { options?: string[] }).options?.join("|");
  }
  return undefined;
}

/** Default as people read it: "5", "opencode,build,deploy", or the key's defaultText. */
export function defaultText(d: KeyDef): string | undefined {
  if (d.defaultText) return d.defaultText;
  if (typeof d.default === "function" || d.default === undefined) return undefined;
  if (Array.isArray(d.default)) return d.default.length ? d.default.join(",") : undefined;
  return String(d.default);
}

function buildConfigArgs(): ArgsDef {
  // No citty `default`s on purpose: citty would fill them in, and a filled-in flag would
  // beat the file and the environment. Defaults live in KEYS and are applied by the resolver.
  const args: Record<string, ArgDef> = {
    [CONFIG_FLAG]: {
      type: "string",
      valueHint: "file.json",
      description: `JSON config file [env ${CONFIG_ENV}] (default: first of ${searchPaths("~", ".").join(", ")}; --no-config: none)`,
    },
  };
  for (const k of KEY_NAMES) {
    const d = def(k);
    const dflt = defaultText(d);
    const notes = [`env ${d.env.join(", ")}`, REPEATABLE.has(d.kind) ? "repeatable" : ""].filter(Boolean).join("; ");
    const description = `${d.description} [${notes}]${dflt && !d.description.includes("default") ? ` (default: ${dflt})` : ""}`;
    if (d.kind === "bool") {
      args[d.flag] = {
        type: "boolean",
        description,
        // citty lists --no-<flag> only for flags with a default or a negativeDescription
        ...(d.default === true ? { negativeDescription: `Turn off: ${d.description[0]!.toLowerCase()}${d.description.slice(1)}` } : {}),
      };
    } else {
      args[d.flag] = { type: "string", description, valueHint: valueHint(d) };
    }
  }
  return args;
}

export const configArgs = buildConfigArgs();

/**
 * Resolves the config from citty's parsed args (only flags given on the command line count)
 * and prints the resolver's warnings. citty 0.2 keeps only the LAST of a repeated string
 * flag and reads `--sync-sessions=0` as true, so repeatable flags and `--flag=value`
 * booleans are read from the raw argv (pass citty's `rawArgs`; process.argv by default).
 */
export async function loadConfig(args: Record<string, unknown>, rawArgs: string[] = process.argv.slice(2)): Promise<Resolved> {
  const resolved = await resolveConfig({ flags: configFlags(args, rawArgs) });
  for (const w of resolved.warnings) consola.warn(w);
  return resolved;
}

/** citty args -> resolver flags, keyed by flag name, holding only flags the user gave. */
export function configFlags(args: Record<string, unknown>, rawArgs: string[] = []): Record<string, unknown> {
  const raw = scanRaw(rawArgs);
  const flags: Record<string, unknown> = {};
  if (args[CONFIG_FLAG] !== undefined) flags[CONFIG_FLAG] = args[CONFIG_FLAG];
  for (const k of KEY_NAMES) {
    const d = def(k);
    const parsed = args[d.flag];
    if (parsed === undefined) continue;
    const seen = raw.get(d.flag) ?? [];
    // Use the raw values only when they agree with what citty parsed, so a caller whose
    // args did not come from process.argv still gets exactly its args.
    if (REPEATABLE.has(d.kind) && seen.length && seen.at(-1) === parsed) flags[d.flag] = seen;
    else if (d.kind === "bool" && seen.length && typeof parsed === "boolean" && (seen.at(-1) !== "false") === parsed) flags[d.flag] = seen.at(-1);
    else flags[d.flag] = parsed;
  }
  return flags;
}

/** Values of config flags in argv: `--flag value`, `--flag=value`, camelCase too; a bare boolean is "true". */
function scanRaw(rawArgs: string[]): Map<string, string[]> {
  const kinds = new Map(KEY_NAMES.map((k) => [def(k).flag, def(k).kind]));
  const out = new Map<string, string[]>();
  for (let i = 0; i < rawArgs.length; i++) {
    const tok = rawArgs[i]!;
    if (tok === "--") break;
    if (!tok.startsWith("--")) continue;
    const eq = tok.indexOf("=");
    const name = (eq < 0 ? tok.slice(2) : tok.slice(2, eq)).replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
    const kind = kinds.get(name);
    if (!kind) continue;
    let value = eq < 0 ? undefined : tok.slice(eq + 1);
    // like node's parseArgs behind citty: a string flag takes the next token, whatever it is
    if (value === undefined) value = kind === "bool" ? "true" : (rawArgs[++i] ?? "");
    out.set(name, [...(out.get(name) ?? []), value]);
  }
  return out;
}
