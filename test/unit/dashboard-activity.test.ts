// The dashboard's last-hour chart data: tasks finished per minute by status, and the queue
// depth at each minute's end reconstructed from created/started/completed times.
import { describe, expect, test } from "bun:test";
import { activity } from "../../src/server/routes/dashboard.ts";

const now = Date.parse("2026-01-01T10:30:30.000Z");
const at = (hhmmss: string) => `2026-01-01T${hhmmss}.000Z`;
/** Index of the minute starting at hh:mm (the window starts at 09:31). */
const idx = (hhmm: string) => (Date.parse(at(`${hhmm}:00`)) - Date.parse(at("09:31:00"))) / 60_000;

describe("activity()", () => {
  test("60 minutes ending with the current one", () => {
    const a = activity([], now);
    expect(a.minutes).toHaveLength(60);
    expect(a.minutes[0]).toBe(Date.parse(at("09:31:00")));
    expect(a.minutes[59]).toBe(Date.parse(at("10:30:00")));
    expect(a.queued.every((n) => n === 0)).toBe(true);
  });

  test("finished tasks land in the minute they finished, by status; older ones and pending ones do not", () => {
    const a = activity(
      [
        { status: "completed", created_at: at("10:00:00"), started_at: at("10:00:01"), completed_at: at("10:29:10") },
        { status: "completed", created_at: at("10:00:00"), started_at: at("10:00:01"), completed_at: at("10:29:59") },
        { status: "failed", created_at: at("10:00:00"), started_at: at("10:00:01"), completed_at: at("10:30:05") },
        { status: "cancelled", created_at: at("09:00:00"), started_at: null, completed_at: at("09:31:00") },
        { status: "completed", created_at: at("08:00:00"), started_at: at("08:00:01"), completed_at: at("09:30:59") }, // before the window
      ],
      now,
    );
    expect(a.completed[idx("10:29")]).toBe(2);
    expect(a.failed[idx("10:30")]).toBe(1);
    expect(a.cancelled[0]).toBe(1);
    expect(a.completed.reduce((x, y) => x + y)).toBe(2);
  });

  test("queue depth at each minute's end: waiting from creation until start (or end without a start)", () => {
    const a = activity(
      [
        { status: "pending", created_at: at("09:00:00"), started_at: null, completed_at: null }, // waits the whole hour
        { status: "running", created_at: at("10:00:30"), started_at: at("10:10:30"), completed_at: null }, // waits at the ends 10:01 ... 10:10
        { status: "cancelled", created_at: at("10:20:00"), started_at: null, completed_at: at("10:25:00") }, // ends 10:20 ... 10:24
      ],
      now,
    );
    const expected = a.minutes.map((m) => {
      const end = Math.min(m + 60_000, now);
      let n = 1;
      if (end >= Date.parse(at("10:00:30")) && end < Date.parse(at("10:10:30"))) n++;
      if (end >= Date.parse(at("10:20:00")) && end < Date.parse(at("10:25:00"))) n++;
      return n;
    });
    expect(a.queued).toEqual(expected);
    expect(a.queued[idx("10:05")]).toBe(2);
    expect(a.queued[idx("10:19")]).toBe(2); // its end is 10:20:00, when the third was created
    expect(a.queued[idx("10:24")]).toBe(1); // 10:25:00: cancelled at that instant
    expect(a.queued[59]).toBe(1); // now
  });
});
