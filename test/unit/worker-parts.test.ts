import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { hostname } from "node:os";
import { backoffDelay, jitter, POLICIES, sleep } from "../../src/util/backoff.ts";
import { acquireWorkerLock, lockHolder, lockPaths } from "../../src/worker/lock.ts";
import { pendingReports, removeReport, spoolDir, writeReport } from "../../src/worker/spool.ts";
import { ROOT, tempDir } from "../helpers/proc.ts";

const tmp = tempDir("ct-unit-");
afterAll(() => tmp.cleanup());

describe("backoff", () => {
  test("grows exponentially within [base, max] and jitters", () => {
    const p = POLICIES.reconnect;
    expect(backoffDelay(p, 0, () => 0)).toBe(1000);
    expect(backoffDelay(p, 0, () => 1)).toBe(1000);
    expect(backoffDelay(p, 3, () => 1)).toBe(8000);
    expect(backoffDelay(p, 50, () => 1)).toBe(60_000);
    const seen = new Set(Array.from({ length: 50 }, () => backoffDelay(p, 6)));
    expect(seen.size).toBeGreaterThan(10); // jittered: a fleet does not reconnect in lockstep
    for (const d of seen) expect(d >= 1000 && d <= 60_000).toBe(true);
    expect(jitter(5000, 0.2, () => 0)).toBe(4000);
    expect(jitter(5000, 0.2, () => 1)).toBe(6000);
  });
  test("sleep ends early on abort", async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 10);
    expect(await sleep(60_000, ac.signal)).toBe(false);
    expect(await sleep(1)).toBe(true);
  });
});

describe("spool", () => {
  test("reports survive as whole files and are removed once delivered", () => {
    const dir = spoolDir(join(tmp.path, "data"), "w/1");
    const r = { task_id: "t1", worker_id: "w/1", attempt: 2, status: "completed" as const, result: "ok", created_at: new Date().toISOString() };
    const path = writeReport(dir, r);
    writeFileSync(join(dir, "torn.json"), '{"task_id":'); // a crash mid-write of an old format
    const pending = pendingReports(dir);
    expect(pending).toHaveLength(1);
    expect(pending[0]!.report).toEqual(r);
    removeReport(path);
    expect(pendingReports(dir)).toHaveLength(0);
  });
});

describe("worker lock", () => {
  /** Another process that takes the lock for `id` in `dir` and keeps it until killed. */
  async function holder(dir: string, id: string) {
    const src = `import { acquireWorkerLock } from ${JSON.stringify(join(ROOT, "src/worker/lock.ts"))};
      await acquireWorkerLock(${JSON.stringify(dir)}, ${JSON.stringify(id)}); console.log("locked"); setInterval(() => {}, 1 << 30);`;
    const p = Bun.spawn([process.execPath, "-e", src], { stdout: "pipe", stderr: "inherit" });
    const reader = p.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let out = "";
    while (!out.includes("locked")) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`lock holder exited (${await p.exited}) before taking the lock`);
      out += value;
    }
    return p;
  }

  test("one holder per worker id across processes; a SIGKILLed holder's lock is taken over at once", async () => {
    const dir = join(tmp.path, "lock");
    mkdirSync(dir, { recursive: true });
    const other = await holder(dir, "w1");
    expect(lockHolder(dir, "w1")).toBe(other.pid);
    await expect(acquireWorkerLock(dir, "w1")).rejects.toThrow(`worker 'w1' is already running (pid ${other.pid})`);

    other.kill("SIGKILL"); // dies without unlocking: its lock directory stays behind
    await other.exited;
    expect(existsSync(lockPaths(dir, "w1").lock)).toBe(true);
    const release = await acquireWorkerLock(dir, "w1");
    expect(readFileSync(lockPaths(dir, "w1").file, "utf8")).toBe(`${process.pid} ${hostname()}`); // pid and host of the holder
    expect(lockHolder(dir, "w1")).toBeNull(); // we hold it ourselves
    // And now a third process is refused, naming us.
    const third = Bun.spawnSync(
      [
        process.execPath,
        "-e",
        `import { acquireWorkerLock } from ${JSON.stringify(join(ROOT, "src/worker/lock.ts"))};
      await acquireWorkerLock(${JSON.stringify(dir)}, "w1").then(() => process.exit(0), (e) => { console.error(e.message); process.exit(3); });`,
      ],
      { stderr: "pipe" },
    );
    expect(third.exitCode).toBe(3);
    expect(third.stderr.toString()).toContain(`worker 'w1' is already running (pid ${process.pid})`);
    await release();
    expect(existsSync(lockPaths(dir, "w1").file)).toBe(false);
  });
});
