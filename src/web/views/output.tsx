// A task's output, live: read from the server's output stream (fetch, so the token goes
// along), reconnecting from the last line seen until the task is final. Scrolls with new
// lines unless the reader has scrolled up; scrolling back to the end resumes. Shown as
// OpenCode's terminal shows a run (the agent's text, one line per tool call; the CLI's
// renderer), or the stored lines as they are with "Raw events".
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { renderLine } from "../../opencode/render.ts";
import { path, ROUTES } from "../../protocol/routes.ts";
import { readStream } from "../api.ts";

export function TaskOutput({ taskId, onDone }: { taskId: string; onDone?: (status: string | null) => void }) {
  const [lines, setLines] = useState<string[]>([]);
  const [state, setState] = useState<"live" | "done" | "reconnecting">("live");
  const [follow, setFollow] = useState(true);
  const [raw, setRaw] = useState(false);
  const box = useRef<HTMLPreElement>(null);
  const shown = useMemo(() => (raw ? lines : lines.map((l) => renderLine(l)).filter((l): l is string => l !== null)), [lines, raw]);

  useEffect(() => {
    const ac = new AbortController();
    let seen = 0;
    setLines([]);
    setState("live");
    (async () => {
      while (!ac.signal.aborted) {
        let finished = false;
        try {
          await readStream(
            `${path(ROUTES.taskOutputStream, { id: taskId })}?since=${seen}`,
            (e) => {
              const d = JSON.parse(e.data);
              if (e.event === "output") {
                seen++;
                setLines((l) => [...l, d.line]);
              } else if (e.event === "done") {
                finished = true;
                setState("done");
                onDone?.(d.status ?? null);
              }
            },
            ac.signal,
          );
        } catch {
          if (ac.signal.aborted) return;
        }
        if (finished || ac.signal.aborted) return;
        setState("reconnecting");
        await new Promise((r) => setTimeout(r, 1000));
      }
    })();
    return () => ac.abort();
  }, [taskId]);

  useEffect(() => {
    if (follow && box.current) box.current.scrollTop = box.current.scrollHeight;
  }, [shown, follow]);

  const onScroll = () => {
    const el = box.current!;
    setFollow(el.scrollTop + el.clientHeight >= el.scrollHeight - 8);
  };
  return (
    <section class="output-wrap" aria-label="Task output">
      <p class="muted" aria-live="polite">
        {lines.length} line{lines.length === 1 ? "" : "s"} · {state === "live" ? "live" : state === "done" ? "finished" : "reconnecting…"}
        {!follow && state !== "done" && " · paused (scroll to the end to follow)"}
        <label class="raw-toggle">
          <input type="checkbox" checked={raw} onChange={(e) => setRaw((e.target as HTMLInputElement).checked)} /> Raw events
        </label>
      </p>
      {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must be reachable by keyboard to scroll it */}
      <pre class="output" ref={box} onScroll={onScroll} tabIndex={0} data-output={taskId}>
        {shown.join("\n")}
      </pre>
    </section>
  );
}
