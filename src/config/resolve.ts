// The one resolver every command runs: defaults -> JSON file -> environment -> flags, later
// wins, all driven by KEYS. It remembers where each value came from so `config show` can
// answer "why is this set?", and every error is ONE line naming that source.
//
// Why the file is read here and not through c12's loadConfig: c12 loads `.json` through
// jiti/Bun's importer, whose JSON errors carry no line or column ("Property name must be a
// string literal"); it treats a path without an extension as a directory or as JS; and it
// acts on keys of its own (`extends` may fetch a remote template, `$env`/`$development`
// merge by NODE_ENV), which an operator's plain JSON file should never trigger. Reading
// the file and parsing it strictly (./json.ts) is less code than working around those.
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { ConfigError } from "../util/errors.ts";
import { closest } from "../util/suggest.ts";
import { parseJson } from "./json.ts";
import { CONFIG_ENV, CONFIG_FLAG, KEY_NAMES, KEYS, type KeyDef, type KeyName, searchPaths } from "./schema.ts";
import { type CodebaseEntry, type Config, ConfigSchema, SCHEMAS } from "./validate.ts";

export { CONFIG_ENV, CONFIG_FLAG, ETC_DIR, searchPaths } from "./schema.ts";

export interface ResolveOptions {
  /** Command-line flags by citty arg name (KEYS[k].flag, plus "config"); only flags the user gave. */
  flags?: Record<string, unknown>;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  home?: string;
  /** Directory of the system-wide file (default /etc/a2a-worker); tests point it elsewhere. */
  etcDir?: string;
  /** The keys the command reads (default: all). Others keep their defaults: their env vars and
   * file entries are neither read nor validated, so `A2A_POLL_INTERVAL=0` cannot break `task list`. */
  keys?: readonly KeyName[];
}

export interface Resolved {
  config: Config;
  /** "default", the file's path, "env NAME" or "flag --name". */
  sources: Record<KeyName, string>;
  file?: string;
  warnings: string[];
}

const def = (k: KeyName) => KEYS[k] as KeyDef;
/** Each schema here parses once per process: without zod's compiled fast path, whose
 * compiling costs more than the one parse it would speed up (a CLI command's start-up). */
const ONCE = { jitless: true } as const;
const isKey = (k: string): k is KeyName => Object.hasOwn(KEYS, k);
const fail = (msg: string): never => {
  throw new ConfigError(`config: ${msg}`);
};
type Layer = Partial<Record<KeyName, { value: unknown; source: string }>>;
/** How the layers turn relative/home paths into absolute ones. */
interface PathBase {
  dir: string;
  home: string;
}

export async function resolveConfig(opts: ResolveOptions = {}): Promise<Resolved> {
  const env = opts.env ?? process.env;
  const flags = opts.flags ?? {};
  const cwd = resolve(opts.cwd ?? process.cwd());
  const home = opts.home || env.HOME || homedir();
  const warnings: string[] = [];

  const file = findFile(flags, env, cwd, home, opts.etcDir);
  const inScope = new Set<KeyName>(opts.keys ?? KEY_NAMES);
  const fileLayer = file ? await readFileLayer(file, { dir: dirname(file), home }, warnings, inScope) : {};
  const envLayer = readEnvLayer(env, { dir: cwd, home }, inScope);
  const flagLayer = readFlagLayer(flags, { dir: cwd, home });
  const layers = [flagLayer, envLayer, fileLayer]; // highest precedence first

  const config: Record<string, unknown> = {};
  const sources = {} as Record<KeyName, string>;
  for (const k of KEY_NAMES) {
    const hit = layers.map((l) => l[k]).find((v) => v !== undefined);
    sources[k] = hit?.source ?? "default";
    const d = def(k).default;
    if (hit) config[k] = hit.value;
    else if (typeof d !== "function" && d !== undefined) config[k] = structuredClone(d);
  }
  // Computed defaults see everything set so far, in KEYS order (worker_name before worker_id).
  const ctx = { env: { ...env, HOME: home } };
  for (const k of KEY_NAMES) {
    const d = def(k).default;
    if (sources[k] !== "default" || typeof d !== "function") continue;
    const value = d(config, ctx);
    const r = SCHEMAS[k].safeParse(value, ONCE);
    if (!r.success) {
      const how = [def(k).flag && `--${def(k).flag}`, ...def(k).env].join(" or ");
      fail(`${k} defaults to ${def(k).defaultText ?? "a computed value"} ${quote(k, value)}: ${issueText(r.error.issues[0]!)}; set it with ${how}`);
    }
    config[k] = value;
  }
  const parsed = ConfigSchema.safeParse(config, ONCE);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const k = String(issue.path[0]) as KeyName;
    fail(`${sources[k] ?? "?"}: key "${k}": ${issueText(issue)}`);
  }
  return { config: config as Config, sources, file, warnings };
}

