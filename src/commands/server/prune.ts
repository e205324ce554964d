// `codetether server prune`: apply the retention settings now, against the server's own
// database (SQLite file or PostgreSQL), whether or not the server is running: the work goes
// in small batches, so a running server is not held up. --dry-run only counts.
import { existsSync } from "node:fs";
import { CliError } from "../../util/errors.ts";
import { defineCommand } from "../_command.ts";
import { printJson } from "../_output.ts";
import { commandConfig, jsonArg } from "../_shared.ts";
import { retentionOf, storeOptions } from "./_store.ts";

const cfg = commandConfig(["server"], {
  "dry-run": { type: "boolean", description: "Only count what would be deleted" },
  ...jsonArg,
});

export default defineCommand({
  meta: {
    name: "prune",
    description:
      "Delete task output past retention_days and tasks past task_retention_days (the server also does this every hour).\n" +
      "Example: codetether server prune --dry-run --retention-days 7",
  },
  args: cfg.args,
  async run({ args }) {
    const { config } = await cfg.load(args);
    const { cutoffs, prunable, prune } = await import("../../server/retention.ts");
    const settings = retentionOf(config);
    const where = storeOptions(config);
    // Not through the server's lock: a running server keeps serving while this deletes
    // (SQLite's WAL lets both in; each batch is one short transaction).
    if (where.kind === "sqlite" && !existsSync(where.path))
      throw new CliError(`no database at ${where.path} (set db_path, data_dir or database_url to the server's)`);
    const store =
      where.kind === "sqlite"
        ? (await import("../../server/store/sqlite.ts")).openSqlite(where.path)
        : await (await import("../../server/store/index.ts")).openStore(where);
    try {
      const dry = !!args["dry-run"];
      const r = dry ? await prunable(store, settings) : await prune(store, settings);
      const c = cutoffs(settings);
      if (args.json) return printJson({ dry_run: dry, ...r, output_before: c.output || null, tasks_before: c.tasks || null });
      const verb = dry ? "would delete" : "deleted";
      const out = c.output ? `${r.output_lines} output lines of ${r.output_tasks} tasks finished before ${c.output}` : "no output (retention_days 0)";
      const tasks = c.tasks ? `${r.tasks} tasks finished before ${c.tasks}` : "no tasks (task_retention_days 0)";
      process.stdout.write(`${verb} ${out}; ${verb} ${tasks}\n`);
    } finally {
      await store.close();
    }
  },
});
