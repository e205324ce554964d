// The hub's estimate of each worker's free slots (src/server/capacity.ts).
import { expect, test } from "bun:test";
import { createCapacity } from "../../src/server/capacity.ts";

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