// ---------- the file ----------

function findFile(flags: Record<string, unknown>, env: NodeJS.ProcessEnv, cwd: string, home: string, etcDir?: string): string | undefined {
  const flag = flags[CONFIG_FLAG];
  if (flag === false) return undefined; // --no-config: no file at all, not even the usual places
  const named =
    flag !== undefined
      ? { where: `flag --${CONFIG_FLAG}`, path: Array.isArray(flag) ? flag.at(-1) : flag }
      : env[CONFIG_ENV]?.trim()
        ? { where: `env ${CONFIG_ENV}`, path: env[CONFIG_ENV]!.trim() }
        : undefined;
  if (named) {
    if (typeof named.path !== "string" || named.path === "") fail(`${named.where}: expected the path of a JSON config file`);
    const path = resolve(cwd, named.path as string);
    if (!existsSync(path)) fail(`${named.where} "${named.path}": no such file (${path})`);
    return path;
  }
  return searchPaths(home, cwd, etcDir).find((p) => existsSync(p));
}

async function readFileLayer(file: string, base: PathBase, warnings: string[], inScope: Set<KeyName>): Promise<Layer> {
  let text = "";
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    fail(`${file}: cannot read: ${e.message}`); // e.g. "EISDIR: illegal operation on a directory, read"
  }
  const r = await parseJson(text);
  if (!r.ok) return fail(`${file}: invalid JSON at line ${r.line} column ${r.column}: ${r.message}`);
  if (!isObject(r.value)) return fail(`${file}: expected a JSON object like {"server_url": "http://host:8000"}, got ${got(r.value)}`);
  const layer: Layer = {};
  for (const [key, raw] of Object.entries(r.value)) {
    if (key.startsWith("$")) continue; // "$schema" and friends are for editors
    if (!isKey(key)) {
      warnings.push(unknownKey(key, file, suggest(key)));
      continue;
    }
    if (raw === null || !inScope.has(key)) continue; // null = "not set here"; other commands' keys are theirs to check
    let value = raw;
    if (def(key).kind === "codebases") value = codebasesFromJson(raw, file, base, warnings);
    else if (def(key).kind === "paths" && Array.isArray(raw)) value = raw.map((p) => (typeof p === "string" && p ? absPath(p, base) : p));
    const v = SCHEMAS[key].safeParse(value, ONCE);
    if (!v.success) {
      const issue = v.error.issues[0]!;
      const at = issue.path.length ? `${key}${pathText(issue.path)}` : `key "${key}"`;
      fail(`${file}: ${at}: ${issueText(issue)}, got ${quote(key, issue.path.length ? pick(value, issue.path) : value)}`);
    }
    layer[key] = { value, source: file };
  }
  return layer;
}

function codebasesFromJson(raw: unknown, file: string, base: PathBase, warnings: string[]): CodebaseEntry[] {
  if (!Array.isArray(raw)) return fail(`${file}: key "codebases": expected a list like [{"name": "app", "path": "/srv/app"}], got ${got(raw)}`);
  const fields = ["name", "path", "description", "isolation"];
  const list = raw.map((e, i): CodebaseEntry => {
    const at = `${file}: codebases[${i}]`;
    if (typeof e === "string") return codebaseFromText(e, base, at);
    if (!isObject(e)) return fail(`${at}: expected {"name": ..., "path": ...}, got ${got(e)}`);
    for (const f of Object.keys(e)) {
      if (!fields.includes(f)) warnings.push(unknownKey(f, `codebases[${i}] in ${file}`, closest(f, fields)));
    }
    if (e.path === undefined || e.path === null) fail(`${at}: missing "path"`);
    if (typeof e.path !== "string" || !e.path.trim()) fail(`${at}: "path" must be a non-empty string, got ${got(e.path)}`);
    if (e.name !== undefined && (typeof e.name !== "string" || !e.name.trim())) fail(`${at}: "name" must be a non-empty string, got ${got(e.name)}`);
    if (e.description !== undefined && typeof e.description !== "string") fail(`${at}: "description" must be a string, got ${got(e.description)}`);
    const path = absPath((e.path as string).trim(), base);
    const entry: CodebaseEntry = { name: (e.name as string | undefined)?.trim() || basename(path), path };
    if (e.description !== undefined) entry.description = e.description as string;
    if (e.isolation !== undefined) {
      if (e.isolation !== "shared" && e.isolation !== "worktree") fail(`${at}: "isolation" must be "shared" or "worktree", got ${got(e.isolation)}`);
      entry.isolation = e.isolation as "shared" | "worktree";
    }
    return entry;
  });
  checkUnique(list, `${file}: key "codebases"`);
  return list;
}

