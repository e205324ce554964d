// One task: its fields, live output, Cancel, Run again (same fields, a new task) and the
// link to the OpenCode session it ran in.
import { useState } from "preact/hooks";
import { path, ROUTES } from "../../protocol/routes.ts";
import { api } from "../api.ts";
import { age, go, href, usePoll, when } from "../util.ts";
import { TaskOutput } from "./output.tsx";
import { codebaseLabel, isFinal, useLists, type Task } from "./shared.ts";

/** The create body that repeats `t`: what Run again sends. */
export function repeatBody(t: Task) {
  return {
    codebase_id: t.codebase_id,
    title: t.title ?? undefined,
    prompt: t.prompt,
    agent_type: t.agent_type,
    model: t.model ?? undefined,
    priority: t.priority,
    metadata: t.metadata,
    target_worker_id: t.target_worker_id ?? undefined,
    target_agent_name: t.target_agent_name ?? undefined,
    required_capabilities: t.required_capabilities?.length ? t.required_capabilities : undefined,
    timeout_s: t.timeout_s ?? undefined,
    max_attempts: t.max_attempts,
  };
}

export function TaskPage({ id }: { id: string }) {
  const { codebases, workers } = useLists();
  const [task, setTask] = useState<Task | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const load = async () => {
    try {
      setTask(await api<Task>(path(ROUTES.task, { id })));
      setError(null);
    } catch (e) {
      setError((e as Error).message);
    }
  };
  // The stream carries output; the task's fields (status, result) are re-read until final.
  usePoll(
    async () => {
      if (!task || !isFinal(task.status)) await load();
    },
    1500,
    [id, task?.status],
  );

  const act = async (fn: () => Promise<void>) => {
    setBusy(true);
    try {
      await fn();
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  const cancel = () => act(async () => setTask((await api<{ task: Task }>(path(ROUTES.cancelTask, { id }), { body: {} })).task));
  const again = () =>
    act(async () => {
      // A finished task is retried (the new one links back by retry_of); one still going is copied.
      const made = isFinal(task!.status)
        ? await api<Task>(path(ROUTES.retryTask, { id }), { body: {} })
        : await api<Task>(ROUTES.tasks, { body: repeatBody(task!) });
      go(href(["tasks", made.id]));
    });

  if (!task)
    return error ? (
      <p class="error" role="alert">
        {error}
      </p>
    ) : (
      <p>Loading…</p>
    );
  const worker = workers.find((w) => w.id === task.worker_id);
  const rows: [string, preact.ComponentChildren][] = [
    [
      "Status",
      <span class={`badge ${task.status}`} id="task-status">
        {task.status}
        {task.cancel_requested && !isFinal(task.status) ? " (cancelling)" : ""}
      </span>,
    ],
    // Why a pending task waits: the server says so when no live worker can take it.
    ...(task.waiting_reason ? [["Waiting", <span id="task-waiting">{task.waiting_reason}</span>] as [string, preact.ComponentChildren]] : []),
    [
      "Codebase",
      task.codebase_id && task.codebase_id !== "global" ? (
        <a href={href(["sessions", task.codebase_id])}>{codebaseLabel(task.codebase_id, codebases, workers)}</a>
      ) : (
        "global"
      ),
    ],
    ["Agent", task.agent_type],
    ["Model", task.model ?? "default"],
    ...(task.required_capabilities?.length ? [["Requires", task.required_capabilities.join(", ")] as [string, string]] : []),
    ["Priority", String(task.priority)],
    ["Worker", worker?.name ?? task.worker_id ?? "—"],
    ["Attempts", `${task.attempt} of ${task.max_attempts}`],
    ["Created", `${when(task.created_at)} (${age(task.created_at)} ago)`],
    ["Started", when(task.started_at)],
    ["Finished", when(task.completed_at)],
    ["Timeout", task.timeout_s ? `${task.timeout_s} s` : "worker default"],
  ];
  if (task.session_id) {
    rows.push([
      "Session",
      task.codebase_id ? (
        <a id="session-link" href={href(["sessions", task.codebase_id, task.session_id])}>
          {task.session_id}
        </a>
      ) : (
        task.session_id
      ),
    ]);
  }
  const retryOf = task.metadata?.retry_of;
  if (typeof retryOf === "string")
    rows.push([
      "Retry of",
      <a id="retry-of" href={href(["tasks", retryOf])}>
        <code>{retryOf}</code>
      </a>,
    ]);
  const resumed = task.metadata?.resume_session_id;
  if (typeof resumed === "string") rows.push(["Resumes", resumed]);
  if (task.isolation) rows.push(["Isolation", task.isolation]);
  if (task.branch) rows.push(["Branch", <code id="task-branch">{task.branch}</code>]);
  if (task.branch) rows.push(["Commit", task.commit ? <code id="task-commit">{task.commit}</code> : "none (nothing changed)"]);
  if (task.diff_stat) {
    const d = task.diff_stat;
    rows.push(["Changes", <span id="task-changes">{`${d.files} file${d.files === 1 ? "" : "s"} changed, +${d.insertions} −${d.deletions}`}</span>]);
  }
  return (
    <section aria-labelledby="task-h">
      <div class="titlebar">
        <h1 id="task-h">
          Task <code>{task.id}</code>
        </h1>
        <div class="actions">
          {!isFinal(task.status) && (
            <button type="button" onClick={cancel} disabled={busy || task.cancel_requested} class="danger">
              Cancel
            </button>
          )}
          <button type="button" onClick={again} disabled={busy}>
            Run again
          </button>
        </div>
      </div>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <h2 class="prompt-h">Prompt</h2>
      <pre class="prompt-text">{task.prompt}</pre>
      <dl class="fields">
        {rows.map(([k, v]) => (
          <>
            <dt>{k}</dt>
            <dd>{v}</dd>
          </>
        ))}
      </dl>
      {task.branch && task.commit && <Diff taskId={task.id} />}
      {task.result && (
        <>
          <h2>Result</h2>
          <pre class="result" id="task-result">
            {task.result}
          </pre>
        </>
      )}
      {task.error && (
        <>
          <h2>Error</h2>
          <pre class="result error" id="task-error">
            {task.error}
          </pre>
        </>
      )}
      <h2>Output</h2>
      <TaskOutput taskId={task.id} onDone={() => void load()} />
    </section>
  );
}

/** A worktree run's diff, as the server stored it (capped), folded until opened. */
function Diff({ taskId }: { taskId: string }) {
  const [diff, setDiff] = useState<{ diff: string | null; truncated: boolean } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = async (e: Event) => {
    if (!(e.currentTarget as HTMLDetailsElement).open || diff) return;
    try {
      setDiff(await api<{ diff: string | null; truncated: boolean }>(path(ROUTES.taskDiff, { id: taskId })));
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <details class="diff" id="task-diff" onToggle={load}>
      <summary>Diff</summary>
      {error && <p class="error">{error}</p>}
      {diff && <pre class="result">{diff.diff ?? "no diff stored"}</pre>}
      {diff?.truncated && <p class="muted">cut at the server's cap; the branch has all of it</p>}
    </details>
  );
}
