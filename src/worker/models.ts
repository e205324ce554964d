// The models this worker advertises (issue 15): probed from OpenCode (`opencode models`) once
// registered and every MODELS_REFRESH_MS after, cheaply (one short process); when the list
// changes the worker registers again so the server routes by the new list. Until the first
// probe answers, and whenever OpenCode is missing or the probe fails, the worker advertises
// no models, which the server reads as "unknown: may take a task with any model".
import { findOpencode, opencodeModels } from "../opencode/index.ts";
import { sleep } from "../util/backoff.ts";
import { errorMessage } from "../util/errors.ts";
import { log } from "../util/log.ts";
import type { WorkerContext } from "./context.ts";
import { registerBody } from "./registration.ts";

export const MODELS_REFRESH_MS = 10 * 60_000;

/** Probes once; true when the advertised list changed (and was sent to the server). */
export async function refreshModels(ctx: WorkerContext, signal?: AbortSignal): Promise<boolean> {
  const bin = findOpencode(ctx.config.opencode_bin);
  if (!bin) return false;
  const probe = await opencodeModels(bin, undefined, undefined, signal);
  if (signal?.aborted) return false; // stopping: the probe was killed, nothing to say
  if (!probe.ok) {
    log("warn", `could not list OpenCode's models (advertising none: any model may come): ${probe.error}`);
    return false;
  }
  if (probe.models.join("\n") === ctx.models.join("\n")) return false;
  ctx.models = probe.models;
  await ctx.client.registerWorker(registerBody(ctx));
  ctx.contact();
  log("info", "worker models advertised", { worker: ctx.workerId, models: probe.models.length });
  return true;
}

export async function modelsLoop(ctx: WorkerContext, signal: AbortSignal): Promise<void> {
  do {
    try {
      await refreshModels(ctx, signal);
    } catch (err) {
      // The server is away: the next round (or a re-registration) sends the list.
      log("debug", `could not advertise models: ${errorMessage(err)}`);
    }
  } while (await sleep(MODELS_REFRESH_MS, signal));
}
