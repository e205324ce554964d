// The direct, read-only reader of OpenCode's database against the CLI reader, on sessions
// made by real `opencode run`s: both must produce the very same records, reading must not
// change the database, and whatever the db reader cannot read must go to the CLI.
import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { MessageRecord } from "../../src/protocol/index.ts";
import { dbPathFromEnv, locateOpencodeDb } from "../../src/opencode/env.ts";
import { cliReader } from "../../src/opencode/sessions-cli.ts";
import { dbFirstReader, dbReader, openOpencodeDb, opencodeReader } from "../../src/opencode/sessions-db.ts";
import type { SessionReader } from "../../src/opencode/index.ts";
import { runOpencode } from "../../src/opencode/run.ts";
import { startModelServer } from "../fixtures/model-server.ts";
import { createOpencodeEnv, OPENCODE_BIN, type OpencodeEnv } from "../helpers/opencode-env.ts";

const ms = startModelServer();
let oe: OpencodeEnv;
let dbPath: string;
const ids: Record<"tool" | "git" | "plain", string> = { tool: "", git: "", plain: "" };

beforeAll(async () => {
  oe = createOpencodeEnv({ modelServerUrl: ms.url });
  const toolDir = oe.makeProject("tool");
  const plainDir = oe.makeProject("plain");
  const gitDir = oe.makeProject("gitrepo");
  const git = (...a: string[]) => spawnSync("git", ["-c", "user.email=t@example.com", "-c", "user.name=t", ...a], { cwd: gitDir });
  git("init", "-q");
  git("commit", "-q", "--allow-empty", "-m", "init");

  ms.setScript([
    // tool: a write, its answer; then continued with --session
    { type: "tool", name: "write", args: { filePath: "notes.md", content: "# notes\n" } },
    { type: "text", text: "Created notes.md" },
    { type: "text", text: "continued" },
    // git: a write in a git repo, a failing read (tool state "error"), an answer
    { type: "tool", name: "write", args: { filePath: "src.txt", content: "one\ntwo\n" } },
    { type: "tool", name: "read", args: { filePath: join(gitDir, "missing.txt") } },
    { type: "text", text: "done in git" },
    // plain: text only
    { type: "text", text: "hello" },
  ]);
  const base = { bin: OPENCODE_BIN, agent: "build", env: oe.env, timeoutMs: 120_000, onLine: () => {} };
  // one after the other: each run takes the next steps of the script
  const first = await runOpencode({ ...base, cwd: toolDir, prompt: "write notes" });
  const again = await runOpencode({ ...base, cwd: toolDir, prompt: "continue", sessionId: first.sessionId });
  const inGit = await runOpencode({ ...base, cwd: gitDir, prompt: "write src, read missing" });
  const plain = await runOpencode({ ...base, cwd: plainDir, prompt: "say hello" });
  for (const r of [first, again, inGit, plain]) if (r.status !== "completed") throw new Error(`setup run failed: ${r.error}`);
  if (again.sessionId !== first.sessionId) throw new Error("--session started a new session");
  ids.tool = first.sessionId!;
  ids.git = inGit.sessionId!;
  ids.plain = plain.sessionId!;
  dbPath = join(oe.dataDir, "opencode.db");
}, 300_000);

afterAll(async () => {
  await ms.stop();
  oe?.cleanup();
});

/** Every session of the list, exported, with the time each part took. */
async function readAll(r: SessionReader) {
  const t0 = performance.now();
  const list = await r.list();
  const t1 = performance.now();
  const exports = [];
  for (const s of list) exports.push(await r.export(s.id));
  const t2 = performance.now();
  return { list, exports, listMs: t1 - t0, exportMs: t2 - t1 };
}

/** A CLI reader that fails: proves a call was answered from the db. */
const noCli: SessionReader = {
  list: () => Promise.reject(new Error("the CLI must not be needed")),
  export: () => Promise.reject(new Error("the CLI must not be needed")),
};

const fileState = (p: string) => {
  if (!existsSync(p)) return null;
  const st = statSync(p);
  return { size: st.size, mtimeMs: st.mtimeMs, sha256: createHash("sha256").update(readFileSync(p)).digest("hex") };
};