// ---------- environment and flags: text -> typed value ----------

function readEnvLayer(env: NodeJS.ProcessEnv, base: PathBase, inScope: Set<KeyName>): Layer {
  const layer: Layer = {};
  for (const k of inScope) {
    // With several names (DATABASE_URL, A2A_DATABASE_URL) the later, more specific one wins.
    // An empty variable counts as unset: templated unit files often export NAME= .
    const name = def(k)
      .env.filter((n) => env[n]?.trim())
      .at(-1);
    if (!name) continue;
    const raw = env[name]!;
    layer[k] = { value: fromText(k, [raw], `env ${name}=${quote(k, raw)}`, base), source: `env ${name}` };
  }
  return layer;
}

function readFlagLayer(flags: Record<string, unknown>, base: PathBase): Layer {
  const layer: Layer = {};
  for (const k of KEY_NAMES) {
    const name = def(k).flag;
    const given = flags[name];
    if (given === undefined) continue;
    const kind = def(k).kind;
    const items = (Array.isArray(given) ? given : [given]).filter((v) => v !== undefined);
    const where = (raw: string) => `flag --${name} ${quote(k, raw)}`;
    let value: unknown;
    if (kind === "bool" && typeof items.at(-1) === "boolean") value = items.at(-1);
    else if (items.includes(false)) fail(`flag --no-${name}: --${name} takes a value and cannot be negated`);
    else {
      const texts = items.map((v) => (v === true ? "" : String(v)));
      const many = kind === "list" || kind === "paths" || kind === "codebases";
      if (!many && !texts.at(-1)?.trim()) fail(`flag --${name}: expected a value`);
      value = fromText(k, many ? texts : [texts.at(-1)!], where(texts.join(",")), base);
    }
    layer[k] = { value, source: `flag --${name}` };
  }
  return layer;
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const BOOLS: Record<string, boolean> = { true: true, false: false, "1": true, "0": false, yes: true, no: false, on: true, off: false };

/** Parses env/flag text by the key's kind, then validates it with the key's schema. */
function fromText(k: KeyName, raws: string[], where: string, base: PathBase): unknown {
  const kind = def(k).kind;
  const items = raws
    .flatMap((r) => r.split(","))
    .map((s) => s.trim())
    .filter(Boolean);
  const last = raws.at(-1)!.trim();
  let value: unknown;
  switch (kind) {
    case "bool":
      value = BOOLS[last.toLowerCase()];
      if (value === undefined) fail(`${where}: expected true or false (also 1/0, yes/no)`);
      break;
    case "number":
    case "int":
      // strict: Number("5s") is NaN but Number("") is 0 and Number("0x10") is 16
      value = NUMBER.test(last) ? Number(last) : last;
      break;
    case "list":
      value = items;
      break;
    case "paths":
      value = items.map((p) => absPath(p, base));
      break;
    case "codebases":
      value = items.map((s) => codebaseFromText(s, base, where));
      checkUnique(value as CodebaseEntry[], where);
      break;
    case "json":
      try {
        value = JSON.parse(last);
      } catch {
        // no parser detail: it can quote the text, which may hold a secret
        fail(`${where}: expected JSON, e.g. [{"url":"https://...","secret":"..."}]`);
      }
      break;
    default:
      value = last;
  }
  const r = SCHEMAS[k].safeParse(value, ONCE);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    fail(`${where}: ${issue.path.length ? `${k}${pathText(issue.path)}: ` : ""}${issueText(issue)}`);
  }
  return value;
}

/** "name:path", or a bare path whose directory name becomes the name; either may end in ":shared" or ":worktree". */
function codebaseFromText(text: string, base: PathBase, where: string): CodebaseEntry {
  const iso = /:(shared|worktree)$/.exec(text.trim());
  const body = iso ? text.trim().slice(0, iso.index) : text.trim();
  const m = /^([^/\\:.~][^/\\:]*):(.*)$/.exec(body);
  if (m && !m[2]!.trim()) fail(`${where}: codebase "${text}": missing path after "${m[1]}:"`);
  const path = absPath(m ? m[2]!.trim() : body, base);
  const entry: CodebaseEntry = { name: m ? m[1]!.trim() : basename(path), path };
  if (iso) entry.isolation = iso[1] as "shared" | "worktree";
  return entry;
}

