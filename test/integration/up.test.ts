// `codetether up`, the README's first command: one foreground process with the server on
// SQLite and a worker. It prints its URL, runs a task submitted to it, and Ctrl-C stops
// it cleanly (exit 0).
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { createClient } from "../../src/client/index.ts";
import { killAll, runCli, spawnCli, tempDir } from "../helpers/proc.ts";

const tmp = tempDir("ct-up-");
afterAll(async () => {
  await killAll();
  tmp.cleanup();
});

describe("codetether up", () => {
  test("prints the URL, runs a task submitted to it, Ctrl-C exits 0 with the worker unregistered", async () => {
    const home = join(tmp.path, "home");
    const data = join(tmp.path, "data");
    mkdirSync(home, { recursive: true });
    const env = { A2A_CONFIG: undefined, HOME: home };
    const up = spawnCli(["up", "--port", "0", "--data-dir", data, "--name", "up-w", "--no-sync-sessions"], { env });
    const [, url] = await up.waitFor(/CodeTether is up at (http:\/\/[\d.:]+)/, 30_000);
    await up.waitFor(/task stream connected/, 30_000);

    const r = await runCli(["task", "create", "--server", url!, "--codebase", "global", "--prompt", "hello from up", "--agent", "echo", "--wait", "--json"], {
      env,
    });
    expect({ code: r.code, stderr: r.stderr }).toMatchObject({ code: 0 });
    const t = JSON.parse(r.stdout);
    expect(t).toMatchObject({ status: "completed", worker_id: "up-w", result: "hello from up" });
    expect((await createClient({ serverUrl: url! }).health()).store).toBe("sqlite");
    expect(existsSync(join(data, "server.db"))).toBe(true); // the embedded default: SQLite under data_dir

    up.kill("SIGINT");
    expect(await up.exited).toBe(0);
    expect(up.out() + up.err()).toContain("worker unregistered");
    // The server went with it.
    const gone = await fetch(`${url}/health`).then(
      () => "up",
      () => "gone",
    );
    expect(gone).toBe("gone");
  });
});
