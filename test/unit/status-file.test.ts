// The worker's local status file: the periodic refresh rewrites it only when something
// besides updated_at changed (an idle worker used to rewrite it every 5 s; P3 idle CPU).
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { WorkerContext } from "../../src/worker/context.ts";
import { readStatus, statusWriter } from "../../src/worker/status-file.ts";

describe("worker status file", () => {
  test("refresh() writes only what changed; save() always writes", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ct-status-"));
    try {
      const ctx = {
        config: { data_dir: dir, worker_name: "w", server_url: "http://127.0.0.1:1" },
        instance: { id: "i1", started_at: new Date().toISOString() },
        workerId: "w",
        stats: { lastContact: null as string | null, completed: 0, failed: 0, cancelled: 0 },
        running: new Map(),
      } as unknown as WorkerContext;
      const w = statusWriter(ctx, () => true);
      w.refresh(); // nothing written yet: the first refresh writes
      const first = readStatus(dir, "w")!;
      expect(first.streaming).toBe(true);
      await Bun.sleep(5);
      w.refresh();
      expect(readStatus(dir, "w")!.updated_at).toBe(first.updated_at);
      ctx.stats.lastContact = new Date().toISOString();
      w.refresh();
      const second = readStatus(dir, "w")!;
      expect(second.last_contact).toBe(ctx.stats.lastContact);
      expect(second.updated_at).not.toBe(first.updated_at);
      await Bun.sleep(5);
      w.save();
      expect(readStatus(dir, "w")!.updated_at).not.toBe(second.updated_at);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
