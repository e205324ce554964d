// src/util/coalesce.ts: the "run again if asked while running" helper of the dispatcher's
// claim loop and the worker's session sync.
import { describe, expect, test } from "bun:test";
import { coalesced } from "../../src/util/coalesce.ts";

const ignore = () => undefined;

/** A run that waits until the test lets it end. */
function gatedRuns() {
  const gates: (() => void)[] = [];
  let runs = 0;
  const fn = () => {
    runs++;
    return new Promise<void>((resolve) => gates.push(resolve));
  };
  return {
    fn,
    get runs() {
      return runs;
    },
    /** Ends the run in progress once it has started. */
    async release() {
      while (!gates.length) await Bun.sleep(1);
      gates.shift()!();
    },
  };
}

describe("coalesced", () => {
  test("five triggers during one run make exactly one more run, and all resolve after it", async () => {
    const g = gatedRuns();
    const trigger = coalesced(g.fn, (err) => {
      throw err;
    });
    const first = trigger();
    expect(g.runs).toBe(1);
    let settled = 0;
    const during = Array.from({ length: 5 }, () => trigger().then(() => settled++));
    await Bun.sleep(5);
    expect(g.runs).toBe(1); // no run starts while one is running
    await g.release();
    await g.release(); // the one rerun
    await Promise.all([first, ...during]);
    expect(g.runs).toBe(2);
    expect(settled).toBe(5);
    await Bun.sleep(5);
    expect(g.runs).toBe(2);
  });

  test("a trigger after a run has ended starts a new run", async () => {
    let runs = 0;
    const trigger = coalesced(async () => void runs++, ignore);
    await trigger();
    await trigger();
    expect(runs).toBe(2);
  });

  test("a trigger from a run's own completion is not lost", async () => {
    let runs = 0;
    const trigger = coalesced(async () => {
      runs++;
      if (runs === 1) queueMicrotask(() => void trigger()); // lands while the run is finishing
    }, ignore);
    await trigger();
    await Bun.sleep(5);
    expect(runs).toBe(2);
  });

  test("an error goes to onError and does not wedge the trigger, nor drop a rerun asked for", async () => {
    const errors: unknown[] = [];
    let runs = 0;
    let release: () => void = ignore;
    const trigger = coalesced(
      async () => {
        runs++;
        if (runs === 1) {
          await new Promise<void>((r) => (release = r));
          throw new Error("boom");
        }
      },
      (err) => errors.push(err),
    );
    const first = trigger();
    const second = trigger(); // asked during the failing run
    release();
    await expect(first).resolves.toBeUndefined();
    await second;
    expect(runs).toBe(2);
    expect(errors.map((e) => (e as Error).message)).toEqual(["boom"]);
    await trigger();
    expect(runs).toBe(3);
  });

  test("a synchronous throw is caught too", async () => {
    const errors: unknown[] = [];
    let runs = 0;
    const trigger = coalesced(
      () => {
        runs++;
        throw new Error("sync");
      },
      (err) => errors.push(err),
    );
    await trigger();
    await trigger();
    expect(runs).toBe(2);
    expect(errors.length).toBe(2);
  });
});