function checkUnique(list: CodebaseEntry[], where: string): void {
  const seen = new Set<string>();
  for (const c of list) {
    if (seen.has(c.name)) fail(`${where}: codebase name "${c.name}" is used twice`);
    seen.add(c.name);
  }
}

function absPath(p: string, base: PathBase): string {
  if (p === "~" || p.startsWith("~/")) return join(base.home, p.slice(1));
  return resolve(base.dir, p);
}

// ---------- messages ----------

const TYPE_WORDS: Record<string, string> = {
  number: "a number",
  int: "a whole number",
  string: "a string",
  boolean: "true or false",
  array: "a list (JSON array)",
  object: "an object",
};

function issueText(issue: { code: string; message: string; origin?: string; minimum?: unknown; expected?: string }): string {
  const m = /^Invalid input: expected (\w+), received/.exec(issue.message);
  if (m) return `expected ${TYPE_WORDS[m[1]!] ?? m[1]}`;
  if (issue.code === "too_small" && issue.origin === "string" && Number(issue.minimum) <= 1) return "must not be empty";
  return issue.message.replace(/^Invalid option: /, "").replace(/^Too (small|big): /, "");
}

function pathText(path: PropertyKey[]): string {
  return path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("");
}

function pick(value: unknown, path: PropertyKey[]): unknown {
  return path.reduce((v: any, p) => (v == null ? v : v[p as any]), value);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function got(v: unknown): string {
  if (v === undefined) return "nothing";
  const s = JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** A value as it may appear in an error: JSON-quoted, secrets masked, long ones cut. */
function quote(k: KeyName, v: unknown): string {
  // env/flag text of a list of secrets ("ci:abc,ops:def") is masked item by item
  return got(
    typeof v === "string" && def(k).secret
      ? v
          .split(",")
          .map((s) => maskOne(k, s))
          .join(",")
      : maskedValue(k, v),
  );
}

function unknownKey(key: string, where: string, guess: string | undefined): string {
  return `unknown key "${key}" in ${where}${guess ? ` (did you mean "${guess}"?)` : ""}`;
}

/** The known key an unknown one most likely meant: flag and env spellings count too. */
export function suggest(key: string): string | undefined {
  const norm = key
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .toLowerCase()
    .replace(/-/g, "_")
    .replace(/^a2a_/, "");
  for (const k of KEY_NAMES) {
    const spellings = [k, def(k).flag.replace(/-/g, "_"), ...def(k).env.map((e) => e.toLowerCase().replace(/^a2a_/, ""))];
    if (spellings.includes(norm)) return k;
  }
  return closest(norm, KEY_NAMES);
}

// ---------- masking ----------

const URL_PASSWORD = /^([a-z][a-z0-9+.-]*:\/\/[^:/?#@]*:)([^@/?#]*)@/i;
const IS_URL = /^[a-z][a-z0-9+.-]*:\/\//i;

/** A value safe to print: secrets as "***", "name:***" for named tokens, URL passwords masked anywhere. */
export function maskedValue(key: KeyName, value: unknown): unknown {
  if (Array.isArray(value)) return value.map((v) => maskOne(key, v));
  return maskOne(key, value);
}

function maskOne(key: KeyName, v: unknown): unknown {
  if (typeof v !== "string") return v;
  if (IS_URL.test(v)) return v.replace(URL_PASSWORD, "$1***@"); // keep host and db visible, hide only the password
  if (!def(key).secret) return v;
  const colon = v.indexOf(":");
  if (def(key).kind === "list" && colon > 0) return `${v.slice(0, colon)}:***`;
  return "***";
}

/** Every secret string of a config (token parts, URL passwords), for log redaction. */
export function secretStrings(config: Config): string[] {
  const out: string[] = [];
  for (const k of KEY_NAMES) {
    if (!def(k).secret) continue;
    for (const v of ([] as unknown[]).concat(config[k] ?? [])) {
      if (typeof v !== "string" || !v) continue;
      const pw = URL_PASSWORD.exec(v)?.[2];
      if (IS_URL.test(v)) {
        if (pw) out.push(pw, safeDecode(pw)); // logs may show either form
      } else out.push(def(k).kind === "list" && v.indexOf(":") > 0 ? v.slice(v.indexOf(":") + 1) : v);
    }
  }
  return [...new Set(out.filter((s) => s.length >= 3))];
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
