// Push: the open worker task streams and output streams of this replica, and the events
// that feed them. Each event is delivered locally at once and published on the bus so the
// other replicas deliver to their streams too (the store's PostgreSQL LISTEN/NOTIFY, or
// Redis with `redis_url`, see bus.ts; SQLite has one process and nothing to tell).
import { log } from "../util/log.ts";
import { createCapacity } from "./capacity.ts";
import { fits, type Claimant } from "./routing.ts";
import { encodeFrame, type SseSink } from "./sse.ts";
import { toWireTask } from "./store/rows.ts";
import type { Store, StoreEvent, StoreEvents, TaskRow } from "./store/types.ts";

export interface WorkerStream {
  workerId: string;
  agentName: string | null;
  /** Routes this stream hears about: codebase ids, plus "global" for null/"global" tasks. */
  routes: Set<string>;
  /** What the worker advertised (capabilities, models, name), for routing; null: not registered. */
  claimant: Claimant | null;
  sink: SseSink;
  /**
   * While the stream's opening list of pending tasks is read: the tasks the hub decided on
   * meanwhile (woke this or another worker for them, or none). The list skips them, so a task
   * created as a worker connects is not announced to it a second time, past the one-worker
   * choice made for it.
   */
  opening?: Set<string>;
}

export interface OutputWatcher {
  taskId: string;
  /** Called when the task's output or state may have changed; must tolerate spurious calls. */
  wake(): void;
  close(): void;
}

export interface Hub {
  addStream(s: WorkerStream): () => void;
  streamsOf(workerId: string): WorkerStream[];
  addWatcher(w: OutputWatcher): () => void;
  /**
   * A task became pending (created or re-queued): wakes one stream that fits it and has a
   * free slot (every fitting stream of a worker whose slots are unknown). Returns how many
   * streams here fit it, woken or not.
   */
  taskAvailable(t: TaskRow): number;
  /** `workerId` made a claim through this replica; `taskId` is what it got (null: nothing). */
  claimed(workerId: string, taskId: string | null): void;
  /** The running tasks of `workerId` as the store has them (its stream opened). */
  holding(workerId: string, taskIds: string[]): void;
  cancelRequested(t: TaskRow): void;
  output(taskId: string): void;
  final(taskId: string): void;
  /** A worker registered with other capabilities, models or name: its streams (on every replica) route by those now. */
  workerChanged(w: Claimant): void;
  /** A codebase was registered for a worker: its open streams hear about it from now on. */
  /** A codebase was registered for a worker: its streams here hear about `routes` too, and about the pending tasks on them they fit. */
  addRoutes(workerId: string, routes: string[]): Promise<void>;
  /**
   * A worker's streams hear about exactly `routes` from now on, on whichever replica holds
   * them; tasks already waiting on a newly added route are announced. Returns how many
   * streams on this replica changed.
   */
  setRoutes(workerId: string, routes: string[]): Promise<number>;
  closeAll(): void;
  readonly counts: { streams: number; watchers: number };
}

/** Cross-replica output notifications are coalesced per task: one per window, not one per line. */
const OUTPUT_NOTIFY_MS = 50;

/** Pending tasks announced to a stream when it opens or gains a route. */
export const MAX_INITIAL = 1000;

