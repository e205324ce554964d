// Isolation per codebase (issue 15): where a task runs and what it may run beside.
// `shared`: in the codebase directory, never two tasks of one codebase at once on this
// worker; `worktree`: in a git worktree of its own (./worktree.ts), side by side.
//
// Two guards keep shared directories single-tenant. The claim names the busy codebases
// (ClaimBody.busy_codebases), so the server does not hand out a second task of one: no slot
// and no attempt are spent on a task that would wait. And a directory lock, for a server
// that ignores the list (a legacy one, claims by id): a task claimed anyway waits for the
// directory instead of running in it at the same time.
import type { Isolation, Task } from "../protocol/index.ts";
import type { WorkerContext } from "./context.ts";

/** Agents the worker runs itself: they touch no codebase directory. */
const IN_WORKER = new Set(["echo", "noop", "register_codebase"]);

/** The task's own setting, else its codebase's (from the server's record or this worker's config), else shared. */
export function effectiveIsolation(ctx: WorkerContext, task: Pick<Task, "codebase_id" | "isolation">): Isolation {
  return task.isolation ?? (task.codebase_id ? ctx.codebases.get(task.codebase_id)?.isolation : undefined) ?? "shared";
}

/**
 * The codebase whose directory this task runs in, or null: worktree runs, agents the worker
 * runs itself, and the home directory (`global`, not a project checkout: its tasks keep
 * running side by side as before).
 */
export function occupiedCodebase(ctx: WorkerContext, task: Pick<Task, "codebase_id" | "isolation" | "agent_type">): string | null {
  const id = task.codebase_id;
  if (!id || id === "global" || id === ctx.globalCodebaseId || IN_WORKER.has(task.agent_type)) return null;
  return effectiveIsolation(ctx, task) === "shared" ? id : null;
}

/** Codebases a running (or waiting) task of this worker occupies: what the claim names as busy. */
export function busyCodebases(ctx: WorkerContext): string[] {
  const out = new Set<string>();
  for (const r of ctx.running.values()) if (r.occupies) out.add(r.occupies);
  return [...out];
}

/** One holder per key at a time, in arrival order; `acquire` resolves with the release. */
export function createDirectoryLocks() {
  const tails = new Map<string, Promise<void>>();
  return {
    async acquire(key: string, signal?: AbortSignal): Promise<() => void> {
      const before = tails.get(key) ?? Promise.resolve();
      let release!: () => void;
      const mine = new Promise<void>((r) => (release = r));
      const tail = before.then(() => mine);
      tails.set(key, tail);
      const done = () => {
        release();
        if (tails.get(key) === tail) tails.delete(key);
      };
      if (signal) {
        const aborted = new Promise<void>((_, reject) => signal.addEventListener("abort", () => reject(signal.reason), { once: true }));
        await Promise.race([before, aborted]).catch((err) => {
          // Given up while waiting: pass the turn on once ours comes, never hold it.
          void before.then(done);
          throw err;
        });
      } else await before;
      return done;
    },
  };
}
export type DirectoryLocks = ReturnType<typeof createDirectoryLocks>;
