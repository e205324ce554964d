// Codebases: each with its worker and queue; register one by path (any worker that has it)
// or for a given worker.
import { useState } from "preact/hooks";
import { ROUTES } from "../../protocol/routes.ts";
import { api, ApiError } from "../api.ts";
import { href, usePoll } from "../util.ts";
import type { Codebase, WorkerRecord } from "./shared.ts";

export function Codebases() {
  const [codebases, setCodebases] = useState<Codebase[] | null>(null);
  const [workers, setWorkers] = useState<WorkerRecord[]>([]);
  const [pending, setPending] = useState<Map<string, number>>(new Map());
  const [msg, setMsg] = useState<{ kind: "ok" | "error"; text: preact.ComponentChildren } | null>(null);
  const load = async () => {
    const [c, w, q] = await Promise.all([
      api<Codebase[]>(ROUTES.codebases),
      api<WorkerRecord[]>(ROUTES.workers),
      api<{ codebases: { codebase_id: string; pending: number }[] }>(ROUTES.monitorQueue),
    ]);
    setCodebases(c);
    setWorkers(w);
    setPending(new Map(q.codebases.map((x) => [x.codebase_id, x.pending])));
  };
  usePoll(load, 5000, []);

  async function register(e: Event) {
    e.preventDefault();
    const form = e.target as HTMLFormElement;
    const f = new FormData(form);
    const body = { name: String(f.get("name")).trim(), path: String(f.get("path")).trim(), worker_id: String(f.get("worker_id") || "") || undefined };
    setMsg(null);
    try {
      const r = await api<any>(ROUTES.codebases, { body });
      if (r.pending)
        setMsg({
          kind: "ok",
          text: (
            <>
              Asked the workers: the first that has <code>{body.path}</code> registers it (<a href={href(["tasks", r.task_id])}>task</a>).
            </>
          ),
        });
      else
        setMsg({
          kind: "ok",
          text: (
            <>
              Registered <a href={href(["sessions", r.codebase.id])}>{r.codebase.name}</a>.
            </>
          ),
        });
      form.reset();
      await load();
    } catch (err) {
      const text =
        err instanceof ApiError && /no workers available/i.test(err.message) ? (
          <>
            No workers available: registering by path needs a running worker to find the directory. Start one (
            <code>codetether worker start --server {location.origin}</code>) or choose a worker above.
          </>
        ) : (
          (err as Error).message
        );
      setMsg({ kind: "error", text });
    }
  }
  const workerName = (id: string) => workers.find((w) => w.id === id)?.name ?? id;
  const workerStatus = (id: string) => workers.find((w) => w.id === id)?.status ?? "unknown";
  return (
    <section aria-labelledby="cb-h">
      <h1 id="cb-h">Codebases</h1>
      {codebases && !codebases.length && <p>No codebase yet.</p>}
      {!!codebases?.length && (
        <div class="scroll">
          <table id="codebases">
            <thead>
              <tr>
                <th>Name</th>
                <th>Path</th>
                <th>Worker</th>
                <th class="num">Pending</th>
                <th>Links</th>
              </tr>
            </thead>
            <tbody>
              {codebases.map((c) => (
                <tr data-codebase={c.id}>
                  <td>{c.name}</td>
                  <td>
                    <code>{c.path}</code>
                  </td>
                  <td>
                    {workerName(c.worker_id)} <span class={`badge ${workerStatus(c.worker_id)}`}>{workerStatus(c.worker_id)}</span>
                  </td>
                  <td class="num">{pending.get(c.id) ?? 0}</td>
                  <td>
                    <a href={href(["sessions", c.id])}>Sessions</a> · <a href={href(["tasks"], { codebase_id: c.id })}>Tasks</a> ·{" "}
                    <a href={href(["new"], { codebase: c.id })}>New task</a>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <h2>Register a codebase</h2>
      <form class="card form" onSubmit={register}>
        <div class="row">
          <label>
            Name
            <input name="name" required />
          </label>
          <label>
            Path <span class="muted">(absolute, on the worker)</span>
            <input name="path" required placeholder="/srv/app" />
          </label>
          <label>
            Worker
            <select name="worker_id">
              <option value="">any worker that has the path</option>
              {workers
                .filter((w) => w.status !== "offline")
                .map((w) => (
                  <option value={w.id}>{w.name}</option>
                ))}
            </select>
          </label>
        </div>
        {msg && (
          <p class={msg.kind === "error" ? "error" : "ok"} role={msg.kind === "error" ? "alert" : "status"}>
            {msg.text}
          </p>
        )}
        <button type="submit">Register</button>
      </form>
    </section>
  );
}
