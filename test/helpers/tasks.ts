// Rows as the server builds them, for tests that work below the HTTP API (store,
// lifecycle, hub): a task as a create makes it, a worker as a registration does.
import { newTask } from "../../src/server/routes/tasks.ts";
import type { TaskRow, WorkerInput } from "../../src/server/store/types.ts";

/** A fresh pending task of `agentType` on the "global" route, with no requirements. */
export function pendingTask(agentType = "build"): TaskRow {
  return newTask({
    codebase_id: null,
    title: null,
    prompt: "p",
    agent_type: agentType,
    model: null,
    priority: 0,
    metadata: {},
    target_worker_id: null,
    target_agent_name: null,
    max_attempts: 3,
    timeout_s: null,
  });
}

/** A worker `id` as a registration writes it: no capabilities, models or codebases, `slots` slots. */
export function workerInput(id: string, slots = 2): WorkerInput {
  return {
    worker_id: id,
    name: id,
    capabilities: [],
    hostname: null,
    models: [],
    codebases: [],
    global_codebase_id: null,
    max_concurrent_tasks: slots,
    version: null,
    owner: null,
    instance_id: null,
    instance_pid: null,
    instance_started_at: null,
  };
}
