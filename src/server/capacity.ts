// What this replica knows of each worker's free slots, so that a new task wakes one worker
// that can take it instead of every eligible one (issue 13, P2: with 32 idle workers every
// task cost 4 claims, 3 of them empty).
//
// An estimate, never a rule: the claim decides. A worker's free slots are its
// max_concurrent_tasks less the tasks it holds (claimed through this replica, or running
// when its stream opened) less the wake-ups it has not answered with a claim yet. Tasks
// leave the count when they end or go back to pending, here or on another replica (the
// bus carries both). A claim made through another replica is not seen here, so the
// estimate errs towards "free": a full worker may be woken and ignore it; the task is then
// claimed when a slot frees (the worker claims on every freed slot) or by the worker's
// safety poll.

/** A wake-up not answered by a claim within this long no longer counts against the worker. */
const WAKE_TTL_MS = 2000;

export interface Capacity {
  /** Slots of `workerId` not held nor promised, given its `slots` (max_concurrent_tasks). */
  free(workerId: string, slots: number): number;
  /** A stream of `workerId` was woken for a task. */
  woken(workerId: string): void;
  /** `workerId` made a claim (whatever it got): one wake-up answered. */
  attempted(workerId: string): void;
  /** `workerId` holds `taskId` now. */
  claimed(workerId: string, taskId: string): void;
  /** `taskId` ended or went back to pending: nobody holds it. */
  ended(taskId: string): void;
  readonly size: number;
}

export function createCapacity(now: () => number = Date.now): Capacity {
  const held = new Map<string, Set<string>>();
  const holder = new Map<string, string>();
  const wakes = new Map<string, { n: number; at: number }>();

  const pendingWakes = (workerId: string) => {
    const w = wakes.get(workerId);
    if (!w) return 0;
    if (now() - w.at > WAKE_TTL_MS) {
      wakes.delete(workerId);
      return 0;
    }
    return w.n;
  };

  return {
    free(workerId, slots) {
      return slots - (held.get(workerId)?.size ?? 0) - pendingWakes(workerId);
    },
    woken(workerId) {
      wakes.set(workerId, { n: pendingWakes(workerId) + 1, at: now() });
    },
    attempted(workerId) {
      const n = pendingWakes(workerId);
      if (n > 1) wakes.set(workerId, { n: n - 1, at: wakes.get(workerId)!.at });
      else wakes.delete(workerId);
    },
    claimed(workerId, taskId) {
      const previous = holder.get(taskId);
      if (previous && previous !== workerId) held.get(previous)?.delete(taskId);
      holder.set(taskId, workerId);
      let set = held.get(workerId);
      if (!set) held.set(workerId, (set = new Set()));
      set.add(taskId);
    },
    ended(taskId) {
      const w = holder.get(taskId);
      if (w === undefined) return;
      holder.delete(taskId);
      const set = held.get(w);
      set?.delete(taskId);
      if (set && !set.size) held.delete(w);
    },
    get size() {
      return holder.size;
    },
  };
}
