// The hub's estimate of each worker's free slots (src/server/capacity.ts), and what the hub
// remembers for a stream that is still opening (src/server/hub.ts).
import { expect, test } from "bun:test";
import { createCapacity } from "../../src/server/capacity.ts";
import { createHub, type WorkerStream } from "../../src/server/hub.ts";
import type { Store } from "../../src/server/store/types.ts";
import { pendingTask } from "../helpers/tasks.ts";

test("free slots: held tasks and unanswered wake-ups count against the worker's slots", () => {
  const now = 1000;
  const c = createCapacity(() => now);
  expect(c.free("w", 2)).toBe(2);
  c.woken("w");
  expect(c.free("w", 2)).toBe(1);
  c.claimed("w", "t1");
  c.attempted("w"); // the claim answered the wake-up
  expect(c.free("w", 2)).toBe(1);
  c.claimed("w", "t2");
  expect(c.free("w", 2)).toBe(0);
  c.ended("t1");
  expect(c.free("w", 2)).toBe(1);
  c.ended("t1"); // twice (a final event from another replica too): no change
  expect(c.free("w", 2)).toBe(1);
  c.ended("unknown");
  expect(c.size).toBe(1);
});

test("a wake-up nobody answers stops counting after 2 s; a claim that found nothing answers it", () => {
  let now = 0;
  const c = createCapacity(() => now);
  c.woken("w");
  c.woken("w");
  expect(c.free("w", 3)).toBe(1);
  c.attempted("w");
  expect(c.free("w", 3)).toBe(2);
  now += 2001;
  expect(c.free("w", 3)).toBe(3);
  c.attempted("w"); // nothing owed: stays at zero
  expect(c.free("w", 3)).toBe(3);
});

test("a task claimed by another worker (after a requeue) moves to that worker", () => {
  const c = createCapacity(() => 0);
  c.claimed("a", "t");
  c.claimed("b", "t");
  expect(c.free("a", 1)).toBe(1);
  expect(c.free("b", 1)).toBe(0);
  c.ended("t");
  expect(c.free("b", 1)).toBe(1);
  expect(c.size).toBe(0);
});

test("a task decided on while a stream opens is remembered for that stream, woken or not", () => {
  const bus = { publish() {}, onEvent() {} };
  const hub = createHub({} as Store, bus);
  const frames: Record<string, number> = { a: 0, b: 0 };
  const stream = (id: string, opening?: Set<string>): WorkerStream => ({
    workerId: id,
    agentName: null,
    routes: new Set(["global"]),
    claimant: { worker_id: id, name: id, capabilities: [], models: [], max_concurrent_tasks: 1 },
    sink: { send() {}, sendFrame: () => void frames[id]!++, close() {}, closed: false },
    opening,
  });
  const opening = new Set<string>();
  hub.addStream(stream("a"));
  hub.addStream(stream("b", opening));
  const task = pendingTask();
  hub.taskAvailable(task);
  // One worker is woken (a, the first of two equally free), and b's opening list will skip the task.
  expect(frames).toEqual({ a: 1, b: 0 });
  expect([...opening]).toEqual([task.id]);
});
