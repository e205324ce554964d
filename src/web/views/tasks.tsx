// Tasks, newest first: filters in the URL (so a filtered list can be linked), pages by the
// server's cursors, and the page on screen refreshed every few seconds.
import { useState } from "preact/hooks";
import { ROUTES } from "../../protocol/routes.ts";
import { apiPage } from "../api.ts";
import { age, go, href, route, shortId, usePoll } from "../util.ts";
import { codebaseLabel, useLists, type Task } from "./shared.ts";

const STATUSES = ["pending", "running", "completed", "failed", "cancelled"];
const PAGE = 50;

export function Tasks() {
  const q = route.value.query;
  const filters = { status: q.get("status") ?? "", codebase_id: q.get("codebase_id") ?? "", worker_id: q.get("worker_id") ?? "" };
  const before = q.get("before") ?? "";
  const { codebases, workers } = useLists();
  const [tasks, setTasks] = useState<Task[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [total, setTotal] = useState<string>("?");
  const [error, setError] = useState<string | null>(null);

  const params = new URLSearchParams({ order: "newest", limit: String(PAGE) });
  for (const [k, v] of Object.entries(filters)) if (v) params.set(k, v);
  if (before) params.set("before", before);
  usePoll(
    async () => {
      try {
        const page = await apiPage<Task[]>(`${ROUTES.tasks}?${params}`);
        setTasks(page.items);
        setNext(page.next ? new URL(page.next, location.href).searchParams.get("before") : null);
        setTotal(page.total !== null ? page.total.toLocaleString() : page.atLeast !== null ? `${page.atLeast.toLocaleString()}+` : "?");
        setError(null);
      } catch (e) {
        setError((e as Error).message);
      }
    },
    2000,
    [params.toString()],
  );

  const setFilter = (k: string, v: string) => go(href(["tasks"], { ...filters, [k]: v }));
  const select = (k: keyof typeof filters, label: string, options: [string, string][]) => (
    <label>
      {label}
      <select name={k} value={filters[k]} onChange={(e) => setFilter(k, (e.target as HTMLSelectElement).value)}>
        <option value="">all</option>
        {options.map(([v, l]) => (
          <option value={v}>{l}</option>
        ))}
      </select>
    </label>
  );
  return (
    <section aria-labelledby="tasks-h">
      <div class="titlebar">
        <h1 id="tasks-h">Tasks</h1>
        <a class="button" href={href(["new"], { codebase: filters.codebase_id })}>
          New task
        </a>
      </div>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        {select(
          "status",
          "Status",
          STATUSES.map((s) => [s, s]),
        )}
        {select("codebase_id", "Codebase", [["global", "global"], ...codebases.map((c): [string, string] => [c.id, codebaseLabel(c.id, codebases, workers)])])}
        {select(
          "worker_id",
          "Worker",
          workers.map((w): [string, string] => [w.id, w.name]),
        )}
      </form>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {tasks && (
        <p class="muted" id="tasks-count">
          {tasks.length} of {total} {before ? "(older page)" : ""}
        </p>
      )}
      {tasks && !tasks.length && <p>No tasks match.</p>}
      {!!tasks?.length && (
        <div class="scroll">
          <table id="tasks">
            <thead>
              <tr>
                <th>Task</th>
                <th>Status</th>
                <th>Prompt</th>
                <th>Codebase</th>
                <th>Agent</th>
                <th>Worker</th>
                <th>Created</th>
              </tr>
            </thead>
            <tbody>
              {tasks.map((t) => (
                <tr data-task={t.id}>
                  <td>
                    <a href={href(["tasks", t.id])}>
                      <code>{shortId(t.id)}</code>
                    </a>
                  </td>
                  <td>
                    <span class={`badge ${t.status}`}>{t.status}</span>
                  </td>
                  <td class="prompt">{t.title ?? t.prompt}</td>
                  <td>{codebaseLabel(t.codebase_id, codebases, workers)}</td>
                  <td>{t.agent_type}</td>
                  <td>{workers.find((w) => w.id === t.worker_id)?.name ?? t.worker_id ?? "—"}</td>
                  <td title={t.created_at}>{age(t.created_at)} ago</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <nav class="pager" aria-label="Pages">
        {before && <a href={href(["tasks"], filters)}>Newest</a>}
        {next && <a href={href(["tasks"], { ...filters, before: next })}>Older</a>}
      </nav>
    </section>
  );
}
