// `codetether server start`: the control plane in the foreground (systemd/Kubernetes).
// SQLite at <data_dir>/server.db unless --db or a PostgreSQL --database-url/DATABASE_URL.
// SIGTERM/SIGINT: stop accepting, close streams, finish in-flight requests, close the store.
import { defineCommand } from "../_command.ts";
import { secretStrings } from "../../config/resolve.ts";
import { CliError, EXIT } from "../../util/errors.ts";
import { log, setupLogging } from "../../util/log.ts";
import { commandConfig } from "../_shared.ts";
import { serverOptions, storeOptions } from "./_store.ts";

const cfg = commandConfig(["server"], {});

export default defineCommand({
  meta: {
    name: "start",
    description:
      "Run the server in the foreground. Prints `listening on <url>` once it accepts requests.\n" +
      "Example: codetether server start --host 0.0.0.0 --port 8000 --auth-tokens ops:$(openssl rand -hex 24)",
  },
  args: cfg.args,
  async run({ args }) {
    const { config } = await cfg.load(args);
    const secrets = secretStrings(config);
    setupLogging({
      level: config.log_level,
      format: config.log_format,
      redact: (s) => secrets.reduce((acc, x) => acc.replaceAll(x, "***"), s),
    });
    const store = storeOptions(config);
    const { startServer } = await import("../../server/index.ts");
    let server: Awaited<ReturnType<typeof startServer>>;
    try {
      server = await startServer(serverOptions(config, store));
    } catch (err) {
      const msg = (err as Error).message;
      throw new CliError(`server did not start: ${msg}`, store.kind === "postgres" ? EXIT.UNAVAILABLE : EXIT.FAILURE);
    }
    let signals = 0;
    const onSignal = (sig: string) => {
      if (++signals > 1) process.exit(EXIT.FAILURE);
      log("info", "stopping server", { signal: sig });
      server
        .stop()
        .then(() => {
          log("info", "server stopped");
          process.exit(EXIT.OK);
        })
        .catch((err) => {
          log("error", "server did not stop cleanly", { error: (err as Error).message });
          process.exit(EXIT.FAILURE);
        });
    };
    process.on("SIGTERM", () => onSignal("SIGTERM"));
    process.on("SIGINT", () => onSignal("SIGINT"));
    // Scripts and tests read this line (with --port 0 it is the only place the port shows);
    // printed once the signal handlers are in place, so a signal sent on seeing it stops us cleanly.
    process.stdout.write(`listening on ${server.url}\n`);
    log("info", "server started", {
      url: server.url,
      store: store.kind === "sqlite" ? `sqlite ${store.path}` : "postgres",
      auth: config.auth_tokens.length ? `${config.auth_tokens.length} token(s)` : "off",
    });
    await new Promise<never>(() => undefined); // until a signal
  },
});
