// What `doctor` asks about OpenCode on this machine beyond where the binary is (that is
// bin.ts's findOpencode, the worker's own, so both agree): its version, and whether any model
// provider is set up (env key, config `provider`, or auth.json).
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

/** Env vars OpenCode's bundled providers read their key from (models.dev provider `env`). */
export const PROVIDER_ENV_KEYS = [
  "ANTHROPIC_API_KEY",
  "OPENAI_API_KEY",
  "OPENROUTER_API_KEY",
  "GEMINI_API_KEY",
  "GOOGLE_GENERATIVE_AI_API_KEY",
  "GOOGLE_API_KEY",
  "GOOGLE_APPLICATION_CREDENTIALS",
  "AZURE_API_KEY",
  "AZURE_OPENAI_API_KEY",
  "AWS_BEARER_TOKEN_BEDROCK",
  "AWS_ACCESS_KEY_ID",
  "AWS_PROFILE",
  "GROQ_API_KEY",
  "XAI_API_KEY",
  "DEEPSEEK_API_KEY",
  "MISTRAL_API_KEY",
  "TOGETHER_AI_API_KEY",
  "FIREWORKS_API_KEY",
  "CEREBRAS_API_KEY",
  "DEEPINFRA_API_KEY",
  "HF_TOKEN",
  "GITHUB_TOKEN",
  "OPENCODE_API_KEY",
];

export function opencodeVersion(bin: string): { ok: true; version: string } | { ok: false; error: string } {
  const r = spawnSync(bin, ["--version"], { encoding: "utf8", timeout: 30_000, stdio: ["ignore", "pipe", "pipe"] });
  if (r.error) return { ok: false, error: r.error.message };
  if (r.status !== 0) return { ok: false, error: `exit ${r.status}: ${(r.stderr || r.stdout).trim().split("\n")[0] ?? ""}` };
  const v = r.stdout.trim().split("\n").at(-1) ?? "";
  return v ? { ok: true, version: v } : { ok: false, error: "printed no version" };
}

/** JSON with comments and trailing commas (opencode.jsonc) -> value, or undefined when unparsable. */
export function parseJsonc(text: string): unknown {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"') {
      const start = i;
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === "\\") i++;
      out += text.slice(start, i + 1);
    } else if (c === "/" && text[i + 1] === "/") {
      while (i < text.length && text[i] !== "\n") i++;
      out += "\n";
    } else if (c === "/" && text[i + 1] === "*") {
      const end = text.indexOf("*/", i + 2);
      i = end < 0 ? text.length : end + 1;
    } else out += c;
  }
  try {
    return JSON.parse(out.replace(/,(\s*[}\]])/g, "$1"));
  } catch {
    return undefined;
  }
}

function readJsonc(p: string): unknown {
  try {
    return parseJsonc(readFileSync(p, "utf8"));
  } catch {
    return undefined;
  }
}

const nonEmptyObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length > 0;

export interface ProviderFinding {
  ok: boolean;
  /** Where a provider was found: "env ANTHROPIC_API_KEY", "/home/u/.config/opencode/opencode.json (provider: x)". */
  found: string[];
  /** Every place that was looked at, for the ✗ message. */
  looked: string[];
}

/** OpenCode's config and data dirs honour XDG_CONFIG_HOME / XDG_DATA_HOME. */
export function findProviders(env: NodeJS.ProcessEnv = process.env, projectDirs: string[] = []): ProviderFinding {
  const home = env.HOME || homedir();
  const found: string[] = [];
  for (const k of PROVIDER_ENV_KEYS) if (env[k]) found.push(`env ${k}`);

  const configDir = join(env.XDG_CONFIG_HOME || join(home, ".config"), "opencode");
  const files = [join(configDir, "opencode.json"), join(configDir, "opencode.jsonc"), join(configDir, "config.json")];
  if (env.OPENCODE_CONFIG) files.push(env.OPENCODE_CONFIG);
  for (const d of projectDirs) files.push(join(d, "opencode.json"), join(d, "opencode.jsonc"));
  for (const f of files) {
    if (!existsSync(f)) continue;
    const cfg = readJsonc(f) as { provider?: unknown } | undefined;
    if (nonEmptyObject(cfg?.provider)) found.push(`${f} (provider: ${Object.keys(cfg.provider).join(", ")})`);
  }
  if (env.OPENCODE_CONFIG_CONTENT) {
    const cfg = parseJsonc(env.OPENCODE_CONFIG_CONTENT) as { provider?: unknown } | undefined;
    if (nonEmptyObject(cfg?.provider)) found.push(`env OPENCODE_CONFIG_CONTENT (provider: ${Object.keys(cfg.provider).join(", ")})`);
  }

  const auth = join(env.XDG_DATA_HOME || join(home, ".local", "share"), "opencode", "auth.json");
  const creds = existsSync(auth) ? readJsonc(auth) : undefined;
  if (nonEmptyObject(creds)) found.push(`${auth} (${Object.keys(creds).join(", ")})`);

  return { ok: found.length > 0, found, looked: ["provider env keys", ...files.slice(0, 3), ...(env.OPENCODE_CONFIG ? [env.OPENCODE_CONFIG] : []), auth] };
}
