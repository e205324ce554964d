// Task output: workers post lines (batches numbered by seq, or the legacy one line per
// request); followers page through them (`since`) or stream them live until `done`.
import { isFinal, OutputBatchBody, OutputLegacyBody, OutputQuery, ROUTES } from "../../protocol/index.ts";
import { coalesced } from "../../util/coalesce.ts";
import { errorMessage } from "../../util/errors.ts";
import { log } from "../../util/log.ts";
import { nowIso } from "../context.ts";
import { json, notFound, parse, queryObject, readObject } from "../http.ts";
import { assertCanWriteOutput } from "../lifecycle.ts";
import type { Req, RouteDef } from "../router.ts";
import { sseResponse } from "../sse.ts";
import { callerFor } from "./tasks.ts";

const PAGE = 10_000;
/** Output streams also re-read now and then, in case a wake-up from another replica was lost. */
const STREAM_SAFETY_POLL_MS = 2_000;

/** A body with `lines` is a batch; anything else is the legacy single line (numbered after the last one). */
function outputInput(raw: Record<string, unknown>, now: string) {
  if ("lines" in raw) {
    const b = parse(OutputBatchBody, raw);
    return { worker_id: b.worker_id, attempt: b.attempt as number | null, seq: b.seq as number | null, lines: b.lines, timestamp: now };
  }
  const b = parse(OutputLegacyBody, raw);
  return { worker_id: b.worker_id, attempt: b.attempt ?? null, seq: null, lines: [b.output], timestamp: b.timestamp ?? now };
}

async function post(r: Req) {
  const input = outputInput(await readObject(r.req, r.ctx.maxBodyBytes), nowIso());
  const caller = await callerFor(r, input.worker_id, input.attempt);
  const res = await r.ctx.store.appendOutput(
    { task_id: r.params.id!, attempt: input.attempt, seq: input.seq, lines: input.lines, timestamp: input.timestamp, capBytes: r.ctx.outputCapBytes },
    (t) => assertCanWriteOutput(t, caller),
  );
  if (!res) throw notFound("task", r.params.id!);
  if (res.stored) {
    r.ctx.hub.output(res.task.id);
    r.ctx.metrics.output(res.stored, res.bytes);
  }
  if (res.newlyTruncated) log("warn", "task output truncated", { task: res.task.id, cap_bytes: r.ctx.outputCapBytes });
  return json({ success: true, stored: res.stored, duplicates: res.duplicates, dropped: res.dropped, truncated: res.task.output_truncated });
}

async function get({ params, url, ctx }: Req) {
  const { since } = parse(OutputQuery, queryObject(url), "query");
  const task = await ctx.store.getTask(params.id!);
  if (!task) throw notFound("task", params.id!);
  const outputs = await ctx.store.readOutput(task.id, since, PAGE);
  return json({ task_id: task.id, outputs, total: task.output_count, truncated: task.output_truncated });
}

async function stream({ req, params, url, server, ctx }: Req) {
  let { since } = parse(OutputQuery, queryObject(url), "query");
  const taskId = params.id!;
  if (!(await ctx.store.getTask(taskId))) throw notFound("task", taskId);
  return sseResponse(req, server, ctx.streamHeartbeatMs, (sink) => {
    // Lines are read from the store (persisted first), then `done` once the task is final.
    // Wake-ups while a pass runs collapse into one more pass.
    const pump = coalesced(
      async () => {
        if (sink.closed) return;
        const t = await ctx.store.getTask(taskId);
        for (;;) {
          const lines = await ctx.store.readOutput(taskId, since, PAGE);
          for (const l of lines) sink.send("output", { task_id: taskId, ...l });
          since += lines.length;
          if (lines.length < PAGE || sink.closed) break;
        }
        if (!t || isFinal(t.status)) {
          sink.send("done", { task_id: taskId, status: t?.status ?? null, total: since });
          sink.close();
        }
      },
      (err) => {
        log("warn", "output stream failed", { task: taskId, error: errorMessage(err) });
        sink.close();
      },
    );
    const off = ctx.hub.addWatcher({ taskId, wake: () => void pump(), close: () => sink.close() });
    const poll = setInterval(() => void pump(), STREAM_SAFETY_POLL_MS);
    void pump();
    return () => {
      off();
      clearInterval(poll);
    };
  });
}

export const outputRoutes: RouteDef[] = [
  { method: "POST", path: ROUTES.taskOutput, handler: post },
  { method: "GET", path: ROUTES.taskOutput, handler: get },
  { method: "GET", path: ROUTES.taskOutputStream, handler: stream },
];
