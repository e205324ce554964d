// Session sync inside `worker start`: every session_sync_interval in the background and
// right after each task, never on a task's path; a failed round is retried next round.
import type { Config } from "../config/schema.ts";
import { sleep } from "../util/backoff.ts";
import { coalesced } from "../util/coalesce.ts";
import { errorMessage } from "../util/errors.ts";
import { log } from "../util/log.ts";
import type { WorkerContext, WorkerOptions } from "../worker/index.ts";
import { syncRound } from "./run.ts";

export function sessionSyncHooks(config: Config): Pick<WorkerOptions, "afterTask" | "background"> {
  if (!config.sync_sessions) return {};
  const taskOfSession = new Map<string, string>();

  async function syncOnce(ctx: WorkerContext): Promise<void> {
    const r = await syncRound({
      client: ctx.client,
      config,
      target: { codebases: [...ctx.codebases.values()].map((c) => ({ id: c.id, path: c.path })), globalId: ctx.globalCodebaseId },
      redact: ctx.redact,
      taskOf: (sid) => taskOfSession.get(sid),
    });
    ctx.contact();
    if (r.sessions_sent || r.messages_sent) log("info", "sessions synced", { sessions: r.sessions_sent, messages: r.messages_sent });
  }

  // A task ending during a round gets one more round after it (its session may be past the diff).
  let sync: (() => Promise<void>) | null = null;
  const round = (ctx: WorkerContext) =>
    (sync ??= coalesced(
      () => syncOnce(ctx),
      (err) => log("warn", `session sync failed (retrying next round): ${errorMessage(err)}`),
    ))();

  return {
    afterTask(ctx, taskId, sessionId) {
      if (sessionId) taskOfSession.set(sessionId, taskId);
      void round(ctx);
    },
    async background(ctx, signal) {
      await round(ctx);
      while (await sleep(config.session_sync_interval * 1000, signal)) await round(ctx);
    },
  };
}
