// Finding the opencode executable: the worker, `sessions sync` and `doctor` all ask here,
// so they agree on which OpenCode a machine runs.
import { spawnSync } from "node:child_process";
import { accessSync, constants, statSync } from "node:fs";
import { homedir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";

function isExecutable(p: string): boolean {
  try {
    if (!statSync(p).isFile()) return false;
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Where findOpencode looks after opencode_bin and PATH (also listed in error messages). */
export function opencodeInstallPlaces(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string[] {
  const home = env.HOME || homedir();
  const places = [
    join(home, ".opencode", "bin", "opencode"), // the official install script
    join(home, ".local", "bin", "opencode"),
    "/usr/local/bin/opencode",
    "/opt/homebrew/bin/opencode",
    join(home, ".bun", "bin", "opencode"),
    join(home, ".npm-global", "bin", "opencode"),
    join(cwd, "node_modules", ".bin", "opencode"),
  ];
  if (env.npm_config_prefix) places.push(join(env.npm_config_prefix, "bin", "opencode"));
  return places;
}

let npmPrefixCache: string | null | undefined;
function npmGlobalBin(): string | null {
  if (npmPrefixCache === undefined) {
    const r = spawnSync("npm", ["prefix", "-g"], { encoding: "utf8", timeout: 5000, stdio: ["ignore", "pipe", "ignore"] });
    npmPrefixCache = r.status === 0 && r.stdout.trim() ? join(r.stdout.trim(), "bin", "opencode") : null;
  }
  return npmPrefixCache;
}

const onPath = (name: string, env: NodeJS.ProcessEnv): string | null => {
  const p = Bun.which(name, { PATH: env.PATH ?? "" });
  return p ? resolve(p) : null;
};

/**
 * opencode_bin when set (a path, or a name looked up on PATH; no fallback: an explicit
 * setting that is wrong is an error), else `opencode` on PATH, else the usual install
 * places, else the npm global prefix. Returns an absolute path or null.
 */
export function findOpencode(configured?: string | null, env: NodeJS.ProcessEnv = process.env): string | null {
  if (configured) {
    if (configured.includes("/") || isAbsolute(configured)) {
      const p = resolve(configured.replace(/^~(?=\/)/, env.HOME || homedir()));
      return isExecutable(p) ? p : null;
    }
    return onPath(configured, env);
  }
  const fromPath = onPath("opencode", env);
  if (fromPath) return fromPath;
  for (const p of opencodeInstallPlaces(env)) if (isExecutable(p)) return resolve(p);
  const npm = npmGlobalBin();
  return npm && isExecutable(npm) ? npm : null;
}

/** The one-line error for "no opencode": names the setting and where we looked. */
export function opencodeNotFoundMessage(configured?: string | null, configKey = "opencode_bin", env: NodeJS.ProcessEnv = process.env): string {
  if (configured)
    return `opencode not found at ${configKey}=${configured} (not an executable file): fix ${configKey} (env A2A_OPENCODE_BIN, flag --opencode-bin) or unset it to search PATH`;
  return (
    `opencode not found: looked on PATH and in ${opencodeInstallPlaces(env).join(", ")} and the npm global prefix; ` +
    `install it (npm i -g opencode-ai) or set ${configKey} (env A2A_OPENCODE_BIN, flag --opencode-bin)`
  );
}
