// The instance file a worker keeps in its data dir (src/worker/lock.ts): the next process on
// that data dir names the instance it replaces only when it runs on the same host in the same
// boot, so a data dir copied with a machine image never lets a clone displace the original.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { bootId, lockPaths, previousInstance, recordInstance } from "../../src/worker/lock.ts";
import { tempDir } from "../helpers/proc.ts";

const tmp = tempDir("ct-unit-instance-");
afterAll(() => tmp.cleanup());

describe("worker instance file", () => {
  const dir = join(tmp.path, "data");
  mkdirSync(dir, { recursive: true });
  const write = (rec: Record<string, unknown>) => writeFileSync(lockPaths(dir, "w1").instance, JSON.stringify(rec));
  const base = { instance_id: "prev-1", pid: 999_999, hostname: hostname(), boot_id: bootId(), started_at: "2026-01-01T00:00:00.000Z" };

  test("the previous process of this host and boot is named", () => {
    write(base);
    expect(previousInstance(dir, "w1")).toBe("prev-1");
  });

  test("another host, another boot, this very process, or no/garbled file: none", () => {
    write({ ...base, hostname: `${hostname()}-clone` });
    expect(previousInstance(dir, "w1")).toBeNull();
    write({ ...base, boot_id: "another-boot" });
    expect(previousInstance(dir, "w1")).toBeNull();
    write({ ...base, pid: process.pid });
    expect(previousInstance(dir, "w1")).toBeNull();
    writeFileSync(lockPaths(dir, "w1").instance, "{not json");
    expect(previousInstance(dir, "w1")).toBeNull();
    expect(previousInstance(dir, "never-ran")).toBeNull();
  });

  test("recordInstance writes what the next start reads", () => {
    recordInstance(dir, "w2", "mine-1", "2026-02-02T00:00:00.000Z");
    // Read back as a later process would (another pid): rewrite the pid only.
    const p = lockPaths(dir, "w2").instance;
    const rec = JSON.parse(readFileSync(p, "utf8"));
    expect(rec).toEqual({ instance_id: "mine-1", pid: process.pid, hostname: hostname(), boot_id: bootId(), started_at: "2026-02-02T00:00:00.000Z" });
    writeFileSync(p, JSON.stringify({ ...rec, pid: 999_999 }));
    expect(previousInstance(dir, "w2")).toBe("mine-1");
  });
});
