// Routing rules as plain functions (issue 15): what `opencode models` output becomes, what a
// worker's advertised models are stored as, and the fit rule the wake-ups use (the claim SQL
// of both stores is held to the same rule by test/integration/server-contract-routing.test.ts).
import { describe, expect, test } from "bun:test";
import { parseModelList } from "../../src/opencode/index.ts";
import { fits, normalizeModels } from "../../src/server/routing.ts";
import { capabilityList } from "../../src/commands/task/create.ts";

describe("routing", () => {
  test("parseModelList keeps provider/model lines, sorted and unique; skips warnings and blanks", () => {
    const out =
      "WARN something happened\nopenrouter/anthropic/claude-sonnet-4\n\nscripted/scripted\n  anthropic/claude-haiku  \nscripted/scripted\nnot a model\n";
    expect(parseModelList(out)).toEqual(["anthropic/claude-haiku", "openrouter/anthropic/claude-sonnet-4", "scripted/scripted"]);
    expect(parseModelList("")).toEqual([]);
  });

  test("normalizeModels: strings kept, {provider,id} and {providerID,modelID} joined, the rest dropped", () => {
    expect(normalizeModels(["a/b", " a/b ", { provider: "p", id: "m" }, { providerID: "q", modelID: "q/n" }, 3, null, {}, ""])).toEqual(["a/b", "p/m", "q/n"]);
  });

  test("fits: name, every capability, and the model unless the worker advertises none", () => {
    const w = { worker_id: "w1", name: "gpu-1", capabilities: ["build", "gpu"], models: ["p/m"] };
    const t = { target_agent_name: null, required_capabilities: [] as string[], model: null as string | null };
    expect(fits(t, w)).toBe(true);
    expect(fits({ ...t, required_capabilities: ["gpu", "build"] }, w)).toBe(true);
    expect(fits({ ...t, required_capabilities: ["gpu", "tpu"] }, w)).toBe(false);
    expect(fits({ ...t, target_agent_name: "gpu-1" }, w)).toBe(true);
    expect(fits({ ...t, target_agent_name: "other" }, w)).toBe(false);
    expect(fits({ ...t, model: "p/m" }, w)).toBe(true);
    expect(fits({ ...t, model: "p/x" }, w)).toBe(false);
    expect(fits({ ...t, model: "p/x" }, { ...w, models: [] })).toBe(true);
    // not registered: no name, no capabilities, models unknown
    expect(fits({ ...t, model: "p/x" }, null)).toBe(true);
    expect(fits({ ...t, required_capabilities: ["gpu"] }, null)).toBe(false);
  });

  test("--require: repeatable and comma lists, trimmed, repeats dropped", () => {
    expect(capabilityList(["build, gpu", "gpu", " ", "tpu"])).toEqual(["build", "gpu", "tpu"]);
    expect(capabilityList([])).toBeUndefined();
    expect(capabilityList(undefined)).toBeUndefined();
  });
});
