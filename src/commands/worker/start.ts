import { defineCommand } from "../_command.ts";
import { commandConfig } from "../_shared.ts";

const cfg = commandConfig(["worker"], {
  once: { type: "boolean", description: "Take one task, run it, exit 0 if it completed (1 otherwise)" },
});

export default defineCommand({
  meta: {
    name: "start",
    description:
      "Run the worker in the foreground (for systemd/Kubernetes): register, take tasks by push or poll, run them with OpenCode.\n" +
      "Example: codetether worker start --server http://ct.example:8000 --name build-1 --codebase api:/srv/api",
  },
  args: cfg.args,
  async run({ args }) {
    const { config } = await cfg.load(args);
    const { runInForeground } = await import("./_foreground.ts");
    const { startWorker } = await import("../../worker/index.ts");
    const { sessionSyncHooks } = await import("../../sessions/worker-sync.ts");
    await runInForeground(config, () => startWorker(config, { once: !!args.once, ...sessionSyncHooks(config) }));
  },
});
