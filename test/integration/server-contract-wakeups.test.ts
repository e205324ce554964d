// The server contract of wake-ups and of a release that claims the next task (issue 13, P2),
// on SQLite and PostgreSQL: a new task wakes one worker that has a free slot (the freest,
// then the one woken longest ago), never a full one; workers of unknown capacity and
// registrations by path still wake everyone; a release with claim_next answers the
// worker's next task, and only after a release that changed the task.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { waitUntil } from "../helpers/proc.ts";
import { describeUnless } from "../helpers/skip.ts";
import { openSse, STORE_KINDS, startTestServer, storeSkip, taskEvents, uid, type SseClient, type TestServer } from "../helpers/server.ts";

const O = "/v1/opencode";
const W = "/v1/worker/tasks";

for (const kind of STORE_KINDS) {
  describeUnless(storeSkip(kind), `wake-up contract [${kind}]`, () => {
    let s: TestServer;
    beforeAll(async () => {
      s = await startTestServer(kind, { leaseSeconds: 60, sweepIntervalMs: 3_600_000 });
    });
    afterAll(() => s?.stop());

    /** A worker sharing the codebase `app` at `path`, with `slots` (null: not advertised), and its open stream. */
    async function worker(prefix: string, path: string, slots: number | null) {
      const id = uid(prefix);
      const cb = await s.post(`${O}/codebases`, { name: "app", path, worker_id: id });
      expect(cb.status).toBe(200);
      const r = await s.post(`${O}/workers/register`, {
        worker_id: id,
        name: id,
        codebases: [cb.body.codebase.id],
        ...(slots ? { max_concurrent_tasks: slots } : {}),
      });
      expect(r.status).toBe(200);
      const sse = openSse(`${s.url}${W}/stream?worker_id=${id}`, { "x-codebases": cb.body.codebase.id });
      await sse.waitFor((f) => f.event === "connected", `${id} connected`);
      return { id, codebase: cb.body.codebase.id as string, headers: { "x-worker-id": id }, sse };
    }
    /** Workers serving the "global" route (their home directories), with `slots` (null: not advertised), and their open streams. */
    async function homeWorkers(prefixes: string[], slots: number | null) {
      const out: { id: string; sse: SseClient }[] = [];
      for (const p of prefixes) {
        const id = uid(p);
        expect((await s.post(`${O}/codebases`, { name: "global", path: `/home/${id}`, worker_id: id })).status).toBe(200);
        const reg = { worker_id: id, name: id, codebases: ["global"], ...(slots ? { max_concurrent_tasks: slots } : {}) };
        expect((await s.post(`${O}/workers/register`, reg)).status).toBe(200);
        const sse = openSse(`${s.url}${W}/stream?worker_id=${id}`);
        await sse.waitFor((f) => f.event === "connected", `${id} connected`);
        out.push({ id, sse });
      }
      return out;
    }
    const create = async (codebase: string) => {
      const r = await s.post(`${O}/tasks`, { prompt: "p", agent_type: "noop", codebase_id: codebase });
      expect(r.status).toBe(201);
      return r.body;
    };
    const heard = (c: SseClient, id: string) => taskEvents(c).some((t) => t.id === id);
    /** Streams are woken synchronously in the create; a frame still takes a moment to arrive. */
    const settle = () => Bun.sleep(150);

    test("one worker with a free slot is woken per task, taking turns; a full worker is not woken", async () => {
      // Three workers of one slot each that all serve the "global" route (their home directories).
      const home = await homeWorkers(["wa", "wb", "wc"], 1);
      const ids = home.map((w) => w.id);
      const streams = home.map((w) => w.sse);
      try {
        const newTask = async () => (await s.post(`${O}/tasks`, { prompt: "p", agent_type: "noop", codebase_id: "global" })).body;
        /** Creates a task and returns the one worker woken for it (failing if not exactly one). */
        const wokenFor = async () => {
          const t = await newTask();
          await waitUntil(() => streams.some((c) => heard(c, t.id)) || null, `a worker woken for ${t.id}`, 10_000, 10);
          await settle(); // a second wake-up, if any, would arrive meanwhile
          const woken = streams.filter((c) => heard(c, t.id));
          expect(woken.length).toBe(1);
          return ids[streams.indexOf(woken[0]!)]!;
        };
        // Each woken worker claims at once and is then full (one slot): the next task goes to another.
        const order: string[] = [];
        const claims: Record<string, { task_id: string; attempt: number }> = {};
        for (let i = 0; i < 3; i++) {
          const w = await wokenFor();
          expect(order).not.toContain(w);
          order.push(w);
          const c = await s.post(`${W}/claim`, {}, { "x-worker-id": w });
          expect(c.status).toBe(200);
          claims[w] = c.body;
        }
        // Everyone full: a new task wakes nobody (it waits for a freed slot), and says no waiting reason.
        const waiting = await newTask();
        await settle();
        expect(streams.filter((c) => heard(c, waiting.id)).length).toBe(0);
        expect(waiting.waiting_reason ?? null).toBeNull();
        // The second worker finishes: it is the one woken for the next task.
        const second = order[1]!;
        const done = await s.post(
          `${W}/release`,
          { task_id: claims[second]!.task_id, status: "completed", result: "", attempt: claims[second]!.attempt },
          { "x-worker-id": second },
        );
        expect(done.status).toBe(200);
        expect(await wokenFor()).toBe(second);
      } finally {
        for (const c of streams) c.close();
      }
    });

    test("workers that advertise no slots are woken for every task they fit, as before", async () => {
      const streams = (await homeWorkers(["la", "lb"], null)).map((w) => w.sse);
      try {
        const t = (await s.post(`${O}/tasks`, { prompt: "p", agent_type: "noop", codebase_id: "global", target_agent_name: null })).body;
        for (const sse of streams) await sse.waitFor((f) => f.event === "task_available" && JSON.parse(f.data).id === t.id, "both hear it");
      } finally {
        for (const c of streams) c.close();
      }
    });

    test("a registration by path is announced to every worker, whatever its slots", async () => {
      const streams = await homeWorkers(["ra", "rb"], 4);
      try {
        const r = await s.post(`${O}/codebases`, { name: uid("byPath"), path: `/srv/${uid("nowhere")}` });
        expect(r.status).toBe(200);
        expect(r.body.pending).toBe(true);
        for (const { id, sse } of streams)
          await sse.waitFor((f) => f.event === "task_available" && JSON.parse(f.data).id === r.body.task_id, `${id} hears the registration`);
      } finally {
        for (const { sse } of streams) sse.close();
      }
    });

    test("a release with claim_next answers the worker's next task, or null; a repeated release claims nothing", async () => {
      const w = await worker("rn", `/srv/${uid("rn")}`, 2);
      try {
        const t1 = await create(w.codebase);
        const t2 = await create(w.codebase);
        const c1 = await s.post(`${W}/claim`, {}, w.headers);
        expect(c1.body.task_id).toBe(t1.id);
        const body = { task_id: t1.id, status: "completed", result: "ok", attempt: c1.body.attempt, claim_next: true, busy_codebases: [] };
        const r1 = await s.post(`${W}/release`, body, w.headers);
        expect(r1.status).toBe(200);
        expect(r1.body.task.status).toBe("completed");
        expect(r1.body.next.task_id).toBe(t2.id);
        expect(r1.body.next.worker_id).toBe(w.id);
        expect(r1.body.next.attempt).toBe(1);
        expect(r1.body.next.task.status).toBe("running");
        // The same release again (its answer lost): accepted, and no second task is taken for it.
        const t3 = await create(w.codebase);
        const again = await s.post(`${W}/release`, body, w.headers);
        expect(again.status).toBe(200);
        expect(again.body.next).toBeUndefined();
        expect((await s.get(`${O}/tasks/${t3.id}`)).body.status).toBe("pending");
        // The next task's release takes t3; then there is nothing left: next is null.
        const r2 = await s.post(`${W}/release`, { ...body, task_id: t2.id, attempt: r1.body.next.attempt }, w.headers);
        expect(r2.body.next.task_id).toBe(t3.id);
        const r3 = await s.post(`${W}/release`, { ...body, task_id: t3.id, attempt: r2.body.next.attempt }, w.headers);
        expect(r3.status).toBe(200);
        expect(r3.body.next).toBeNull();
        // Without claim_next the answer is as before.
        const t4 = await create(w.codebase);
        const c4 = await s.post(`${W}/claim`, {}, w.headers);
        expect(c4.body.task_id).toBe(t4.id);
        const plain = await s.post(`${W}/release`, { task_id: t4.id, status: "completed", result: "", attempt: c4.body.attempt }, w.headers);
        expect(plain.status).toBe(200);
        expect("next" in plain.body).toBe(false);
      } finally {
        w.sse.close();
      }
    });

    test("claim_next respects busy_codebases, and a stale release claims nothing", async () => {
      const w = await worker("rb", `/srv/${uid("rb")}`, 2);
      try {
        const t1 = await create(w.codebase);
        const t2 = await create(w.codebase);
        const c1 = await s.post(`${W}/claim`, {}, w.headers);
        expect(c1.body.task_id).toBe(t1.id);
        const r = await s.post(
          `${W}/release`,
          { task_id: t1.id, status: "completed", attempt: c1.body.attempt, claim_next: true, busy_codebases: [w.codebase] },
          w.headers,
        );
        expect(r.status).toBe(200);
        expect(r.body.next).toBeNull();
        expect((await s.get(`${O}/tasks/${t2.id}`)).body.status).toBe("pending");
        // A release for an attempt the worker no longer holds is refused; nothing is claimed.
        const stale = await s.post(`${W}/release`, { task_id: t1.id, status: "failed", attempt: 0, claim_next: true }, w.headers);
        expect(stale.status).toBe(409);
        expect((await s.get(`${O}/tasks/${t2.id}`)).body.status).toBe("pending");
        // A hand-back (no final status) with claim_next claims nothing: not even the task just handed back.
        const c2 = await s.post(`${W}/claim`, {}, w.headers);
        expect(c2.body.task_id).toBe(t2.id);
        const back = await s.post(`${W}/release`, { task_id: t2.id, attempt: c2.body.attempt, claim_next: true }, w.headers);
        expect(back.status).toBe(200);
        expect(back.body.next).toBeUndefined();
        expect((await s.get(`${O}/tasks/${t2.id}`)).body.status).toBe("pending");
        // claim_next of the wrong type is a 400 naming the field.
        const bad = await s.post(`${W}/release`, { task_id: t2.id, claim_next: "yes" }, w.headers);
        expect(bad.status).toBe(400);
        expect(JSON.stringify(bad.body)).toContain("claim_next");
      } finally {
        w.sse.close();
      }
    });
  });
}
