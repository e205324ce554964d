// Shared by `worker start` and `up`: logging, signals (1st graceful, 2nd releases now,
// 3rd exits at once) and the exit code.
import { secretStrings } from "../../config/resolve.ts";
import type { Config } from "../../config/schema.ts";
import { setupLogging } from "../../util/log.ts";
import { makeRedactor } from "../../util/redact.ts";
import type { WorkerHandle } from "../../worker/index.ts";

export function setupCommandLogging(config: Config): void {
  setupLogging({ level: config.log_level, format: config.log_format, redact: makeRedactor(secretStrings(config)) });
}

export async function runInForeground(config: Config, start: () => Promise<WorkerHandle>, onStop?: () => Promise<void>): Promise<never> {
  setupCommandLogging(config);
  // Handlers go in before the worker starts (`up` has printed its banner by then): a signal
  // during start-up is kept and acted on once the worker exists, never a death by signal.
  let w: WorkerHandle | null = null;
  let signals = 0;
  const onSignal = () => {
    signals++;
    if (signals >= 3) process.exit(1); // OpenCode runs are killed by the exit hook in opencode/run.ts
    w?.shutdown();
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  w = await start();
  for (let i = 0; i < signals; i++) w.shutdown();
  const code = await w.done;
  await onStop?.();
  process.exit(code);
}
