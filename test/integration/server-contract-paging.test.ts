// Task list order and paging (PROTOCOL.md "Extensions"), on SQLite and PostgreSQL: the
// default order workers poll in is unchanged, order=newest lists newest first, keyset
// cursors in the Link header walk every task exactly once, X-Total-Count counts what the
// filters match, id_prefix finds a task by the start of its id.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { registerWorker, STORE_KINDS, startTestServer, storeSkip, type Api, type Res, type TestServer } from "../helpers/server.ts";
import { describeUnless } from "../helpers/skip.ts";

const O = "/v1/opencode";

/** The path+query of the rel="next" link, or null. */
function nextLink(r: Res): string | null {
  const h = r.headers.get("link");
  if (!h) return null;
  const m = /^<([^>]+)>; rel="next"$/.exec(h);
  if (!m) throw new Error(`malformed Link header: ${h}`);
  return m[1]!;
}

/** Follows Link headers from `first` to the end; returns each page's ids and totals. */
async function walk(api: Api, first: string) {
  const pages: string[][] = [];
  const totals: string[] = [];
  let path: string | null = first;
  while (path) {
    const r = await api.get(path);
    expect(r.status).toBe(200);
    expect(Array.isArray(r.body)).toBe(true);
    pages.push(r.body.map((t: any) => t.id));
    totals.push(r.headers.get("x-total-count")!);
    path = nextLink(r);
    if (pages.length > 100) throw new Error("Link headers never end");
  }
  return { pages, ids: pages.flat(), totals };
}

