// One server per SQLite file (issue 17, item 8): a second `server start` or `up` on a
// database another server holds exits 1 naming the file and the holder's pid; a holder
// killed with SIGKILL does not block a restart; a clean stop leaves no lock behind.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startServer } from "../../src/server/index.ts";
import { sqliteLockPaths } from "../../src/server/store/index.ts";
import { killAll, runCli, spawnCli, tempDir } from "../helpers/proc.ts";
import { createApi, registerWorker, spawnServer } from "../helpers/server.ts";

const T = 90_000;
const tmp = tempDir("ct-srvlock-");
afterAll(async () => {
  await killAll();
  tmp.cleanup();
});

const env = (home: string) => ({ A2A_CONFIG: undefined, HOME: home, XDG_DATA_HOME: undefined, XDG_CONFIG_HOME: undefined });
const lines = (s: string) => s.split("\n").filter((l) => l.trim());

describe("server database lock", () => {
  test(
    "a second server start or up on the same SQLite file exits 1 naming the file and the holder's pid",
    async () => {
      const dir = join(tmp.path, "shared");
      const db = join(dir, "server.db");
      const first = await spawnServer(["--data-dir", dir], env(tmp.path));
      const api = createApi(first.url);
      const w = await registerWorker(api, "owner");

      const second = await runCli(["server", "start", "--port", "0", "--data-dir", dir], { env: env(tmp.path) });
      expect(second.code).toBe(1);
      expect(lines(second.stderr)).toHaveLength(1);
      expect(second.stderr).toContain(`database ${db} is in use by another codetether server (pid ${first.proc.proc.pid})`);
      expect(second.stdout).not.toContain("listening on");

      const up = await runCli(["up", "--port", "0", "--data-dir", dir, "--name", "ghost"], { env: env(tmp.path) });
      expect(up.code).toBe(1);
      expect(up.stderr).toContain(`database ${db} is in use by another codetether server (pid ${first.proc.proc.pid})`);
      expect(up.stdout + up.stderr).not.toContain("is up at");

      // The first server kept its data to itself: no ghost worker appeared.
      const workers = (await api.get("/v1/opencode/workers")).body as { id: string }[];
      expect(workers.map((x) => x.id)).toEqual([w.id]);
      expect(await first.stop("SIGTERM")).toBe(0);
      // A clean stop releases the lock.
      expect(existsSync(sqliteLockPaths(db).lock)).toBe(false);
      expect(existsSync(sqliteLockPaths(db).file)).toBe(false);
    },
    T,
  );

  test(
    "a server killed with SIGKILL leaves a lock that does not block the restart",
    async () => {
      const dir = join(tmp.path, "killed");
      const db = join(dir, "server.db");
      const first = await spawnServer(["--data-dir", dir], env(tmp.path));
      const w = await registerWorker(createApi(first.url), "survivor");
      expect(await first.stop("SIGKILL")).not.toBe(0);
      // The dead server's lock is still on disk: the restart must see through it.
      expect(existsSync(sqliteLockPaths(db).lock)).toBe(true);

      const again = await spawnServer(["--data-dir", dir], env(tmp.path));
      const workers = (await createApi(again.url).get("/v1/opencode/workers")).body as { id: string }[];
      expect(workers.map((x) => x.id)).toContain(w.id); // same database, data kept
      const third = await runCli(["server", "start", "--port", "0", "--data-dir", dir], { env: env(tmp.path) });
      expect(third.code).toBe(1);
      expect(third.stderr).toContain(`(pid ${again.proc.proc.pid})`);
      expect(await again.stop("SIGTERM")).toBe(0);
    },
    T,
  );

  test(
    "two servers started at the same moment on one file: exactly one runs",
    async () => {
      const dir = join(tmp.path, "race");
      const procs = [0, 1].map(() => spawnCli(["server", "start", "--port", "0", "--data-dir", dir], { env: env(tmp.path) }));
      // Each either listens or exits; whichever happens first for each.
      const outcomes = await Promise.all(
        procs.map((p) => Promise.race([p.waitFor(/listening on/).then(() => "listening"), p.exited.then((c) => `exit ${c}`)]).catch(() => "exited")),
      );
      expect(outcomes.filter((o) => o === "listening")).toHaveLength(1);
      const loser = procs[outcomes.findIndex((o) => o !== "listening")]!;
      const winner = procs[outcomes.indexOf("listening")]!;
      expect(await loser.exited).toBe(1);
      expect(loser.err()).toContain(`is in use by another codetether server (pid ${winner.proc.pid})`);
      winner.kill("SIGTERM");
      expect(await winner.exited).toBe(0);
    },
    T,
  );

  test(
    "a holder on another host (shared data directory) is named with its host",
    async () => {
      const db = join(tmp.path, "remote", "server.db");
      const a = await startServer({ host: "127.0.0.1", port: 0, authTokens: [], store: { kind: "sqlite", path: db } });
      try {
        writeFileSync(sqliteLockPaths(db).file, "4242 build-elsewhere");
        await expect(startServer({ host: "127.0.0.1", port: 0, authTokens: [], store: { kind: "sqlite", path: db } })).rejects.toThrow(
          `database ${db} is in use by another codetether server (pid 4242 on build-elsewhere)`,
        );
      } finally {
        await a.stop();
      }
    },
    T,
  );

  test(
    "two servers in one process on one file: the second is refused",
    async () => {
      const db = join(tmp.path, "inproc", "server.db");
      const a = await startServer({ host: "127.0.0.1", port: 0, authTokens: [], store: { kind: "sqlite", path: db } });
      try {
        await expect(startServer({ host: "127.0.0.1", port: 0, authTokens: [], store: { kind: "sqlite", path: db } })).rejects.toThrow(
          `database ${db} is in use by another codetether server (pid ${process.pid})`,
        );
      } finally {
        await a.stop();
      }
      const b = await startServer({ host: "127.0.0.1", port: 0, authTokens: [], store: { kind: "sqlite", path: db } });
      await b.stop();
    },
    T,
  );
});
