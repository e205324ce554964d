// The server contract of wake-ups and of a release that claims the next task (issue 13, P2),
// on SQLite and PostgreSQL: a new task wakes one worker that has a free slot (the freest,
// then the one woken longest ago), never a full one; workers of unknown capacity and
// registrations by path still wake everyone; a release with claim_next answers the
// worker's next task, and only after a release that changed the task.
import { afterAll, beforeAll, expect, test } from "bun:test";
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
      const ids = [uid("wa"), uid("wb"), uid("wc")];
      const streams: SseClient[] = [];
      for (const id of ids) {
        expect((await s.post(`${O}/codebases`, { name: "global", path: `/home/${id}`, worker_id: id })).status).toBe(200);
        expect((await s.post(`${O}/workers/register`, { worker_id: id, name: id, codebases: ["global"], max_concurrent_tasks: 1 })).status).toBe(200);
        const sse = openSse(`${s.url}${W}/stream?worker_id=${id}`);
        await sse.waitFor((f) => f.event === "connected", `${id} connected`);
        streams.push(sse);
      }
      try {
        const t1 = (await s.post(`${O}/tasks`, { prompt: "p", agent_type: "noop", codebase_id: "global" })).body;
        await settle();
        const woken1 = streams.filter((c) => heard(c, t1.id));
        expect(woken1.length).toBe(1);
        const first = ids[streams.indexOf(woken1[0]!)]!;
        // That worker claims it and is now full (1 slot): the next task goes to another worker.
        const c1 = await s.post(`${W}/claim`, {}, { "x-worker-id": first });
        expect(c1.status).toBe(200);
        const t2 = (await s.post(`${O}/tasks`, { prompt: "p", agent_type: "noop", codebase_id: "global" })).body;
        await settle();
        const woken2 = streams.filter((c) => heard(c, t2.id));
        expect(woken2.length).toBe(1);
        const second = ids[streams.indexOf(woken2[0]!)]!;
        expect(second).not.toBe(first);
        // A third task, while the second is unclaimed (its wake-up still counts): the third worker.
        const t3 = (await s.post(`${O}/tasks`, { prompt: "p", agent_type: "noop", codebase_id: "global" })).body;
        await settle();
        const woken3 = streams.filter((c) => heard(c, t3.id));
        expect(woken3.length).toBe(1);
        const third = ids[streams.indexOf(woken3[0]!)]!;
        expect([first, second]).not.toContain(third);
        // The first worker finishes: it is the one with a free slot again (the others hold their wake-ups).
        expect(
          (await s.post(`${W}/release`, { task_id: c1.body.task_id, status: "completed", result: "", attempt: c1.body.attempt }, { "x-worker-id": first }))
            .status,
        ).toBe(200);
        for (const id of [second, third]) expect((await s.post(`${W}/claim`, {}, { "x-worker-id": id })).status).toBe(200);
        const t4 = (await s.post(`${O}/tasks`, { prompt: "p", agent_type: "noop", codebase_id: "global" })).body;
        await settle();
        expect(streams.filter((c) => heard(c, t4.id)).map((c) => ids[streams.indexOf(c)])).toEqual([first]);
        // Everyone full now: a new task wakes nobody, and waits for a freed slot.
        expect((await s.post(`${W}/claim`, {}, { "x-worker-id": first })).status).toBe(200);
        const t5 = (await s.post(`${O}/tasks`, { prompt: "p", agent_type: "noop", codebase_id: "global" })).body;
        await settle();
        expect(streams.filter((c) => heard(c, t5.id)).length).toBe(0);
        expect(t5.waiting_reason ?? null).toBeNull();
      } finally {
        for (const c of streams) c.close();
      }
    });

    test("workers that advertise no slots are woken for every task they fit, as before", async () => {
      const streams: SseClient[] = [];
      for (const p of ["la", "lb"]) {
        const id = uid(p);
        expect((await s.post(`${O}/codebases`, { name: "global", path: `/home/${id}`, worker_id: id })).status).toBe(200);
        expect((await s.post(`${O}/workers/register`, { worker_id: id, name: id, codebases: ["global"] })).status).toBe(200);
        const sse = openSse(`${s.url}${W}/stream?worker_id=${id}`);
        await sse.waitFor((f) => f.event === "connected", `${id} connected`);
        streams.push(sse);
      }
      try {
        const t = (await s.post(`${O}/tasks`, { prompt: "p", agent_type: "noop", codebase_id: "global", target_agent_name: null })).body;
        for (const sse of streams) await sse.waitFor((f) => f.event === "task_available" && JSON.parse(f.data).id === t.id, "both hear it");
      } finally {
        for (const c of streams) c.close();
      }
    });

    test("a registration by path is announced to every worker, whatever its slots", async () => {
      const streams: { id: string; sse: SseClient }[] = [];
      for (const p of ["ra", "rb"]) {
        const id = uid(p);
        expect((await s.post(`${O}/codebases`, { name: "global", path: `/home/${id}`, worker_id: id })).status).toBe(200);
        expect((await s.post(`${O}/workers/register`, { worker_id: id, name: id, codebases: ["global"], max_concurrent_tasks: 4 })).status).toBe(200);
        const sse = openSse(`${s.url}${W}/stream?worker_id=${id}`);
        await sse.waitFor((f) => f.event === "connected", `${id} connected`);
        streams.push({ id, sse });
      }
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
