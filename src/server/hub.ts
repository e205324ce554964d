// Push: the open worker task streams and output streams of this replica, and the events
// that feed them. `emit` delivers locally at once and publishes through the store so the
// other replicas (PostgreSQL LISTEN/NOTIFY) deliver to their streams too.
import { log } from "../util/log.ts";
import { fits, type Claimant } from "./routing.ts";
import { encodeFrame, type SseSink } from "./sse.ts";
import { toWireTask } from "./store/rows.ts";
import type { Store, StoreEvent, TaskRow } from "./store/types.ts";

export interface WorkerStream {
  workerId: string;
  agentName: string | null;
  /** Routes this stream hears about: codebase ids, plus "global" for null/"global" tasks. */
  routes: Set<string>;
  /** What the worker advertised (capabilities, models, name), for routing; null: not registered. */
  claimant: Claimant | null;
  sink: SseSink;
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
  /** A task became pending (created or re-queued). */
  taskAvailable(t: TaskRow): void;
  cancelRequested(t: TaskRow): void;
  output(taskId: string): void;
  final(taskId: string): void;
  /** A worker registered with other capabilities, models or name: its streams (on every replica) route by those now. */
  workerChanged(w: Claimant): void;
  /** A codebase was registered for a worker: its open streams hear about it from now on. */
  addRoute(workerId: string, route: string): void;
  closeAll(): void;
  readonly counts: { streams: number; watchers: number };
}

/** Cross-replica output notifications are coalesced per task: one per window, not one per line. */
const OUTPUT_NOTIFY_MS = 50;

export function createHub(store: Store): Hub {
  const streams = new Set<WorkerStream>();
  const watchers = new Map<string, Set<OutputWatcher>>();
  const outputTimers = new Map<string, ReturnType<typeof setTimeout>>();

  const wants = (s: WorkerStream, route: string, target: string | null) => s.routes.has(route) && (!target || target === s.workerId);

  function pushTask(task: TaskRow) {
    // Encoded once for all streams: with many workers, per-stream JSON was most of a create's cost.
    // Only workers the task fits are woken (issue 15); the claim enforces the same rule.
    let frame: Uint8Array | null = null;
    for (const s of streams) {
      if (wants(s, task.route, task.target_worker_id) && fits(task, s.claimant)) s.sink.sendFrame((frame ??= encodeFrame("task_available", toWireTask(task))));
    }
  }

  function setClaimant(w: Claimant) {
    const claimant = { worker_id: w.worker_id, name: w.name, capabilities: w.capabilities, models: w.models };
    for (const s of streams) if (s.workerId === w.worker_id) s.claimant = claimant;
  }

  function wakeWatchers(taskId: string) {
    for (const w of watchers.get(taskId) ?? []) w.wake();
  }

  // Events from other replicas carry ids only; fetch the task when a stream here wants it.
  store.onEvent((ev: StoreEvent) => {
    switch (ev.t) {
      case "task": {
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
      case "output":
      case "final":
        wakeWatchers(ev.id);
        return;
    }
  });

  return {
    addStream(s) {
      streams.add(s);
      return () => streams.delete(s);
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
      pushTask(t);
      store.publish({ t: "task", id: t.id, route: t.route, target: t.target_worker_id });
    },
    cancelRequested(t) {
      if (!t.worker_id) return;
      for (const s of streams) if (s.workerId === t.worker_id) s.sink.send("task_cancel", { task_id: t.id });
      store.publish({ t: "cancel", id: t.id, worker: t.worker_id });
    },
    output(taskId) {
      wakeWatchers(taskId);
      if (outputTimers.has(taskId)) return;
      outputTimers.set(
        taskId,
        setTimeout(() => {
          outputTimers.delete(taskId);
          store.publish({ t: "output", id: taskId });
        }, OUTPUT_NOTIFY_MS),
      );
    },
    final(taskId) {
      wakeWatchers(taskId);
      store.publish({ t: "final", id: taskId });
    },
    workerChanged(w) {
      setClaimant(w);
      store.publish({ t: "worker", id: w.worker_id });
    },
    addRoute(workerId, route) {
      for (const s of streams) if (s.workerId === workerId) s.routes.add(route);
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
