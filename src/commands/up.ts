// `codetether up`: the embedded default — the server on SQLite and a worker on this
// machine, in one foreground process.
import { defineCommand } from "citty";
import { consola } from "consola";
import { join } from "node:path";
import { mkdirSync } from "node:fs";
import { configArgs, loadConfig } from "./_shared.ts";
import { runInForeground, setupCommandLogging } from "./worker/_foreground.ts";

export default defineCommand({
  meta: {
    name: "up",
    description:
      "Start the server (embedded SQLite) and a worker on this machine in one foreground process.\n" +
      "Example: codetether up --codebase myapp:$PWD",
  },
  args: { ...configArgs },
  async run({ args, rawArgs }) {
    const { config } = await loadConfig(args, rawArgs);
    // Heavy modules load here, not at import: `codetether --help` reads every command's meta.
    const { startServer } = await import("../server/index.ts");
    const { startWorker } = await import("../worker/index.ts");
    const { sessionSyncHooks } = await import("../sessions/worker-sync.ts");
    setupCommandLogging(config);
    mkdirSync(config.data_dir, { recursive: true });
    const server = await startServer({
      host: config.host,
      port: config.port,
      store: config.database_url ? { kind: "postgres", url: config.database_url } : { kind: "sqlite", path: config.db_path ?? join(config.data_dir, "server.db") },
      authTokens: config.auth_tokens,
      leaseSeconds: config.lease_seconds,
      heartbeatIntervalSeconds: config.heartbeat_interval,
      ui: config.ui,
    });
    const token = config.auth_token ?? config.auth_tokens[0]?.split(":").pop() ?? undefined;
    const workerConfig = { ...config, server_url: server.url, auth_token: token };
    const first = config.codebases[0]?.name ?? "global";
    consola.box(
      [
        `CodeTether is up at ${server.url}`,
        `worker: ${config.worker_id}   codebases: ${["global", ...config.codebases.map((c) => c.name)].join(", ")}`,
        "",
        "Submit a task from another shell:",
        `  codetether task create --server ${server.url} --codebase ${first} --prompt "Add a README" --wait`,
        `  curl -s -X POST ${server.url}/v1/opencode/tasks -H 'content-type: application/json' \\`,
        `       -d '{"codebase_id":"global","prompt":"Say hello","agent_type":"build"}'`,
        "Stop with Ctrl-C (running tasks get shutdown_grace seconds to finish).",
      ].join("\n"),
    );
    await runInForeground(workerConfig, () => startWorker(workerConfig, sessionSyncHooks(workerConfig)), () => server.stop());
  },
});
