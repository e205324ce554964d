// An isolated OpenCode installation for one test: its own config, data (sessions db),
// cache and state dirs and HOME, a provider that points at the scripted model server,
// and the env vars that keep OpenCode 1.18 offline. Pass `env` to whatever spawns
// opencode (runOpencode's `env`, or the worker process).
import { mkdirSync, mkdtempSync, readdirSync, readlinkSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

/** The opencode binary the tests run (the `opencode-ai` devDependency). */
export const OPENCODE_BIN = resolve(import.meta.dir, "../../node_modules/.bin/opencode");

/** Env vars that stop OpenCode 1.18 from reaching the network on its own. */
export const OFFLINE_ENV: Record<string, string> = {
  OPENCODE_DISABLE_AUTOUPDATE: "1", // no version check / self-upgrade
  OPENCODE_DISABLE_MODELS_FETCH: "1", // no models.dev catalogue download
  OPENCODE_DISABLE_LSP_DOWNLOAD: "1", // no language-server downloads
  OPENCODE_DISABLE_SHARE: "1",
  OPENCODE_DISABLE_CLAUDE_CODE: "1", // no ~/.claude prompt/skill scans (HOME is temp anyway)
  OPENCODE_DISABLE_EXTERNAL_SKILLS: "1",
};

export interface OpencodeEnv {
  root: string;
  /** Env for the process that runs opencode: merge over process.env. */
  env: Record<string, string>;
  configDir: string;
  configPath: string;
  dataDir: string;
  /** Full model ref to pass as --model: "scripted/scripted". */
  model: string;
  /** A fresh directory to use as the codebase (cwd of opencode). */
  makeProject(name?: string): string;
  cleanup(): void;
}

export interface OpencodeEnvOptions {
  /** Base URL of the model server (without /v1). */
  modelServerUrl: string;
  providerId?: string;
  modelId?: string;
  apiKey?: string;
  /** Merged over the generated opencode.json (shallow). */
  config?: Record<string, unknown>;
}

export function opencodeConfig(o: OpencodeEnvOptions): Record<string, unknown> {
  const provider = o.providerId ?? "scripted";
  const model = o.modelId ?? "scripted";
  return {
    $schema: "https://opencode.ai/config.json",
    autoupdate: false,
    share: "disabled",
    model: `${provider}/${model}`,
    // title generation uses the small model: keep it on the scripted server too
    small_model: `${provider}/${model}`,
    permission: { edit: "allow", bash: "allow", webfetch: "allow", external_directory: "allow" },
    provider: {
      [provider]: {
        // bundled inside the opencode binary: nothing is installed at run time
        npm: "@ai-sdk/openai-compatible",
        name: "Scripted test model",
        options: { baseURL: `${o.modelServerUrl}/v1`, apiKey: o.apiKey ?? "test-key" },
        models: { [model]: { name: "Scripted", tool_call: true, limit: { context: 128000, output: 4096 } } },
      },
    },
    ...o.config,
  };
}

/**
 * OpenCode 1.18 runs `npm install @opencode-ai/plugin` (via Arborist, against the npm
 * registry) in the background for every config dir that has no node_modules, at every
 * start. A node_modules dir plus a lock file that already lists the package makes it a
 * no-op: no network, no half-written installs when the process exits early.
 */
export function stubConfigDirDeps(dir: string): void {
  mkdirSync(join(dir, "node_modules"), { recursive: true });
  const dep = { "@opencode-ai/plugin": "*" };
  writeFileSync(join(dir, "package.json"), JSON.stringify({ dependencies: dep }, null, 2));
  writeFileSync(join(dir, "package-lock.json"), JSON.stringify({ lockfileVersion: 3, packages: { "": { dependencies: dep } } }, null, 2));
}

export function createOpencodeEnv(o: OpencodeEnvOptions): OpencodeEnv {
  // realpath: on some systems tmpdir is a symlink and OpenCode stores resolved paths
  const root = realpathSync(mkdtempSync(join(tmpdir(), "ct-opencode-")));
  const dirs = {
    config: join(root, "config"),
    data: join(root, "data"),
    cache: join(root, "cache"),
    state: join(root, "state"),
    home: join(root, "home"),
  };
  for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
  const configDir = join(dirs.config, "opencode");
  mkdirSync(configDir, { recursive: true });
  stubConfigDirDeps(configDir);
  const configPath = join(configDir, "opencode.json");
  writeFileSync(configPath, JSON.stringify(opencodeConfig(o), null, 2));

  const env: Record<string, string> = {
    HOME: dirs.home,
    XDG_CONFIG_HOME: dirs.config,
    XDG_DATA_HOME: dirs.data,
    XDG_CACHE_HOME: dirs.cache,
    XDG_STATE_HOME: dirs.state,
    ...OFFLINE_ENV,
  };
  let n = 0;
  return {
    root,
    env,
    configDir,
    configPath,
    dataDir: join(dirs.data, "opencode"),
    model: `${o.providerId ?? "scripted"}/${o.modelId ?? "scripted"}`,
    makeProject(name = `project-${++n}`) {
      const p = join(root, "projects", name);
      mkdirSync(p, { recursive: true });
      return p;
    },
    cleanup() {
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Pids of the processes whose cwd is `dir` or below (Linux /proc; [] elsewhere): what a run left running. */
export function processesUnder(dir: string): number[] {
  if (process.platform !== "linux") return [];
  const out: number[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cwd = readlinkSync(`/proc/${d}/cwd`);
      if (cwd === dir || cwd.startsWith(dir + "/")) out.push(Number(d));
    } catch {} // gone, or not ours to read
  }
  return out;
}

/** Polls `cond` every 100 ms until it holds or `timeoutMs` passed; returns whether it held. */
export async function waitUntil(cond: () => boolean, timeoutMs = 30_000): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (cond()) return true;
    await Bun.sleep(100);
  }
  return cond();
}
