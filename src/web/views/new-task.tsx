// New task: the fields of POST /tasks; on success, the new task's page (its output live).
import { useState } from "preact/hooks";
import { ROUTES } from "../../protocol/routes.ts";
import { api } from "../api.ts";
import { go, href, route } from "../util.ts";
import { codebaseLabel, useLists, type Task } from "./shared.ts";

export function NewTask() {
  const { codebases, workers } = useLists();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const preset = route.value.query.get("codebase") ?? "";

  async function submit(e: Event) {
    e.preventDefault();
    const f = new FormData(e.target as HTMLFormElement);
    const s = (k: string) => String(f.get(k) ?? "").trim();
    const n = (k: string) => (s(k) === "" ? undefined : Number(s(k)));
    const body = {
      codebase_id: s("codebase_id") || "global",
      prompt: s("prompt"),
      agent_type: s("agent_type") || "build",
      model: s("model") || undefined,
      priority: n("priority") ?? 0,
      timeout_s: n("timeout_s"),
      target_worker_id: s("target_worker_id") || undefined,
    };
    setBusy(true);
    setError(null);
    try {
      const t = await api<Task>(ROUTES.tasks, { body });
      go(href(["tasks", t.id]));
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  }
  return (
    <section aria-labelledby="new-h">
      <h1 id="new-h">New task</h1>
      <form class="card form" onSubmit={submit}>
        <label>
          Codebase
          <select name="codebase_id" value={preset}>
            <option value="global">global (any worker's home directory)</option>
            {codebases
              .filter((c) => c.name !== "global")
              .map((c) => (
                <option value={c.id}>
                  {codebaseLabel(c.id, codebases, workers)} — {c.path}
                </option>
              ))}
          </select>
        </label>
        <label>
          Prompt
          <textarea name="prompt" rows={6} required placeholder="What should the agent do?" />
        </label>
        <div class="row">
          <label>
            Agent
            <input name="agent_type" value="build" list="agents" required />
            <datalist id="agents">
              <option value="build" />
              <option value="plan" />
              <option value="echo" />
              <option value="noop" />
            </datalist>
          </label>
          <label>
            Model <span class="muted">(provider/model)</span>
            <input name="model" placeholder="worker default" />
          </label>
        </div>
        <div class="row">
          <label>
            Priority
            <input name="priority" type="number" step="1" value="0" />
          </label>
          <label>
            Timeout (s)
            <input name="timeout_s" type="number" min="1" placeholder="worker default" />
          </label>
          <label>
            Target worker
            <select name="target_worker_id">
              <option value="">any eligible</option>
              {workers.map((w) => (
                <option value={w.id}>{w.name}</option>
              ))}
            </select>
          </label>
        </div>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          Create task
        </button>
      </form>
    </section>
  );
}
