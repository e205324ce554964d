// Keyset paging of the lists other than tasks (PROTOCOL.md "Extensions"), on SQLite and
// PostgreSQL: workers, codebases, a codebase's sessions and a session's messages answer
// everything without `limit`, as before; with it, Link headers walk every row exactly once
// in the unpaged order, and a bad cursor is a 400 naming the parameter.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { registerWorker, STORE_KINDS, startTestServer, storeSkip, type Api, type Res, type TestServer } from "../helpers/server.ts";
import { describeUnless } from "../helpers/skip.ts";

const O = "/v1/opencode";

/** Follows Link headers from `first` to the end; returns the ids of every page. */
async function walk(api: Api, first: string, id: (x: any) => string = (x) => x.id) {
  const pages: string[][] = [];
  let path: string | null = first;
  while (path) {
    const r: Res = await api.get(path);
    expect(r.status).toBe(200);
    pages.push(r.body.map(id));
    path = /^<([^>]+)>; rel="next"$/.exec(r.headers.get("link") ?? "")?.[1] ?? null;
    if (pages.length > 100) throw new Error("Link headers never end");
  }
  return { pages, ids: pages.flat() };
}

for (const kind of STORE_KINDS) {
  describeUnless(storeSkip(kind), `list paging [${kind}]`, () => {
    let s: TestServer;
    beforeAll(async () => {
      s = await startTestServer(kind, { sweepIntervalMs: 3_600_000 });
    });
    afterAll(() => s?.stop());

    test("workers and codebases: all without limit, walked exactly once with it", async () => {
      for (let i = 0; i < 3; i++) await registerWorker(s, "lp");
      const workers = await s.get(`${O}/workers`);
      expect(workers.headers.get("link")).toBeNull();
      const codebases = await s.get(`${O}/codebases`);
      expect(codebases.headers.get("link")).toBeNull();
      for (const limit of [1, 2, 5]) {
        expect((await walk(s, `${O}/workers?limit=${limit}`, (w) => w.worker_id)).ids).toEqual(workers.body.map((w: any) => w.worker_id));
        const walked = await walk(s, `${O}/codebases?limit=${limit}`);
        expect(walked.ids).toEqual(codebases.body.map((c: any) => c.id));
        expect(walked.pages[0]).toHaveLength(limit);
      }
      // A codebase registered between pages comes at the end, not in the middle.
      const first = await s.get(`${O}/codebases?limit=2`);
      await registerWorker(s, "late");
      const rest = await walk(s, /<([^>]+)>/.exec(first.headers.get("link")!)![1]!);
      expect([...first.body.map((c: any) => c.id), ...rest.ids]).toEqual((await s.get(`${O}/codebases`)).body.map((c: any) => c.id));
    });

    test("sessions newest first and messages in order page by keyset, untimed messages included", async () => {
      const w = await registerWorker(s, "ls");
      const sessions = [
        { id: "ses_a", title: "a", time: { created: 1000, updated: 5000 } },
        { id: "ses_b", title: "b", time: { created: 1000, updated: 5000 } },
        { id: "ses_c", title: "c", time: { created: 2000, updated: 9000 } },
        { id: "ses_d", title: "d", time: { created: 3000, updated: 1000 } },
      ].map((x) => ({ ...x, directory: w.path, created: String(x.time.created), updated: String(x.time.updated) }));
      expect((await s.post(`${O}/codebases/${w.codebaseId}/sessions/sync`, { worker_id: w.id, sessions })).status).toBe(200);
      const all = await s.get(`${O}/codebases/${w.codebaseId}/sessions`);
      expect(all.body.map((x: any) => x.id)).toEqual(["ses_c", "ses_a", "ses_b", "ses_d"]);
      for (const limit of [1, 2, 3]) {
        expect((await walk(s, `${O}/codebases/${w.codebaseId}/sessions?limit=${limit}`)).ids).toEqual(["ses_c", "ses_a", "ses_b", "ses_d"]);
      }
      const messages = [
        { id: "msg_3", sessionID: "ses_a", role: "user", time: { created: 30 } },
        { id: "msg_1", sessionID: "ses_a", role: "user", time: { created: 10 } },
        { id: "msg_2", sessionID: "ses_a", role: "assistant", time: { created: 10 } },
        { id: "msg_0", sessionID: "ses_a", role: "assistant" },
        { id: "msg_9", sessionID: "ses_a", role: "assistant" },
      ];
      const url = `${O}/codebases/${w.codebaseId}/sessions/ses_a/messages`;
      expect((await s.post(`${url}/sync`, { worker_id: w.id, messages })).status).toBe(200);
      const unpaged = (await s.get(url)).body.map((m: any) => m.id);
      expect(unpaged).toHaveLength(5);
      for (const limit of [1, 2, 4]) expect((await walk(s, `${url}?limit=${limit}`)).ids).toEqual(unpaged);
      expect((await s.get(`${O}/codebases/${w.codebaseId}/sessions/ses_nope/messages?limit=1`)).status).toBe(404);
    });

    test("one session by id: the record as listed, with its codebase; an unknown id is a 404 naming it", async () => {
      const w = await registerWorker(s, "one");
      const session = { id: "ses_one", title: "the one", directory: w.path, time: { created: 1000, updated: 2000 }, created: "1000", updated: "2000" };
      expect((await s.post(`${O}/codebases/${w.codebaseId}/sessions/sync`, { worker_id: w.id, sessions: [session] })).status).toBe(200);
      const listed = (await s.get(`${O}/codebases/${w.codebaseId}/sessions`)).body.find((x: any) => x.id === "ses_one");
      const one = await s.get(`${O}/sessions/ses_one`);
      expect(one.status).toBe(200);
      expect(one.body).toEqual(listed);
      expect(one.body).toMatchObject({ id: "ses_one", codebase_id: w.codebaseId, title: "the one" });
      const nope = await s.get(`${O}/sessions/ses_nope`);
      expect(nope.status).toBe(404);
      expect(nope.body).toMatchObject({ error: "not_found", message: "session ses_nope not found" });
    });

    test("bad limits and cursors are 400s naming the parameter", async () => {
      const w = await registerWorker(s, "lb");
      const link = (await s.get(`${O}/codebases?limit=1`)).headers.get("link")!;
      const codebasesCursor = new URL(/<([^>]+)>/.exec(link)![1]!, s.url).searchParams.get("after")!;
      const cases: [string, string][] = [
        [`${O}/workers?limit=0`, "query.limit"],
        [`${O}/workers?limit=x`, "query.limit"],
        [`${O}/workers?after=garbage`, "query.after"],
        [`${O}/workers?after=${codebasesCursor}`, "query.after"], // another list's cursor
        [`${O}/codebases?before=${codebasesCursor}`, "query.before"], // wrong direction
        [`${O}/codebases?after=${"x".repeat(1401)}`, "query.after"],
        [`${O}/codebases/${w.codebaseId}/sessions?before=e30`, "query.before"],
        [`${O}/codebases/${w.codebaseId}/sessions?after=${codebasesCursor}`, "query.after"],
        [`${O}/codebases/${w.codebaseId}/sessions/ses_x/messages?after=WyJtZXNzYWdlcyIsMV0`, "query.after"],
      ];
      for (const [path, field] of cases) {
        const r = await s.get(path);
        expect({ path, status: r.status }).toEqual({ path, status: 400 });
        expect(r.body.details[0].field).toBe(field);
      }
    });
  });
}
