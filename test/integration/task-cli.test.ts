// `task create` as people use it from a shell: the prompt as arguments or read from stdin
// (`--prompt -`), and Ctrl-C while waiting (exit 130; the task keeps going on the server).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { startServerProc, startWorkerProc, type ServerProc, type WorkerProc } from "../helpers/cluster.ts";
import { killAll, runCli, spawnCli, tempDir } from "../helpers/proc.ts";

const tmp = tempDir("ct-task-cli-");
let server: ServerProc;
let worker: WorkerProc;
beforeAll(async () => {
  server = await startServerProc(join(tmp.path, "server"));
  worker = startWorkerProc(server.url, { name: "w-cli", dataDir: join(tmp.path, "w-cli") });
  await worker.waitFor(/task stream connected/);
});
afterAll(async () => {
  worker.kill("SIGTERM");
  await worker.exited;
  await killAll();
  tmp.cleanup();
});

const env = () => ({ A2A_CONFIG: undefined, A2A_SERVER_URL: server.url });

describe("task create", () => {
  test("--prompt - reads the prompt from stdin (several lines, trailing newline dropped)", async () => {
    const r = await runCli(["task", "create", "--codebase", "global", "--agent", "echo", "--prompt", "-", "--wait", "--json"], {
      env: env(),
      stdin: "first line from stdin\nsecond line\n",
    });
    expect({ code: r.code, stderr: r.stderr }).toMatchObject({ code: 0 });
    const t = JSON.parse(r.stdout);
    expect(t.status).toBe("completed");
    expect((await server.client.getTask(t.id)).prompt).toBe("first line from stdin\nsecond line");
    expect(t.result).toBe("first line from stdin\nsecond line");
  });

  test("--prompt - with empty stdin is a usage error (exit 2) and creates nothing", async () => {
    const before = (await server.client.listTasks({ limit: 1000 })).length;
    const r = await runCli(["task", "create", "--codebase", "global", "--agent", "echo", "--prompt", "-"], { env: env(), stdin: "\n" });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--prompt: must not be empty");
    expect((await server.client.listTasks({ limit: 1000 })).length).toBe(before);
  });

  test("the prompt may be given as arguments, as a new user first tries: words joined by spaces, flags anywhere", async () => {
    const r = await runCli(["task", "create", "say", "--agent", "echo", "hello there", "--codebase", "global", "--wait", "--json"], { env: env() });
    expect({ code: r.code, stderr: r.stderr }).toMatchObject({ code: 0 });
    const t = JSON.parse(r.stdout);
    expect((await server.client.getTask(t.id)).prompt).toBe("say hello there");
    expect(t.result).toBe("say hello there");
  });

  test("a prompt given twice, or not at all, is a usage error (exit 2) naming both ways, and creates nothing", async () => {
    const before = (await server.client.listTasks({ limit: 1000 })).length;
    const twice = await runCli(["task", "create", "--codebase", "global", "do this", "--prompt", "or that"], { env: env() });
    expect(twice.code).toBe(2);
    expect(twice.stderr.trim().split("\n")).toHaveLength(1);
    expect(twice.stderr).toContain("the prompt is given twice: as TEXT ('do this') and as --prompt");
    const none = await runCli(["task", "create", "--codebase", "global"], { env: env() });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("missing the prompt: codetether task create 'what to do' --codebase NAME (or --prompt TEXT)");
    const help = await runCli(["task", "create", "--help"], { env: env() });
    expect(help.stdout).toContain("Usage: codetether task create [TEXT...]");
    expect((await server.client.listTasks({ limit: 1000 })).length).toBe(before);
  });

  test("Ctrl-C during --wait exits 130 and says the task keeps going; the task is still there", async () => {
    // Targeted at a worker that does not exist: it waits for ever unless interrupted.
    const p = spawnCli(["task", "create", "--codebase", "global", "--agent", "echo", "--prompt", "wait for me", "--target-worker", "nobody", "--wait"], {
      env: env(),
    });
    const [, id] = await p.waitFor(/task (\S+) created/);
    p.kill("SIGINT");
    expect(await p.exited).toBe(130);
    expect(p.err()).toContain(`stopped waiting; task ${id} keeps going (codetether task cancel ${id})`);
    expect((await server.client.getTask(id!)).status).toBe("pending");
    await server.client.cancelTask(id!);
  });
});
