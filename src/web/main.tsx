// The dashboard shell: navigation, the login form (when the server wants a token), the
// warning banner (no auth on a network address), and the view the hash route names.
import { signal } from "@preact/signals";
import { render } from "preact";
import { useState } from "preact/hooks";
import { ROUTES } from "../protocol/routes.ts";
import { api, ApiError, needLogin, setToken, token } from "./api.ts";
import { route } from "./util.ts";
import { Codebases } from "./views/codebases.tsx";
import { Fleet } from "./views/fleet.tsx";
import { NewTask } from "./views/new-task.tsx";
import { SessionPage, Sessions } from "./views/sessions.tsx";
import { TaskPage } from "./views/task.tsx";
import { Tasks } from "./views/tasks.tsx";

interface Info {
  version: string;
  auth: boolean;
  exposed: boolean;
}
const info = signal<Info | null>(null);

async function loadInfo() {
  try {
    info.value = await api<Info>(ROUTES.dashboardInfo);
    if (info.value.auth && !token.value) needLogin.value = true;
  } catch {
    // an older server without /v1/dashboard/info: assume no auth; calls that need it will ask
    info.value = { version: "?", auth: false, exposed: false };
  }
}

const NAV: [string, string][] = [
  ["fleet", "Fleet"],
  ["tasks", "Tasks"],
  ["new", "New task"],
  ["sessions", "Sessions"],
  ["codebases", "Codebases"],
];

function Login() {
  const [value, setValue] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setToken(value.trim());
    try {
      await api(ROUTES.monitorWorkers); // any authenticated read: 403 means the token is wrong
      needLogin.value = false;
    } catch (err) {
      setToken(null);
      needLogin.value = true;
      setError(
        err instanceof ApiError && (err.status === 401 || err.status === 403) ? "That token was refused. Check it and try again." : (err as Error).message,
      );
    } finally {
      setBusy(false);
    }
  }
  return (
    <form class="card login" onSubmit={submit} aria-label="Sign in">
      <h1>Sign in</h1>
      <p>
        This server needs a token: one of its <code>A2A_AUTH_TOKENS</code> (the part after the colon). It is kept for this tab only.
      </p>
      <label>
        Token
        <input
          type="password"
          name="token"
          autocomplete="current-password"
          required
          value={value}
          onInput={(e) => setValue((e.target as HTMLInputElement).value)}
          autofocus
        />
      </label>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <button type="submit" disabled={busy}>
        Sign in
      </button>
    </form>
  );
}

function View() {
  const [name = "fleet", a, b] = route.value.parts;
  switch (name) {
    case "tasks":
      // keyed: another id is another page, with none of the previous task's state
      return a ? <TaskPage key={a} id={a} /> : <Tasks />;
    case "new":
      return <NewTask />;
    case "codebases":
      return <Codebases />;
    case "sessions":
      return a && b ? <SessionPage key={`${a}/${b}`} codebaseId={a} sessionId={b} /> : <Sessions key={a} codebaseId={a} />;
    default:
      return <Fleet />;
  }
}

function App() {
  const current = route.value.parts[0] ?? "fleet";
  return (
    <>
      <header>
        <a class="brand" href="#/fleet">
          CodeTether
        </a>
        <nav aria-label="Main">
          {NAV.map(([k, label]) => (
            <a href={`#/${k}`} aria-current={current === k ? "page" : undefined}>
              {label}
            </a>
          ))}
        </nav>
        {token.value && (
          <button
            type="button"
            class="link"
            onClick={() => {
              setToken(null);
              needLogin.value = !!info.value?.auth;
            }}
          >
            Sign out
          </button>
        )}
      </header>
      {info.value?.exposed && !info.value.auth && (
        <p class="banner" role="alert">
          This server listens on a network address without authentication: anyone who can reach it can run tasks. Set <code>A2A_AUTH_TOKENS</code>.
        </p>
      )}
      <main>{needLogin.value ? <Login /> : info.value ? <View /> : <p>Loading…</p>}</main>
    </>
  );
}

void loadInfo();
render(<App />, document.getElementById("app")!);
