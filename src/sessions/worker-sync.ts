// Session sync inside `worker start`: every session_sync_interval in the background and
// right after each task, never on a task's path; a failed round is retried next round.
import type { Config } from "../config/schema.ts";
import { sleep } from "../util/backoff.ts";
import { log } from "../util/log.ts";
import type { WorkerContext, WorkerOptions } from "../worker/index.ts";
import { syncRound } from "./run.ts";

export function sessionSyncHooks(config: Config): Pick<WorkerOptions, "afterTask" | "background"> {
  if (!config.sync_sessions) return {};
  const taskOfSession = new Map<string, string>();
  let running: Promise<void> | null = null;
  let again = false;

  async function round(ctx: WorkerContext): Promise<void> {
    if (running) {
      again = true; // coalesce: one more round after the current one
      return running;
    }
    running = (async () => {
      do {
        again = false;
        try {
          const r = await syncRound({
            client: ctx.client,
            config,
            target: { codebases: [...ctx.codebases.values()].map((c) => ({ id: c.id, path: c.path })), globalId: ctx.globalCodebaseId },
            redact: ctx.redact,
            taskOf: (sid) => taskOfSession.get(sid),
          });
          ctx.contact();
          if (r.sessions_sent || r.messages_sent) log("info", "sessions synced", { sessions: r.sessions_sent, messages: r.messages_sent });
        } catch (err) {
          log("warn", `session sync failed (retrying next round): ${(err as Error).message}`);
        }
      } while (again);
    })().finally(() => {
      running = null;
    });
    return running;
  }

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
