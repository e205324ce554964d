// OpenCode sessions synced from the workers: per codebase a list, per session its messages
// in order with tool calls folded, a tool-usage summary, and Resume (a task that continues
// the session on the codebase's worker; the new messages arrive with the next sync).
import { useState } from "preact/hooks";
import { sessionStats } from "../../opencode/sessions-map.ts";
import { path, ROUTES } from "../../protocol/routes.ts";
import { api, apiPage } from "../api.ts";
import { go, href, route, shortId, usePoll, when } from "../util.ts";
import { TaskOutput } from "./output.tsx";
import { useLists, type Codebase, type Task } from "./shared.ts";

interface Session {
  id: string;
  title: string | null;
  updated: string | null;
  created: string | null;
  messageCount: number | null;
  task_id: string | null;
  worker_id: string | null;
  cost?: number | null;
  tokens?: { input?: number; output?: number } | null;
}
interface Part {
  id: string;
  type: string;
  text?: string | null;
  tool?: string | null;
  state?: { status?: string; input?: unknown; output?: unknown; error?: unknown; title?: string };
}
interface Message {
  id: string;
  role?: string | null;
  time?: { created?: string | number | null } | null;
  agent?: string | null;
  mode?: string | null;
  model?: unknown;
  modelID?: string;
  providerID?: string;
  cost?: number | null;
  tokens?: { input?: number; output?: number; reasoning?: number; cache?: { read?: number; write?: number } } | null;
  parts: Part[];
}

const PAGE = 50;

