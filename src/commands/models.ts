// `codetether models`: the models the fleet can run and which workers have each, from what
// workers advertise at registration (their OpenCode's `opencode models`). A worker that
// advertises none (an older worker, or OpenCode missing) may take a task with any model.
import { defineCommand } from "./_command.ts";
import type { WorkerRecord } from "../protocol/index.ts";
import { clientFor } from "./_api.ts";
import { note, printJson, table } from "./_output.ts";
import { commandConfig, jsonArg } from "./_shared.ts";

const cfg = commandConfig(["client"], {
  all: { type: "boolean", description: "Include offline workers (default: active and stale ones)" },
  ...jsonArg,
});

export interface FleetModels {
  models: { model: string; workers: string[] }[];
  /** Workers that advertise no models: they may take a task with any model. */
  unknown: string[];
}

export function fleetModels(workers: WorkerRecord[]): FleetModels {
  const by = new Map<string, string[]>();
  const unknown: string[] = [];
  for (const w of workers) {
    const models = w.models.filter((m): m is string => typeof m === "string");
    if (!models.length) unknown.push(w.worker_id);
    for (const m of models) by.set(m, [...(by.get(m) ?? []), w.worker_id]);
  }
  const models = [...by.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([model, ids]) => ({ model, workers: ids.sort() }));
  return { models, unknown: unknown.sort() };
}

export default defineCommand({
  meta: {
    name: "models",
    description:
      "List the models the fleet's workers can run (what each worker's OpenCode lists) and which workers have each.\n" +
      "A task with --model goes only to a worker that has the model, or to one that advertises none (unknown: any model).\n" +
      "Example: codetether models --json | jq -r '.models[].model'",
  },
  args: cfg.args,
  async run({ args }) {
    const { config } = await cfg.load(args);
    const client = clientFor(config);
    const workers = (await client.listWorkers()).filter((w) => args.all || w.status !== "offline");
    const fleet = fleetModels(workers);
    if (args.json) return printJson(fleet);
    if (fleet.models.length)
      process.stdout.write(
        table(
          ["MODEL", "WORKERS"],
          fleet.models.map((m) => [m.model, m.workers.join(", ")]),
        ),
      );
    else note(workers.length ? "no worker advertises any model" : "no worker is registered");
    if (fleet.unknown.length) note(`advertising no models (may take a task with any model): ${fleet.unknown.join(", ")}`);
  },
});
