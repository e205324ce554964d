// `codetether up`: the embedded default — the server on SQLite and a worker on this
// machine, in one foreground process.
import { mkdirSync } from "node:fs";
import { basename, dirname } from "node:path";
import { defineCommand } from "./_command.ts";
import { painter } from "./_output.ts";
import { commandConfig } from "./_shared.ts";

const cfg = commandConfig(["worker", "server"], {});

export default defineCommand({
  meta: {
    name: "up",
    description:
      "Start the server (embedded SQLite) and a worker on this machine in one foreground process.\n" + "Example: codetether up --codebase myapp:$PWD",
  },
  args: cfg.args,
  async run({ args }) {
    const { config } = await cfg.load(args);
    // Heavy modules load here, not at import: `codetether --help` reads every command's meta.
    const { runInForeground, setupCommandLogging } = await import("./worker/_foreground.ts");
    const { checkCodebasePath } = await import("../worker/registration.ts");
    // A bad codebase path is a config error (exit 78) before anything listens or says "up".
    for (const c of config.codebases) c.path = checkCodebasePath(c.name, c.path, config.allowed_paths);
    (await import("../worker/worktree.ts")).checkWorktreeCodebases(config.codebases);
    const { startServer } = await import("../server/index.ts");
    const { serverOptions } = await import("./server/_store.ts");
    const { startWorker } = await import("../worker/index.ts");
    const { sessionSyncHooks } = await import("../sessions/worker-sync.ts");
    setupCommandLogging(config);
    const { logEachEventOnce } = await import("../util/log.ts");
    logEachEventOnce();
    mkdirSync(config.data_dir, { recursive: true });
    const server = await startServer(serverOptions(config));
    const token = config.auth_token ?? config.auth_tokens[0]?.split(":").pop() ?? undefined;
    const workerConfig = { ...config, server_url: server.url, auth_token: token };
    process.stderr.write(banner(server.url, config.worker_id, ["global", ...config.codebases.map((c) => c.name)], !!token));
    await runInForeground(
      workerConfig,
      () => startWorker(workerConfig, sessionSyncHooks(workerConfig)),
      () => server.stop(),
    );
  },
});

/**
 * How to run this same program from another shell, as the user can type it: from a clone
 * (`bun src/cli.ts`) that is `npm start --` in the clone; a compiled binary is called by
 * its name when it is on PATH, else by its path.
 */
export function selfCommand(): string {
  const main = Bun.main;
  if (main.endsWith(".ts")) {
    const root = dirname(dirname(main));
    return root === process.cwd() ? "npm start --" : `npm --prefix ${root} start --`;
  }
  const exe = process.execPath;
  return Bun.which(basename(exe)) === exe ? basename(exe) : exe;
}

/** The start-up banner: fits 80 columns, first a task that needs no model. */
function banner(url: string, workerId: string, codebases: string[], auth: boolean): string {
  const paint = painter(process.stderr);
  const cli = selfCommand();
  const server = url === "http://127.0.0.1:8000" ? [] : [`    --server ${url} \\`];
  const first = codebases[1] ?? "global";
  return [
    "",
    `${paint("green", "✓")} CodeTether is up at ${paint("bold", url)}`,
    `  worker ${workerId}, codebases: ${codebases.join(", ")}`,
    ...(auth ? ["  auth is on: export A2A_AUTH_TOKEN=<a token of auth_tokens> in that shell"] : []),
    "",
    "From another shell, a task that needs no model (echo):",
    `  ${cli} task create \\`,
    ...server,
    `    --codebase ${first} --prompt "hello" --agent echo --wait`,
    "An OpenCode task (needs a provider; see: codetether doctor):",
    `  ${cli} task create \\`,
    ...server,
    `    --codebase ${first} --prompt "Add a README" --wait`,
    "",
    "Stop with Ctrl-C (running tasks get shutdown_grace seconds to finish).",
    "",
    "",
  ].join("\n");
}