for (const kind of STORE_KINDS) {
  describeUnless(storeSkip(kind), `task list paging [${kind}]`, () => {
    let s: TestServer;
    beforeAll(async () => {
      s = await startTestServer(kind, { leaseSeconds: 60, sweepIntervalMs: 3_600_000 });
    });
    afterAll(() => s?.stop());

    /** n tasks in a codebase of their own, created one after another; returns them in creation order. */
    async function seed(n: number, priority: (i: number) => number = () => 0) {
      const w = await registerWorker(s, "pg");
      const tasks: any[] = [];
      for (let i = 0; i < n; i++) {
        const r = await s.post(`${O}/tasks`, { codebase_id: w.codebaseId, prompt: `p${i}`, priority: priority(i) });
        expect(r.status).toBe(201);
        tasks.push(r.body);
      }
      return { w, tasks };
    }

    test("default order stays priority desc, created asc; after= pages walk it exactly", async () => {
      const { w, tasks } = await seed(7, (i) => [0, 5, 0, 5, 1, 0, 5][i]!);
      const expected = [...tasks].sort((a, b) => b.priority - a.priority || tasks.indexOf(a) - tasks.indexOf(b)).map((t) => t.id);
      const all = await s.get(`${O}/tasks?codebase_id=${w.codebaseId}`);
      expect(all.body.map((t: any) => t.id)).toEqual(expected);
      expect(nextLink(all)).toBeNull();
      expect(all.headers.get("x-total-count")).toBe("7");

      const walked = await walk(s, `${O}/tasks?codebase_id=${w.codebaseId}&limit=2`);
      expect(walked.ids).toEqual(expected);
      expect(walked.pages.map((p) => p.length)).toEqual([2, 2, 2, 1]);
      expect(walked.totals).toEqual(["7", "7", "7", "7"]);
      // The default order's cursor is after=, and the filters ride along.
      const second = nextLink(await s.get(`${O}/tasks?codebase_id=${w.codebaseId}&limit=2`))!;
      expect(second).toStartWith(`${O}/tasks?`);
      const q = new URL(second, s.url).searchParams;
      expect(q.get("codebase_id")).toBe(w.codebaseId);
      expect(q.get("limit")).toBe("2");
      expect(q.get("after")).toBeTruthy();
      expect(q.get("before")).toBeNull();
    });

    test("order=newest lists newest first; before= pages walk every task once, limit=1 included", async () => {
      const { w, tasks } = await seed(5);
      const newest = tasks.map((t) => t.id).reverse();
      const page = await s.get(`${O}/tasks?codebase_id=${w.codebaseId}&order=newest`);
      expect(page.body.map((t: any) => t.id)).toEqual(newest);
      for (const limit of [1, 2, 4, 5]) {
        const walked = await walk(s, `${O}/tasks?codebase_id=${w.codebaseId}&order=newest&limit=${limit}`);
        expect(walked.ids).toEqual(newest);
        expect(walked.pages.length).toBe(Math.ceil(5 / limit));
        expect(new Set(walked.totals)).toEqual(new Set(["5"]));
      }
      const link = nextLink(await s.get(`${O}/tasks?codebase_id=${w.codebaseId}&order=newest&limit=2`))!;
      expect(new URL(link, s.url).searchParams.get("before")).toBeTruthy();
      expect(new URL(link, s.url).searchParams.get("order")).toBe("newest");
    });

    test("a task created between pages does not shift the next page (keyset, not offset)", async () => {
      const { w, tasks } = await seed(4);
      const first = await s.get(`${O}/tasks?codebase_id=${w.codebaseId}&order=newest&limit=2`);
      expect(first.body.map((t: any) => t.id)).toEqual([tasks[3].id, tasks[2].id]);
      const late = (await s.post(`${O}/tasks`, { codebase_id: w.codebaseId, prompt: "late" })).body;
      const second = await s.get(nextLink(first)!);
      expect(second.body.map((t: any) => t.id)).toEqual([tasks[1].id, tasks[0].id]);
      expect(second.headers.get("x-total-count")).toBe("5");
      expect(nextLink(second)).toBeNull();
      expect((await s.get(`${O}/tasks?codebase_id=${w.codebaseId}&order=newest&limit=1`)).body[0].id).toBe(late.id);
    });

    test("status and worker filters page and count together", async () => {
      const { w, tasks } = await seed(5);
      // The worker claims the two best (oldest) tasks: they are running, the rest pending.
      for (let i = 0; i < 2; i++) expect((await s.post("/v1/worker/tasks/claim", {}, w.headers)).status).toBe(200);
      const running = await walk(s, `${O}/tasks?codebase_id=${w.codebaseId}&status=running&order=newest&limit=1`);
      expect(running.ids).toEqual([tasks[1].id, tasks[0].id]);
      expect(running.totals).toEqual(["2", "2"]);
      const pending = await walk(s, `${O}/tasks?codebase_id=${w.codebaseId}&status=pending&limit=2`);
      expect(pending.ids).toEqual([tasks[2].id, tasks[3].id, tasks[4].id]);
      expect(pending.totals[0]).toBe("3");
      const mine = await s.get(`${O}/tasks?worker_id=${w.id}&order=newest`);
      expect(mine.body.map((t: any) => t.id)).toEqual([tasks[1].id, tasks[0].id]);
      expect(mine.headers.get("x-total-count")).toBe("2");
      const none = await s.get(`${O}/tasks?worker_id=${w.id}&status=pending`);
      expect(none.body).toEqual([]);
      expect(none.headers.get("x-total-count")).toBe("0");
      expect(nextLink(none)).toBeNull();
    });

    test("id_prefix finds a task by the start of its id, with the other filters", async () => {
      const { w, tasks } = await seed(3);
      const t = tasks[1];
      const exact = await s.get(`${O}/tasks?id_prefix=${t.id}`);
      expect(exact.body.map((x: any) => x.id)).toEqual([t.id]);
      // Eight characters are what the CLI takes; other tasks may share them, this one must be among them.
      const short = await s.get(`${O}/tasks?id_prefix=${t.id.slice(0, 8)}&order=newest&limit=10000`);
      expect(short.body.map((x: any) => x.id)).toContain(t.id);
      expect(short.body.every((x: any) => x.id.startsWith(t.id.slice(0, 8)))).toBe(true);
      expect(Number(short.headers.get("x-total-count"))).toBe(short.body.length);
      const scoped = await s.get(`${O}/tasks?id_prefix=${t.id.slice(0, 8)}&codebase_id=${w.codebaseId}`);
      expect(scoped.body.map((x: any) => x.id)).toContain(t.id);
      expect(scoped.body.every((x: any) => x.codebase_id === w.codebaseId)).toBe(true);
      // A prefix is a prefix: the id's tail, or the id with one more character, finds nothing.
      for (const p of [t.id.slice(1, 9), `${t.id}0`]) {
        const r = await s.get(`${O}/tasks?id_prefix=${p}`);
        expect(r.body).toEqual([]);
        expect(r.headers.get("x-total-count")).toBe("0");
      }
      // Case matters: ids are lowercase, an uppercase prefix is another prefix.
      expect((await s.get(`${O}/tasks?id_prefix=${t.id.toUpperCase()}`)).body).toEqual([]);
    });

    test("bad cursors and prefixes are 400s naming the parameter", async () => {
      const { w } = await seed(3);
      const newestNext = nextLink(await s.get(`${O}/tasks?codebase_id=${w.codebaseId}&order=newest&limit=1`))!;
      const before = new URL(newestNext, s.url).searchParams.get("before")!;
      const cases: [string, string][] = [
        [`${O}/tasks?order=newest&before=garbage`, "query.before"],
        [`${O}/tasks?order=newest&before=${"x".repeat(201)}`, "query.before"],
        [`${O}/tasks?order=newest&after=${before}`, "query.after"], // wrong direction for this order
        [`${O}/tasks?after=${before}`, "query.after"], // a newest cursor replayed in the default order
        [`${O}/tasks?before=${before}`, "query.before"],
        [`${O}/tasks?order=oldest`, "query.order"],
        [`${O}/tasks?id_prefix=%25`, "query.id_prefix"],
        [`${O}/tasks?id_prefix=a'b`, "query.id_prefix"],
      ];
      for (const [path, field] of cases) {
        const r = await s.get(path);
        expect({ path, status: r.status }).toEqual({ path, status: 400 });
        expect(r.body.details[0].field).toBe(field);
        expect(r.body.message).toContain(field);
      }
    });

    test("past the count cap X-Total-Count is left out and X-Total-Count-At-Least gives the cap", async () => {
      const capped = await startTestServer(kind, { listCountCap: 3, sweepIntervalMs: 3_600_000 });
      try {
        const w = await registerWorker(capped, "cap");
        const list = `${O}/tasks?codebase_id=${w.codebaseId}&order=newest&limit=2`;
        for (let i = 0; i < 4; i++) {
          const r = await capped.get(list);
          expect(r.headers.get("x-total-count")).toBe(String(i));
          expect(r.headers.get("x-total-count-at-least")).toBeNull();
          expect((await capped.post(`${O}/tasks`, { codebase_id: w.codebaseId, prompt: `c${i}` })).status).toBe(201);
        }
        const r = await capped.get(list);
        expect(r.headers.get("x-total-count")).toBeNull();
        expect(r.headers.get("x-total-count-at-least")).toBe("3");
        expect((await walk(capped, list)).ids).toHaveLength(4); // paging is not capped
      } finally {
        await capped.stop();
      }
    });

    test("the /v1/agent alias pages the same way and its Link keeps its path", async () => {
      const { w, tasks } = await seed(3);
      const walked = await walk(s, `/v1/agent/tasks?codebase_id=${w.codebaseId}&order=newest&limit=2`);
      expect(walked.ids).toEqual(tasks.map((t) => t.id).reverse());
      const link = nextLink(await s.get(`/v1/agent/tasks?codebase_id=${w.codebaseId}&order=newest&limit=2`))!;
      expect(link).toStartWith("/v1/agent/tasks?");
    });
  });
}