describe("OpenCode db reader vs. the CLI, on real sessions", () => {
  test("the db is where the env says, and where `opencode db path` says", async () => {
    const printed = spawnSync(OPENCODE_BIN, ["db", "path"], { env: { ...process.env, ...oe.env }, encoding: "utf8" }).stdout.trim();
    expect(await locateOpencodeDb(OPENCODE_BIN, oe.env)).toBe(printed);
    expect(printed).toBe(dbPath);
    expect(existsSync(`${dbPath}-shm`)).toBe(true); // OpenCode leaves its WAL files: the db reader can open it
  }, 60_000);

  test("list() and export() deep-equal the CLI reader's output for every session", async () => {
    const db = openOpencodeDb(dbPath);
    expect(db).not.toBeNull();
    let fromDb: Awaited<ReturnType<typeof readAll>>;
    try {
      fromDb = await readAll(dbReader(db!));
    } finally {
      db!.close();
    }
    const fromCli = await readAll(cliReader(OPENCODE_BIN, oe.env));
    const n = fromCli.list.length;
    console.log(
      `[timing] ${n} sessions, list + ${n} exports: CLI ${Math.round(fromCli.listMs)} + ${Math.round(fromCli.exportMs)} ms, ` +
        `db ${fromDb.listMs.toFixed(2)} + ${fromDb.exportMs.toFixed(2)} ms ` +
        `(${Math.round((fromCli.listMs + fromCli.exportMs) / (fromDb.listMs + fromDb.exportMs))}x)`,
    );

    expect(fromCli.list.map((s) => s.id).sort()).toEqual(Object.values(ids).sort());
    expect(fromDb.list).toEqual(fromCli.list); // ids, titles, directories, times, counts, summary, order
    expect(fromDb.exports).toEqual(fromCli.exports); // sessions, messages, parts (tool state incl.)

    // the sessions hold what the comparison is meant to cover
    const byId = new Map(fromDb.exports.map((e) => [e.session!.id, e]));
    const tool = byId.get(ids.tool)!;
    expect(tool.messages.map((m) => m.role)).toEqual(["user", "assistant", "assistant", "user", "assistant"]);
    expect(tool.messages.at(-1)!.parts.find((p) => p.type === "text")?.text).toBe("continued");
    const write = tool.messages[1]!.parts.find((p) => p.type === "tool")!;
    expect(write).toMatchObject({ tool: "write", state: { status: "completed", input: { filePath: "notes.md", content: "# notes\n" } } });
    const gitParts = byId.get(ids.git)!.messages.flatMap((m) => m.parts);
    expect(gitParts.find((p) => p.tool === "read")?.state).toMatchObject({ status: "error" });
    expect(gitParts.find((p) => p.type === "text" && p.text === "done in git")).toBeDefined();
    for (const e of fromDb.exports) for (const m of e.messages) expect(MessageRecord.safeParse(m).success).toBe(true);
    expect(fromDb.list.find((s) => s.id === ids.tool)?.messageCount).toBe(5);
  }, 120_000);

  test("reading leaves the db files as they were and creates no journal", async () => {
    const files = [dbPath, `${dbPath}-wal`, `${dbPath}-shm`];
    const before = files.map(fileState);
    const listing = readdirSync(oe.dataDir).sort();
    const reader = dbFirstReader(OPENCODE_BIN, oe.env, noCli);
    for (const s of await reader.list()) await reader.export(s.id);
    await Bun.sleep(50); // mtime granularity
    expect(fileState(dbPath)).toEqual(before[0]!);
    expect(fileState(`${dbPath}-wal`)).toEqual(before[1]!); // the WAL too: nothing written, nothing checkpointed
    expect(fileState(`${dbPath}-shm`)?.size).toBe(before[2]!.size);
    expect(readdirSync(oe.dataDir).sort()).toEqual(listing);
    expect(existsSync(`${dbPath}-journal`)).toBe(false);
  }, 60_000);

  test("the reader sync uses reads the db: a changed copy shows its change", async () => {
    // a copy in rollback-journal mode with one title changed, given as the db path
    const dir = join(oe.root, "copy");
    mkdirSync(dir, { recursive: true });
    const copy = join(dir, "opencode.db");
    for (const f of ["", "-wal", "-shm"]) copyFileSync(dbPath + f, copy + f);
    const w = new Database(copy);
    w.exec("PRAGMA journal_mode = DELETE");
    w.query("UPDATE session SET title = 'from the copy' WHERE id = ?").run(ids.plain);
    w.close();
    const cli = cliReader(OPENCODE_BIN, oe.env);
    const reader = dbFirstReader(OPENCODE_BIN, oe.env, cli, async () => copy);
    const list = await reader.list();
    expect(list.find((s) => s.id === ids.plain)?.title).toBe("from the copy");
    expect((await reader.export(ids.plain)).session!.title).toBe("from the copy");
    expect(readdirSync(dir)).toEqual(["opencode.db"]); // no journal, no WAL files
  }, 60_000);

  test("session summaries (with diffs, partly or wholly null) map like `opencode export`", async () => {
    // our runs leave summary_diffs NULL: set it, and the other cases, on a copy both readers read
    const dir = join(oe.root, "summary");
    mkdirSync(dir, { recursive: true });
    const copy = join(dir, "opencode.db");
    for (const f of ["", "-wal", "-shm"]) copyFileSync(dbPath + f, copy + f);
    const w = new Database(copy);
    const diffs = [{ file: "a.txt", patch: "@@ -0,0 +1 @@\n+a\n", additions: 1, deletions: 0, status: "added" }];
    w.query("UPDATE session SET summary_diffs = ?, summary_additions = 1, summary_files = NULL WHERE id = ?").run(JSON.stringify(diffs), ids.tool);
    w.query("UPDATE session SET summary_additions = NULL, summary_deletions = NULL, summary_files = NULL WHERE id = ?").run(ids.plain);
    w.close();
    // the CLI first: OpenCode re-creates the -wal/-shm files the close above removed
    const cli = cliReader(OPENCODE_BIN, { ...oe.env, OPENCODE_DB: copy });
    const viaCli = { list: await cli.list(), tool: await cli.export(ids.tool), plain: await cli.export(ids.plain) };
    const db = openOpencodeDb(copy);
    expect(db).not.toBeNull();
    try {
      const r = dbReader(db!);
      expect({ list: await r.list(), tool: await r.export(ids.tool), plain: await r.export(ids.plain) }).toEqual(viaCli);
    } finally {
      db!.close();
    }
    expect(viaCli.tool.session!.summary).toEqual({ additions: 1, deletions: 0, files: 0, diffs });
    expect(viaCli.plain.session!.summary).toBeUndefined();
  }, 120_000);

  test("no db file: the reader falls back to the CLI and gives its records", async () => {
    const missing = join(oe.root, "nowhere", "opencode.db");
    const cli = cliReader(OPENCODE_BIN, oe.env);
    const reader = dbFirstReader(OPENCODE_BIN, oe.env, cli, async () => missing);
    expect(await reader.list()).toEqual(await cli.list());
    const exp = await reader.export(ids.git);
    expect(exp.messages.flatMap((m) => m.parts).find((p) => p.type === "text" && p.text === "done in git")).toBeDefined();
    expect(existsSync(missing)).toBe(false);
    expect(existsSync(join(oe.root, "nowhere"))).toBe(false);
  }, 120_000);

  test("unreadable or unknown dbs are not opened (-> CLI), and nothing is created", () => {
    const dir = join(oe.root, "odd");
    mkdirSync(dir, { recursive: true });
    // WAL db without its -wal/-shm: a read-only open would create them
    const nowal = join(dir, "nowal.db");
    copyFileSync(dbPath, nowal);
    copyFileSync(`${dbPath}-wal`, `${nowal}-wal`);
    expect(openOpencodeDb(nowal)).toBeNull();
    expect(existsSync(`${nowal}-shm`)).toBe(false);
    // a schema this reader does not know
    const odd = join(dir, "odd.db");
    const w = new Database(odd);
    w.exec("PRAGMA journal_mode = DELETE; CREATE TABLE session (id TEXT); CREATE TABLE message (id TEXT); CREATE TABLE part (id TEXT)");
    w.close();
    expect(openOpencodeDb(odd)).toBeNull();
    // not SQLite at all, and a missing file
    const junk = join(dir, "junk.db");
    writeFileSync(junk, "x".repeat(200));
    expect(openOpencodeDb(junk)).toBeNull();
    expect(openOpencodeDb(join(dir, "missing.db"))).toBeNull();
    expect(readdirSync(dir).sort()).toEqual(["junk.db", "nowal.db", "nowal.db-wal", "odd.db"]);
  });

  test("an unknown session id fails like the CLI, without running it", async () => {
    const reader = dbFirstReader(OPENCODE_BIN, oe.env, noCli);
    await expect(reader.export("ses_doesnotexist")).rejects.toThrow("Session not found: ses_doesnotexist");
    await expect(opencodeReader(OPENCODE_BIN, oe.env).export("ses_doesnotexist")).rejects.toThrow("Session not found: ses_doesnotexist");
  }, 60_000);

  test("no db yet: `opencode db path` is asked (it creates the db) and the db reader lists nothing", async () => {
    const env = { ...oe.env, XDG_DATA_HOME: join(oe.root, "fresh-data") };
    const expected = join(oe.root, "fresh-data", "opencode", "opencode.db");
    expect(existsSync(expected)).toBe(false);
    expect(await locateOpencodeDb(OPENCODE_BIN, env)).toBe(expected);
    expect(existsSync(expected)).toBe(true);
    expect(await dbFirstReader(OPENCODE_BIN, env, noCli).list()).toEqual([]);
  }, 60_000);

  test("db path from the env: OPENCODE_DB (absolute, relative, :memory:), XDG_DATA_HOME, HOME", () => {
    expect(dbPathFromEnv({ OPENCODE_DB: "/x/y.db" })).toBe("/x/y.db");
    expect(dbPathFromEnv({ OPENCODE_DB: "y.db", XDG_DATA_HOME: "/d" })).toBe("/d/opencode/y.db");
    expect(dbPathFromEnv({ OPENCODE_DB: ":memory:" })).toBeNull();
    expect(dbPathFromEnv({ XDG_DATA_HOME: "/d" })).toBe("/d/opencode/opencode.db");
    expect(dbPathFromEnv({ XDG_DATA_HOME: "", HOME: "/h" })).toBe("/h/.local/share/opencode/opencode.db");
  });
});
