// What commands share: the --json flag and their config. Each command declares the config
// scopes it reads; `commandConfig` turns that into the flags its --help lists (only those)
// and a loader that reads only those keys (file -> env -> flags). A command's own arg with
// the name of a config flag (`task list --codebase`) is the command's, never config.
//   const cfg = commandConfig(["client"], { id: {...}, ...jsonArg });
//   defineCommand({ args: cfg.args, run: async ({ args }) => { const { config } = await cfg.load(args) } })
import type { Resolved } from "../config/resolve.ts";
import { CONFIG_ENV, CONFIG_FLAG, KEY_NAMES, KEYS, type KeyDef, type KeyName, type Scope, searchPaths } from "../config/schema.ts";
import type { ArgSpec, ArgSpecs } from "./_args.ts";
import { warn } from "./_output.ts";

export const jsonArg = {
  json: { type: "boolean", description: "Print JSON with fixed keys (for scripts)" },
} as const satisfies ArgSpecs;

const def = (k: KeyName) => KEYS[k] as KeyDef;
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
      return d.values?.join("|");
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

/** The keys of some scopes, in KEYS order. */
export function keysOf(scopes: readonly Scope[]): KeyName[] {
  return KEY_NAMES.filter((k) => def(k).scope.some((s) => scopes.includes(s)));
}

const configFlagArg: ArgSpec = {
  type: "string",
  negatable: true,
  valueHint: "file.json",
  description: `JSON config file [env ${CONFIG_ENV}] (default: first of ${searchPaths("~", ".").join(", ")}; --no-config: none)`,
};

function keyArg(k: KeyName): ArgSpec {
  // No defaults here on purpose: a filled-in flag would beat the file and the environment.
  // Defaults live in KEYS and are applied by the resolver.
  const d = def(k);
  const dflt = defaultText(d);
  const notes = [`env ${d.env.join(", ")}`, REPEATABLE.has(d.kind) ? "repeatable" : ""].filter(Boolean).join("; ");
  const description = `${d.description} [${notes}]${dflt && !d.description.includes("default") ? ` (default: ${dflt})` : ""}`;
  if (d.kind === "bool") return { type: "boolean", description, negativeDescription: d.default === true ? "off" : undefined };
  return { type: "string", description, valueHint: valueHint(d), multiple: REPEATABLE.has(d.kind) || undefined };
}

export interface CommandConfig<A extends ArgSpecs> {
  /** The command's own args, then --config and the flags of its keys. */
  args: A & ArgSpecs;
  /** Config keys this command reads (from file and env; flags for those its own args do not shadow). */
  keys: KeyName[];
  /** Keys whose flag this command offers (its own args shadow the rest). */
  flagKeys: KeyName[];
  /** Parsed args -> resolved config (warnings printed). */
  load(args: Record<string, unknown>): Promise<Resolved>;
}

/**
 * Config for a command reading `scopes` (plus `extra` keys). Flags that the command's own
 * args shadow are dropped from its config: `sessions sync --codebase api` filters, it does
 * not also set the worker's codebases.
 */
export function commandConfig<A extends ArgSpecs>(scopes: readonly Scope[], own: A, extra: KeyName[] = []): CommandConfig<A> {
  const keys = [...new Set([...keysOf(scopes), ...extra])];
  // The key is still read from the file and env; only its flag belongs to the command.
  const flagKeys = keys.filter((k) => !Object.hasOwn(own, def(k).flag));
  const args: ArgSpecs = { ...own, [CONFIG_FLAG]: configFlagArg };
  for (const k of flagKeys) args[def(k).flag] = keyArg(k);
  return {
    args: args as A & ArgSpecs,
    keys,
    flagKeys,
    async load(parsed) {
      // The resolver (and zod, which validates) loads only when a command runs, not for --help.
      const { resolveConfig } = await import("../config/resolve.ts");
      const resolved = await resolveConfig({ flags: configFlags(parsed, flagKeys), keys });
      for (const w of resolved.warnings) warn(w);
      return resolved;
    },
  };
}

/** Parsed args -> resolver flags (by flag name), holding only config flags the user gave. */
export function configFlags(args: Record<string, unknown>, keys: readonly KeyName[] = KEY_NAMES): Record<string, unknown> {
  const flags: Record<string, unknown> = {};
  if (args[CONFIG_FLAG] !== undefined) flags[CONFIG_FLAG] = args[CONFIG_FLAG];
  for (const k of keys) {
    const v = args[def(k).flag];
    if (v !== undefined) flags[def(k).flag] = v;
  }
  return flags;
}

/** For "unknown flag" errors: which other command a config flag belongs to. */
export function flagElsewhere(flag: string): string | undefined {
  const name = flag.replace(/^--(no-)?/, "");
  const k = KEY_NAMES.find((key) => def(key).flag === name);
  if (!k) return undefined;
  const where = def(k).scope.map((s) => ({ client: "task/codebase commands", worker: "worker start", server: "server start" })[s]);
  return `${flag} is a setting of ${where.join(" and ")}, not of this command`;
}
