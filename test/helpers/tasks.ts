// A task row as the server's create builds it, for tests that work below the HTTP API
// (store, lifecycle, hub).
import { newTask } from "../../src/server/routes/tasks.ts";
import type { TaskRow } from "../../src/server/store/types.ts";

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
