// Lists several views need (workers, codebases for filters and forms), fetched once per view.
import { useEffect, useState } from "preact/hooks";
import { ROUTES } from "../../protocol/routes.ts";
import { api } from "../api.ts";

export interface Codebase {
  id: string;
  name: string;
  path: string;
  description: string | null;
  worker_id: string;
  registered_at: string;
  status: string;
}
export interface WorkerRecord {
  id: string;
  name: string;
  status: string;
  hostname: string | null;
}
export interface Task {
  id: string;
  codebase_id: string | null;
  title: string | null;
  prompt: string;
  agent_type: string;
  model: string | null;
  priority: number;
  status: "pending" | "running" | "completed" | "failed" | "cancelled";
  metadata: Record<string, unknown>;
  target_worker_id: string | null;
  target_agent_name?: string | null;
  /** Routing (issue 15): capabilities its worker must have; why it waits when no live worker can take it. */
  required_capabilities?: string[];
  waiting_reason?: string | null;
  /** Isolation (issue 15): how it ran; a worktree run's branch, commit and change totals. */
  isolation?: "shared" | "worktree" | null;
  branch?: string | null;
  commit?: string | null;
  diff_stat?: { files: number; insertions: number; deletions: number } | null;
  diff_truncated?: boolean | null;
  worker_id: string | null;
  session_id: string | null;
  result: string | null;
  error: string | null;
  attempt: number;
  max_attempts: number;
  timeout_s: number | null;
  cancel_requested: boolean;
  created_at: string;
  updated_at: string;
  started_at: string | null;
  completed_at: string | null;
}

export const isFinal = (s: string) => s === "completed" || s === "failed" || s === "cancelled";

export function useLists() {
  const [codebases, setCodebases] = useState<Codebase[]>([]);
  const [workers, setWorkers] = useState<WorkerRecord[]>([]);
  useEffect(() => {
    api<Codebase[]>(ROUTES.codebases).then(setCodebases, () => undefined); // pickers stay empty; the page shows the API error
    api<WorkerRecord[]>(ROUTES.workers).then(setWorkers, () => undefined);
  }, []);
  return { codebases, workers };
}

/** "app (build-1)" for a codebase id; "global" for none. */
export function codebaseLabel(id: string | null, codebases: Codebase[], workers: WorkerRecord[]): string {
  if (!id || id === "global") return "global";
  const c = codebases.find((x) => x.id === id);
  if (!c) return id.slice(0, 8);
  const w = workers.find((x) => x.id === c.worker_id);
  return `${c.name} (${w?.name ?? c.worker_id})`;
}
