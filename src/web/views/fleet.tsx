// Fleet: every worker with its state and heartbeat age, and the queue per codebase.
import { useState } from "preact/hooks";
import { ROUTES } from "../../protocol/routes.ts";
import { api } from "../api.ts";
import { age, href, usePoll } from "../util.ts";
import { ActivityCharts } from "./charts.tsx";

interface MonitorWorker {
  id: string;
  name: string;
  status: "active" | "stale" | "offline";
  last_heartbeat: string;
  codebases: number;
  tasks_completed: number;
  tasks_running: number;
  hostname: string | null;
  capabilities: string[];
}
interface QueueRow {
  codebase_id: string;
  name: string;
  worker_id: string | null;
  pending: number;
  oldest_pending_at: string;
}

export function Fleet() {
  const [workers, setWorkers] = useState<MonitorWorker[] | null>(null);
  const [queue, setQueue] = useState<QueueRow[]>([]);
  const [error, setError] = useState<string | null>(null);
  usePoll(
    async () => {
      try {
        const [w, q] = await Promise.all([api<{ workers: MonitorWorker[] }>(ROUTES.monitorWorkers), api<{ codebases: QueueRow[] }>(ROUTES.monitorQueue)]);
        setWorkers(w.workers);
        setQueue(q.codebases);
        setError(null);
      } catch (e) {
        setError((e as Error).message);
      }
    },
    3000,
    [],
  );
  const names = new Map((workers ?? []).map((w) => [w.id, w.name]));
  const counts = { active: 0, stale: 0, offline: 0 };
  for (const w of workers ?? []) counts[w.status]++;
  return (
    <section aria-labelledby="fleet-h">
      <h1 id="fleet-h">Fleet</h1>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <p class="summary">
        <span class="badge active">{counts.active} active</span> <span class="badge stale">{counts.stale} stale</span>{" "}
        <span class="badge offline">{counts.offline} offline</span> · {queue.reduce((n, q) => n + q.pending, 0)} tasks waiting
      </p>
      <ActivityCharts />
      <h2>Workers</h2>
      {workers && !workers.length && (
        <p>
          No worker has registered yet. Start one with <code>codetether worker start --server {location.origin}</code>.
        </p>
      )}
      {!!workers?.length && (
        <div class="scroll">
          <table id="workers">
            <thead>
              <tr>
                <th>Worker</th>
                <th>Status</th>
                <th>Heartbeat</th>
                <th>Host</th>
                <th>Capabilities</th>
                <th class="num">Codebases</th>
                <th class="num">Running</th>
                <th class="num">Completed</th>
              </tr>
            </thead>
            <tbody>
              {workers.map((w) => (
                <tr data-worker={w.id}>
                  <td>
                    <a href={href(["tasks"], { worker_id: w.id })}>{w.name}</a>
                    {w.name !== w.id && <div class="muted">{w.id}</div>}
                  </td>
                  <td>
                    <span class={`badge ${w.status}`}>{w.status}</span>
                  </td>
                  <td>{age(w.last_heartbeat)} ago</td>
                  <td>{w.hostname ?? "—"}</td>
                  <td>{w.capabilities.join(", ") || "—"}</td>
                  <td class="num">{w.codebases}</td>
                  <td class="num">{w.tasks_running}</td>
                  <td class="num">{w.tasks_completed}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <h2>Queue</h2>
      {!queue.length ? (
        <p>No task is waiting.</p>
      ) : (
        <div class="scroll">
          <table id="queue">
            <thead>
              <tr>
                <th>Codebase</th>
                <th>Worker</th>
                <th class="num">Pending</th>
                <th>Oldest waiting</th>
              </tr>
            </thead>
            <tbody>
              {queue.map((q) => (
                <tr>
                  <td>
                    <a href={href(["tasks"], { codebase_id: q.codebase_id, status: "pending" })}>{q.name}</a>
                  </td>
                  <td>{q.worker_id ? (names.get(q.worker_id) ?? q.worker_id) : "any with global"}</td>
                  <td class="num">{q.pending}</td>
                  <td>{age(q.oldest_pending_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
