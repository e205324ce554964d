// Small shared helpers: the hash route, ages, and a poller that pauses in hidden tabs.
import { signal } from "@preact/signals";
import { useEffect } from "preact/hooks";

/** Hash routing (#/tasks/ID): the server serves one page at `/`, every view lives in the fragment. */
export const route = signal(parseHash());

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, "");
  const [path = "", query = ""] = raw.split("?");
  return { parts: path.split("/").filter(Boolean).map(decodeURIComponent), query: new URLSearchParams(query) };
}
addEventListener("hashchange", () => (route.value = parseHash()));

export const href = (parts: string[], query?: Record<string, string | undefined>) => {
  const q = new URLSearchParams(Object.entries(query ?? {}).filter(([, v]) => v) as [string, string][]).toString();
  return `#/${parts.map(encodeURIComponent).join("/")}${q ? `?${q}` : ""}`;
};
export const go = (h: string) => (location.hash = h);

/** "5 s", "3 min", "2 h", "4 d" since an ISO time (or until, for future times). */
export function age(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return "—";
  const s = Math.round(Math.abs(now - Date.parse(iso)) / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86400) return `${Math.floor(s / 3600)} h`;
  return `${Math.floor(s / 86400)} d`;
}

/**
 * The last 8 characters: task ids are UUIDv7, whose first characters are a timestamp shared
 * by every task of the same minute, so only the tail tells tasks apart at a glance.
 */
export const shortId = (id: string | null | undefined) => (id ? id.slice(-8) : "—");
export const when = (iso: string | null | undefined) => (iso ? new Date(iso).toLocaleString() : "—");

/**
 * Runs `fn` now and every `ms` while the component is mounted and the tab visible; `deps`
 * restart it. Live views poll the paged, indexed list queries: one small request per view.
 */
export function usePoll(fn: () => Promise<void> | void, ms: number, deps: unknown[]): void {
  useEffect(() => {
    let stop = false;
    let timer: ReturnType<typeof setTimeout>;
    const tick = async () => {
      if (stop) return;
      if (!document.hidden) await Promise.resolve(fn()).catch(() => undefined); // the view shows its own error; the next tick retries
      if (!stop) timer = setTimeout(tick, ms);
    };
    void tick();
    return () => {
      stop = true;
      clearTimeout(timer);
    };
  }, deps);
}