export function createHub(store: Store, bus: StoreEvents = store): Hub {
  const streams = new Set<WorkerStream>();
  const watchers = new Map<string, Set<OutputWatcher>>();
  const outputTimers = new Map<string, ReturnType<typeof setTimeout>>();
  const capacity = createCapacity();
  /** When each worker was last woken (a counter): of two equally free workers, the one woken longer ago goes first. */
  const lastWoken = new Map<string, number>();
  let wakeSeq = 0;

  const wants = (s: WorkerStream, route: string, target: string | null) => s.routes.has(route) && (!target || target === s.workerId);

  /**
   * Only workers the task fits are considered (issue 15); the claim enforces the same rule.
   * Of those, one is woken (issue 13): the one with the most free slots, then the one woken
   * longest ago, so a burst of tasks spreads over the fleet and a full worker is not
   * disturbed. A worker whose slots are unknown (a legacy worker) is woken every time, and
   * so is every worker for a registration by path (each must look for the path itself).
   */
  function pushTask(task: TaskRow): number {
    // Encoded once for all streams: with many workers, per-stream JSON was most of a create's cost.
    let frame: Uint8Array | null = null;
    const send = (s: WorkerStream) => s.sink.sendFrame((frame ??= encodeFrame("task_available", toWireTask(task))));
    let fitting = 0;
    let best: WorkerStream | null = null;
    let bestFree = 0;
    const everyone = task.agent_type === "register_codebase";
    const candidates: WorkerStream[] = [];
    for (const s of streams) {
      if (!wants(s, task.route, task.target_worker_id)) continue;
      s.opening?.add(task.id);
      if (!fits(task, s.claimant)) continue;
      fitting++;
      const slots = s.claimant?.max_concurrent_tasks;
      if (!slots || everyone) {
        send(s);
        continue;
      }
      candidates.push(s);
      const free = capacity.free(s.workerId, slots);
      if (free > bestFree || (free === bestFree && free > 0 && (lastWoken.get(s.workerId) ?? 0) < (lastWoken.get(best!.workerId) ?? 0))) {
        best = s;
        bestFree = free;
      }
    }
    if (best) {
      // Every stream of that worker: one process normally has one, but a replaced process's
      // stream may linger (a frozen VM) beside the new one's until it is noticed.
      for (const s of candidates) if (s.workerId === best.workerId) send(s);
      capacity.woken(best.workerId);
      lastWoken.set(best.workerId, ++wakeSeq);
    }
    return fitting;
  }

  function setClaimant(w: Claimant) {
    const claimant = { worker_id: w.worker_id, name: w.name, capabilities: w.capabilities, models: w.models, max_concurrent_tasks: w.max_concurrent_tasks };
    for (const s of streams) if (s.workerId === w.worker_id) s.claimant = claimant;
  }

  function wakeWatchers(taskId: string) {
    for (const w of watchers.get(taskId) ?? []) w.wake();
  }

  async function applyRoutes(workerId: string, routes: string[], mode: "set" | "add" = "set"): Promise<number> {
    const mine = [...streams].filter((s) => s.workerId === workerId);
    if (!mine.length) return 0;
    const added = routes.filter((id) => mine.some((s) => !s.routes.has(id)));
    for (const s of mine) s.routes = new Set(mode === "set" ? routes : [...s.routes, ...routes]);
    // Tasks already waiting on a newly routed codebase are announced now, not at the next poll.
    if (added.length) {
      for (const t of await store.pendingFor(workerId, added, MAX_INITIAL)) {
        const frame = encodeFrame("task_available", toWireTask(t));
        for (const s of mine) if (fits(t, s.claimant)) s.sink.sendFrame(frame);
      }
    }
    return mine.length;
  }

  // Events from other replicas carry ids only; fetch the task when a stream here wants it.
  bus.onEvent((ev: StoreEvent) => {
    switch (ev.t) {
      case "task": {
        capacity.ended(ev.id);
        if (![...streams].some((s) => wants(s, ev.route, ev.target))) return;
        store
          .getTask(ev.id)
          .then((t) => t?.status === "pending" && pushTask(t))
          .catch((err) => log("warn", "could not load pushed task", { task: ev.id, error: err.message }));
        return;
      }
      case "worker": {
        if (![...streams].some((s) => s.workerId === ev.id)) return;
        store
          .getWorker(ev.id)
          .then((w) => w && setClaimant(w))
          .catch((err) => log("warn", "could not load a re-registered worker", { worker: ev.id, error: err.message }));
        return;
      }
      case "cancel":
        for (const s of streams) if (s.workerId === ev.worker) s.sink.send("task_cancel", { task_id: ev.id });
        return;
      case "final":
        capacity.ended(ev.id);
        wakeWatchers(ev.id);
        return;
      case "output":
        wakeWatchers(ev.id);
        return;
      case "routes":
        applyRoutes(ev.worker, ev.routes).catch((err) => log("warn", "could not update a stream's codebases", { worker: ev.worker, error: err.message }));
        return;
    }
  });

  return {
    addStream(s) {
      streams.add(s);
      return () => {
        streams.delete(s);
        if (![...streams].some((o) => o.workerId === s.workerId)) lastWoken.delete(s.workerId);
      };
    },
    streamsOf(workerId) {
      return [...streams].filter((s) => s.workerId === workerId);
    },
    addWatcher(w) {
      let set = watchers.get(w.taskId);
      if (!set) watchers.set(w.taskId, (set = new Set()));
      set.add(w);
      return () => {
        set!.delete(w);
        if (!set!.size) watchers.delete(w.taskId);
      };
    },
    taskAvailable(t) {
      capacity.ended(t.id);
      const fitting = pushTask(t);
      bus.publish({ t: "task", id: t.id, route: t.route, target: t.target_worker_id });
      return fitting;
    },
    claimed(workerId, taskId) {
      capacity.attempted(workerId);
      if (taskId) capacity.claimed(workerId, taskId);
    },
    holding(workerId, taskIds) {
      for (const id of taskIds) capacity.claimed(workerId, id);
    },
    cancelRequested(t) {
      if (!t.worker_id) return;
      for (const s of streams) if (s.workerId === t.worker_id) s.sink.send("task_cancel", { task_id: t.id });
      bus.publish({ t: "cancel", id: t.id, worker: t.worker_id });
    },
    output(taskId) {
      wakeWatchers(taskId);
      if (outputTimers.has(taskId)) return;
      outputTimers.set(
        taskId,
        setTimeout(() => {
          outputTimers.delete(taskId);
          bus.publish({ t: "output", id: taskId });
        }, OUTPUT_NOTIFY_MS),
      );
    },
    final(taskId) {
      capacity.ended(taskId);
      wakeWatchers(taskId);
      bus.publish({ t: "final", id: taskId });
    },
    workerChanged(w) {
      setClaimant(w);
      bus.publish({ t: "worker", id: w.worker_id });
    },
    async addRoutes(workerId, routes) {
      await applyRoutes(workerId, routes, "add");
    },
    async setRoutes(workerId, routes) {
      bus.publish({ t: "routes", worker: workerId, routes });
      return applyRoutes(workerId, routes);
    },
    closeAll() {
      for (const t of outputTimers.values()) clearTimeout(t);
      outputTimers.clear();
      for (const s of [...streams]) s.sink.close();
      for (const set of [...watchers.values()]) for (const w of [...set]) w.close();
    },
    get counts() {
      return { streams: streams.size, watchers: [...watchers.values()].reduce((n, s) => n + s.size, 0) };
    },
  };
}
