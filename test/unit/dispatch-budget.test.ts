// The worker's claims owed (src/worker/dispatch): one claim per announcement or freed slot,
// and an announcement that arrives while a claim is on its way is never lost, even when that
// claim finds nothing (the task may have been created after the server looked).
import { expect, test } from "bun:test";
import type { ClaimResponse } from "../../src/protocol/index.ts";
import { dispatchState } from "../../src/worker/dispatch/index.ts";
import { want, type DispatchState } from "../../src/worker/dispatch/state.ts";
import type { WorkerContext } from "../../src/worker/context.ts";

function state(claimNext: (s: DispatchState) => Promise<ClaimResponse | null>) {
  const started: string[] = [];
  const calls = { n: 0 };
  const ctx = {
    running: new Map(),
    config: { max_concurrent_tasks: 2 },
    contact() {},
    api: { claimNext: () => (calls.n++, claimNext(s)) },
  } as unknown as WorkerContext;
  const s = dispatchState(ctx, new AbortController().signal, (c) => {
    started.push(c.task_id);
    ctx.running.set(c.task_id, {} as never);
  });
  return { s, started, calls };
}
const claim = (id: string) => ({ success: true, task_id: id, worker_id: "w", attempt: 1 }) as ClaimResponse;

test("an announcement during a claim that finds nothing is claimed, not dropped", async () => {
  const answers: (ClaimResponse | null)[] = [null, claim("t1"), null];
  const { s, started, calls } = state(async (st) => {
    // the task_available frame arrives while the first claim is in flight, which finds
    // nothing: the server looked before the task existed
    if (calls.n === 1) void want(st, 1);
    return answers.shift() ?? null;
  });
  await want(s, Infinity); // the stream connected: claim until full
  await Bun.sleep(10);
  expect(started).toEqual(["t1"]);
  // Then claims until full (the connect asked for that) until one finds nothing.
  expect(calls.n).toBe(3);
  expect(s.budget).toBe(0);
});

test("one claim per announcement; a claim that finds nothing clears what was owed", async () => {
  const queue = ["a", "b"];
  const { s, started, calls } = state(async () => {
    const id = queue.shift();
    return id ? claim(id) : null;
  });
  await want(s, 1);
  expect(started).toEqual(["a"]);
  expect(calls.n).toBe(1); // not a second claim to find out that nothing is left
  s.ctx.running.set("x", {} as never); // both slots busy ("a" and "x"): an announcement is owed, not claimed
  await want(s, 1);
  expect(calls.n).toBe(1);
  expect(s.budget).toBe(1);
  s.ctx.running.delete("x"); // a slot frees: the owed claim runs
  await s.fill();
  expect(started).toEqual(["a", "b"]);
});