/** The codebase picker, then the sessions of the chosen one, most recently updated first, a page at a time (the server's cursors). */
export function Sessions({ codebaseId }: { codebaseId?: string }) {
  const { codebases, workers } = useLists();
  const before = route.value.query.get("before") ?? "";
  const [sessions, setSessions] = useState<Session[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const params = new URLSearchParams({ limit: String(PAGE) });
  if (before) params.set("before", before);
  usePoll(
    async () => {
      if (!codebaseId) return;
      try {
        const page = await apiPage<Session[]>(`${path(ROUTES.sessions, { id: codebaseId })}?${params}`);
        setSessions(page.items);
        setNext(page.next ? new URL(page.next, location.href).searchParams.get("before") : null);
        setError(null);
      } catch (e) {
        setError((e as Error).message);
      }
    },
    5000,
    [codebaseId, before],
  );
  const cb = codebases.find((c) => c.id === codebaseId);
  return (
    <section aria-labelledby="sessions-h">
      <h1 id="sessions-h">Sessions{cb ? ` — ${cb.name}` : ""}</h1>
      <label class="inline">
        Codebase
        <select value={codebaseId ?? ""} onChange={(e) => go(href(["sessions", (e.target as HTMLSelectElement).value]))}>
          <option value="">choose…</option>
          {codebases.map((c) => (
            <option value={c.id}>
              {c.name} ({workers.find((w) => w.id === c.worker_id)?.name ?? c.worker_id})
            </option>
          ))}
        </select>
      </label>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {sessions && !sessions.length && <p>No sessions synced for this codebase yet (workers sync after each task and every minute).</p>}
      {!!sessions?.length && (
        <div class="scroll">
          <table id="sessions">
            <thead>
              <tr>
                <th>Title</th>
                <th>Updated</th>
                <th class="num">Messages</th>
                <th class="num">Tokens</th>
                <th class="num">Cost</th>
                <th>Task</th>
              </tr>
            </thead>
            <tbody>
              {sessions.map((s) => (
                <tr data-session={s.id}>
                  <td>
                    <a href={href(["sessions", codebaseId!, s.id])}>{s.title || s.id}</a>
                  </td>
                  <td>{when(s.updated ?? s.created)}</td>
                  <td class="num">{s.messageCount ?? "—"}</td>
                  <td class="num" title={s.tokens ? `${s.tokens.input ?? 0} in / ${s.tokens.output ?? 0} out` : undefined}>
                    {s.tokens ? ((s.tokens.input ?? 0) + (s.tokens.output ?? 0)).toLocaleString() : "—"}
                  </td>
                  <td class="num">{s.cost ? `$${s.cost.toFixed(4)}` : "—"}</td>
                  <td>
                    {s.task_id ? (
                      <a href={href(["tasks", s.task_id])}>
                        <code>{shortId(s.task_id)}</code>
                      </a>
                    ) : (
                      "—"
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {codebaseId && (
        <nav class="pager" aria-label="Pages">
          {before && <a href={href(["sessions", codebaseId])}>Newest</a>}
          {next && <a href={href(["sessions", codebaseId], { before: next })}>Older</a>}
        </nav>
      )}
    </section>
  );
}

const modelName = (m: Message) =>
  typeof m.model === "string" ? m.model : m.modelID ? `${m.providerID ? m.providerID + "/" : ""}${m.modelID}` : ((m.model as any)?.modelID ?? null);
const show = (v: unknown) => (typeof v === "string" ? v : JSON.stringify(v, null, 2));

function ToolCall({ p }: { p: Part }) {
  const status = p.state?.status ?? "?";
  return (
    <details class={`tool ${status}`} data-tool={p.tool}>
      <summary>
        <span class="tool-name">{p.tool}</span>{" "}
        <span class={`badge ${status === "error" ? "failed" : status === "completed" ? "completed" : "running"}`}>{status}</span>
        {p.state?.title && <span class="muted"> {p.state.title}</span>}
      </summary>
      {p.state?.input !== undefined && (
        <>
          <h4>Input</h4>
          <pre>{show(p.state.input)}</pre>
        </>
      )}
      {p.state?.output !== undefined && (
        <>
          <h4>Output</h4>
          <pre>{show(p.state.output)}</pre>
        </>
      )}
      {p.state?.error !== undefined && (
        <>
          <h4>Error</h4>
          <pre class="error">{show(p.state.error)}</pre>
        </>
      )}
    </details>
  );
}

function MessageView({ m }: { m: Message }) {
  const t = m.tokens;
  return (
    <article class={`message ${m.role ?? ""}`} data-message={m.id}>
      <header>
        <strong>{m.role ?? "message"}</strong>
        {(m.agent || m.mode) && <span class="muted"> · {m.agent ?? m.mode}</span>}
        {modelName(m) && <span class="muted"> · {modelName(m)}</span>}
        <span class="muted"> · {m.time?.created ? when(new Date(m.time.created).toISOString()) : ""}</span>
        {t && (t.input || t.output) ? (
          <span class="muted">
            {" "}
            · {t.input ?? 0} in / {t.output ?? 0} out tokens
          </span>
        ) : null}
      </header>
      {m.parts.map((p) =>
        p.type === "text" && p.text ? (
          <p class="text">{p.text}</p>
        ) : p.type === "tool" ? (
          <ToolCall p={p} />
        ) : p.type === "reasoning" && p.text ? (
          <p class="reasoning muted">{p.text}</p>
        ) : null,
      )}
    </article>
  );
}

function Resume({ codebase, sessionId, onFinished }: { codebase: Codebase | undefined; sessionId: string; onFinished: () => void }) {
  const [task, setTask] = useState<Task | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  async function submit(e: Event) {
    e.preventDefault();
    const form = e.target as HTMLFormElement;
    const f = new FormData(form);
    setError(null);
    setStatus(null);
    try {
      const t = await api<Task>(ROUTES.tasks, {
        body: {
          codebase_id: codebase!.id,
          prompt: String(f.get("prompt")),
          agent_type: String(f.get("agent_type") || "build"),
          metadata: { resume_session_id: sessionId },
        },
      });
      setTask(t);
      form.reset();
    } catch (err) {
      setError((err as Error).message);
    }
  }
  return (
    <form class="card form resume" onSubmit={submit} aria-labelledby="resume-h">
      <h2 id="resume-h">Resume this session</h2>
      <label>
        Prompt
        <textarea name="prompt" rows={3} required placeholder="Continue with…" />
      </label>
      <label>
        Agent
        <input name="agent_type" value="build" />
      </label>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <button type="submit" disabled={!codebase}>
        Resume
      </button>
      {task && (
        <div class="resume-task" data-task={task.id}>
          <p>
            Task{" "}
            <a href={href(["tasks", task.id])}>
              <code>{shortId(task.id)}</code>
            </a>{" "}
            {status ? (
              <span class={`badge ${status}`} id="resume-status">
                {status}
              </span>
            ) : (
              "running on the codebase's worker…"
            )}
          </p>
          <TaskOutput
            taskId={task.id}
            onDone={(s) => {
              setStatus(s);
              onFinished();
            }}
          />
        </div>
      )}
    </form>
  );
}

export function SessionPage({ codebaseId, sessionId }: { codebaseId: string; sessionId: string }) {
  const { codebases } = useLists();
  const [messages, setMessages] = useState<Message[] | null>(null);
  const [session, setSession] = useState<Session | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = async () => {
    try {
      const [msgs, one] = await Promise.all([
        api<Message[]>(path(ROUTES.messages, { id: codebaseId, sid: sessionId })),
        api<Session>(path(ROUTES.session, { sid: sessionId })),
      ]);
      setMessages(msgs);
      setSession(one);
      setError(null);
    } catch (e) {
      setError((e as Error).message);
    }
  };
  // Messages of a resumed run arrive when its worker syncs (after the task): keep reading.
  usePoll(load, 3000, [codebaseId, sessionId]);
  // the sums the worker sends with the session, computed the same way (opencode/sessions-map.ts)
  const { tools: usage, cost, tokens: t } = sessionStats(messages ?? []);
  const tokens = (t?.input ?? 0) + (t?.output ?? 0);
  return (
    <section aria-labelledby="session-h">
      <p>
        <a href={href(["sessions", codebaseId])}>← Sessions</a>
      </p>
      <h1 id="session-h">{session?.title || sessionId}</h1>
      <p class="muted">
        <code>{sessionId}</code> · {messages?.length ?? "…"} messages · {tokens} tokens{cost ? ` · $${cost.toFixed(4)}` : ""}
        {session?.task_id && (
          <>
            {" "}
            · task{" "}
            <a href={href(["tasks", session.task_id])}>
              <code>{shortId(session.task_id)}</code>
            </a>
          </>
        )}
      </p>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {!!usage.length && (
        <div class="scroll">
          <table id="tool-usage" aria-label="Tool usage">
            <thead>
              <tr>
                <th>Tool</th>
                <th class="num">Calls</th>
                <th class="num">Errors</th>
              </tr>
            </thead>
            <tbody>
              {usage.map((u) => (
                <tr data-tool={u.tool}>
                  <td>{u.tool}</td>
                  <td class="num">{u.calls}</td>
                  <td class="num">{u.errors}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <div id="messages">
        {messages?.map((m) => (
          <MessageView m={m} />
        ))}
      </div>
      <Resume codebase={codebases.find((c) => c.id === codebaseId)} sessionId={sessionId} onFinished={() => void load()} />
    </section>
  );
}
