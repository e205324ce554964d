// The `opencode models` probe (src/opencode/models.ts) does not outlive a stopping worker:
// aborting its signal kills it at once instead of leaving it to run to the end.
import { expect, test } from "bun:test";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { opencodeModels } from "../../src/opencode/models.ts";

test("an aborted probe is killed and answers at once", async () => {
  const dir = mkdtempSync(join(tmpdir(), "ct-probe-"));
  try {
    const bin = join(dir, "opencode");
    const pidFile = join(dir, "pid");
    // `db path` answers at once; `models` records its pid and hangs (exec: the pid is the process the probe spawned).
    writeFileSync(bin, `#!/bin/sh\nif [ "$1" = db ]; then echo ${dir}/opencode.db; exit 0; fi\necho $$ > ${pidFile}\nexec sleep 30\n`);
    chmodSync(bin, 0o755);
    const ac = new AbortController();
    const started = performance.now();
    const probe = opencodeModels(bin, { HOME: dir, OPENCODE_DB: join(dir, "opencode.db") }, 60_000, ac.signal);
    for (let i = 0; i < 100 && !existsSync(pidFile); i++) await Bun.sleep(50);
    const pid = Number(readFileSync(pidFile, "utf8"));
    ac.abort();
    const res = await probe;
    expect(res.ok).toBe(false);
    expect(performance.now() - started).toBeLessThan(20_000);
    let alive = true;
    for (let i = 0; i < 40 && alive; i++) {
      try {
        process.kill(pid, 0);
        await Bun.sleep(50);
      } catch {
        alive = false;
      }
    }
    expect(alive).toBe(false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
