// Pure parts of the server: the task state machine, output planning, path normalization,
// token parsing. The HTTP contract itself is in test/integration/server-contract*.test.ts.
import { describe, expect, test } from "bun:test";
import { parseTokens } from "../../src/server/auth.ts";
import { HttpError } from "../../src/server/http.ts";
import { assertHolder, cancel, release, requeue, setStatus } from "../../src/server/lifecycle.ts";
import { normalizePath } from "../../src/server/routes/codebases.ts";
import { planOutput } from "../../src/server/store/rows.ts";
import type { TaskRow } from "../../src/server/store/types.ts";
import { pendingTask } from "../helpers/tasks.ts";

const NOW = "2030-01-01T00:00:00.000Z";
function running(extra: Partial<TaskRow> = {}): TaskRow {
  const t = pendingTask();
  return { ...t, status: "running", worker_id: "w", attempt: 1, lease_expires_at: NOW, ...extra };
}
const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    return e instanceof HttpError ? `${e.status} ${e.code}` : String(e);
  }
  return "ok";
};

describe("lifecycle", () => {
  test("fencing: holder by id or attempt; nobody holds a pending task", () => {
    const t = running();
    expect(code(() => assertHolder(t, { worker_id: "w", attempt: null }))).toBe("ok");
    expect(code(() => assertHolder(t, { worker_id: null, attempt: 1 }))).toBe("ok");
    expect(code(() => assertHolder(t, { worker_id: "x", attempt: 1 }))).toBe("409 stale_attempt");
    expect(code(() => assertHolder(t, { worker_id: "w", attempt: 2 }))).toBe("409 stale_attempt");
    expect(code(() => assertHolder({ ...t, status: "pending", worker_id: null }, { worker_id: "w", attempt: 1 }))).toBe("409 stale_attempt");
  });

  test("requeue: pending, or cancelled when asked, or failed at max_attempts", () => {
    expect(requeue(running(), NOW, "x")).toMatchObject({ status: "pending", worker_id: null, lease_expires_at: null, attempt: 1 });
    expect(requeue(running({ cancel_requested: true }), NOW, "x").status).toBe("cancelled");
    expect(requeue(running({ attempt: 3 }), NOW, "lease expired")).toMatchObject({
      status: "failed",
      error: "lease expired after 3 attempt(s)",
      completed_at: NOW,
    });
  });

  test("release and status never change a final state; same final status is an idempotent repeat", () => {
    const done = { ...running(), status: "completed" as const, result: "r" };
    const me = { worker_id: "w", attempt: null };
    expect(release(done, me, {}, NOW).next).toBeNull();
    expect(release(done, me, { status: "completed" }, NOW).next).toBeNull();
    expect(code(() => release(done, me, { status: "failed" }, NOW))).toBe("409 task_final");
    expect(code(() => setStatus(done, me, { status: "running" }, NOW))).toBe("409 task_final");
    expect(code(() => cancel(done, NOW))).toBe("409 task_final");
    expect(code(() => release(running(), me, { status: "running" }, NOW))).toBe("400 invalid_request");
  });

  test("cancel: pending at once, running asks the holder", () => {
    expect(cancel({ ...running(), status: "pending", worker_id: null }, NOW).next).toMatchObject({ status: "cancelled", completed_at: NOW });
    expect(cancel(running(), NOW).next).toMatchObject({ status: "running", cancel_requested: true });
  });
});

describe("output plan", () => {
  test("skips stored seqs, stops at the cap and marks truncation", () => {
    expect(planOutput(["a", "b", "c"], 5, new Set([6]), 0, 100, false)).toEqual({
      rows: [
        { seq: 5, line: "a" },
        { seq: 7, line: "c" },
      ],
      bytes: 2,
      duplicates: 1,
      dropped: 0,
      truncated: false,
    });
    const p = planOutput(["12345", "678", "9"], 0, new Set(), 90, 97, false);
    expect(p).toMatchObject({ rows: [{ seq: 0, line: "12345" }], dropped: 2, truncated: true });
    expect(planOutput(["é"], 0, new Set(), 0, 1, false).truncated).toBe(true); // bytes, not characters
    expect(planOutput(["x"], 0, new Set(), 0, 100, true)).toMatchObject({ rows: [], dropped: 1 });
  });
});

describe("paths and tokens", () => {
  test("codebase paths: absolute, normalized, no trailing slash; relative refused", () => {
    expect(normalizePath("/srv//app/./x/../y/")).toBe("/srv/app/y");
    expect(normalizePath("/")).toBe("/");
    expect(code(() => normalizePath("srv/app"))).toBe("400 invalid_request");
  });

  test("auth_tokens: name:token and bare tokens, stored by digest only", () => {
    const t = parseTokens(["ops:abc", "plain", " ", "a:b:c"]);
    expect([...t.values()].sort()).toEqual(["a:b", "ops", null].sort() as any);
    expect([...t.keys()].some((k) => k.includes("abc") || k === "plain")).toBe(false);
  });
});
