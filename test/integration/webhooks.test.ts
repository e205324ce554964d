// Webhooks against a real local receiver: signed as the README says, one delivery per
// (event, receiver) with an id to deduplicate on, the events a receiver asked for only;
// and nothing lost when the receiver is down and the server restarts in between.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { join } from "node:path";
import { startServerProc, type ServerProc } from "../helpers/cluster.ts";
import { killAll, runCli, tempDir, waitUntil } from "../helpers/proc.ts";
import { createApi, registerWorker, startTestServer, STORE_KINDS, storeSkip, type Api, type TestServer, type TestWorker } from "../helpers/server.ts";
import { describeUnless } from "../helpers/skip.ts";

const O = "/v1/opencode";
const W = "/v1/worker/tasks";
const SECRET = "whsec-0123456789abcdef";

interface Received {
  headers: Record<string, string>;
  body: string;
  json: any;
}

/** A receiver on `port` (0: any) that records every POST and answers `status()`. */
function receiver(port = 0, status = () => 200) {
  const got: Received[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port,
    async fetch(req) {
      const body = await req.text();
      got.push({ headers: Object.fromEntries(req.headers), body, json: JSON.parse(body) });
      return new Response(null, { status: status() });
    },
  });
  return { url: `http://127.0.0.1:${server.port}/hook`, port: server.port!, got, stop: () => server.stop(true) };
}

/** The README's check: HMAC-SHA256 of "<timestamp>.<raw body>" with the secret. */
const verify = (r: Received, secret = SECRET) =>
  r.headers["x-codetether-signature"] === `sha256=${createHmac("sha256", secret).update(`${r.headers["x-codetether-timestamp"]}.${r.body}`).digest("hex")}`;

/** A task taken by `w` and ended with `status` over the worker protocol. */
async function finish(api: Api, w: TestWorker, status: "completed" | "failed" | "cancelled", prompt: string = status) {
  const t = (await api.post(`${O}/tasks`, { codebase_id: w.codebaseId, prompt })).body;
  const c = await api.post(`${W}/claim`, { task_id: t.id }, w.headers);
  expect(c.status).toBe(200);
  expect((await api.post(`${W}/release`, { task_id: t.id, worker_id: w.id, attempt: c.body.attempt, status }, w.headers)).status).toBe(200);
  return t;
}

for (const kind of STORE_KINDS) {
  describeUnless(storeSkip(kind), `webhooks [${kind}]`, () => {
    let s: TestServer;
    const all = receiver();
    const failedOnly = receiver();
    beforeAll(async () => {
      s = await startTestServer(kind, {
        webhooks: [
          { url: all.url, secret: SECRET, events: ["task.completed", "task.failed", "task.cancelled", "worker.offline"] },
          { url: failedOnly.url, secret: "other-secret-0123456789", events: ["task.failed"] },
        ],
      });
    });
    afterAll(async () => {
      await s?.stop();
      all.stop();
      failedOnly.stop();
    });

    test("each final state and a worker going offline: signed, with an id, to the receivers that want them", async () => {
      const w = await registerWorker(s, "wh");
      const done = await finish(s, w, "completed");
      const bad = await finish(s, w, "failed");
      const pending = (await s.post(`${O}/tasks`, { codebase_id: w.codebaseId, prompt: "cancel me" })).body;
      await s.post(`${O}/tasks/${pending.id}/cancel`);
      expect((await s.post(`${O}/workers/${w.id}/unregister`, {}, w.headers)).status).toBe(200);
      await waitUntil(
        async () => {
          await s.handle.sendWebhooks();
          return all.got.length >= 4;
        },
        "four deliveries",
        10_000,
      );

      const byType = Object.fromEntries(all.got.map((r) => [r.json.type, r]));
      expect(Object.keys(byType).sort()).toEqual(["task.cancelled", "task.completed", "task.failed", "worker.offline"]);
      expect(byType["task.completed"]!.json.data.task).toMatchObject({ id: done.id, status: "completed" });
      expect(byType["task.failed"]!.json.data.task).toMatchObject({ id: bad.id, status: "failed" });
      expect(byType["task.cancelled"]!.json.data.task).toMatchObject({ id: pending.id, status: "cancelled" });
      expect(byType["worker.offline"]!.json.data).toMatchObject({ worker: { worker_id: w.id }, reason: "unregistered" });
      for (const r of all.got) {
        expect(verify(r)).toBe(true);
        expect(r.headers["x-codetether-delivery"]).toBe(r.json.id);
        expect(r.headers["x-codetether-event"]).toBe(r.json.type);
        expect(verify(r, "a-wrong-secret-0123")).toBe(false);
      }
      // the receiver that asked for failures only got exactly that one, under its own secret
      expect(failedOnly.got.map((r) => r.json.type)).toEqual(["task.failed"]);
      expect(verify(failedOnly.got[0]!, "other-secret-0123456789")).toBe(true);
      expect(new Set(all.got.map((r) => r.json.id)).size).toBe(all.got.length);
      // delivered rows are not sent again
      await s.handle.sendWebhooks();
      expect(all.got.length).toBe(4);
    });
  });
}

describeUnless(undefined, "webhooks survive a receiver outage and a server restart", () => {
  const tmp = tempDir("ct-webhooks-");
  let server: ServerProc;
  afterAll(async () => {
    await killAll();
    tmp.cleanup();
  });

  test("events of tasks that ended while the receiver was down all arrive once it is back, across a restart", async () => {
    const probe = receiver();
    const port = probe.port;
    probe.stop(); // the receiver is down: nothing listens on its port
    const url = `http://127.0.0.1:${port}/hook`;
    const env = { A2A_WEBHOOKS: JSON.stringify([{ url, secret: SECRET, events: ["task.completed", "task.failed"] }]) };
    const dir = join(tmp.path, "server");
    server = await startServerProc(dir, { env });
    const api = createApi(server.url);
    const w = await registerWorker(api, "out");
    const ended = [await finish(api, w, "completed", "a"), await finish(api, w, "failed", "b"), await finish(api, w, "completed", "c")];
    await server.proc.waitFor(/webhook delivery failed; retrying/, 15_000);

    // restart the server (SIGTERM, same database), then bring the receiver back
    await server.stop("SIGTERM");
    server = await startServerProc(dir, { env, port: Number(new URL(server.url).port) });
    const back = receiver(port);
    try {
      await waitUntil(() => new Set(back.got.map((r) => r.json.data.task.id)).size === 3, "every event delivered", 60_000, 100);
      expect(new Set(back.got.map((r) => r.json.data.task.id))).toEqual(new Set(ended.map((t) => t.id)));
      for (const r of back.got) expect(verify(r)).toBe(true);
      // at least once: a receiver dedupes by id; here none was sent twice
      expect(back.got.length).toBe(new Set(back.got.map((r) => r.json.id)).size);
    } finally {
      back.stop();
    }
  }, 120_000);

  test("codetether webhook test: a signed sample to --url; a receiver that refuses it exits 1", async () => {
    const ok = receiver();
    const no = receiver(0, () => 500);
    try {
      const r = await runCli(["webhook", "test", "--url", ok.url, "--secret", SECRET], { env: { A2A_CONFIG: undefined } });
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
      expect(r.stdout).toContain(`✓ ${ok.url}: accepted task.completed`);
      expect(ok.got).toHaveLength(1);
      expect(verify(ok.got[0]!)).toBe(true);
      const bad = await runCli(["webhook", "test", "--url", no.url, "--secret", SECRET], { env: { A2A_CONFIG: undefined } });
      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain(`${no.url}: HTTP 500`);
      const none = await runCli(["webhook", "test"], { env: { A2A_CONFIG: undefined, A2A_WEBHOOKS: undefined } });
      expect(none.code).toBe(78);
      expect(none.stderr).toContain("no webhooks configured");
      // bad config is one line naming the env var, and never echoes the secret
      const badJson = await runCli(["webhook", "test"], { env: { A2A_CONFIG: undefined, A2A_WEBHOOKS: `[{"url": "${ok.url}", "secret": "${SECRET}"` } });
      expect(badJson.code).toBe(78);
      expect(badJson.stderr).toContain("A2A_WEBHOOKS");
      expect(badJson.stderr).toContain("expected JSON");
      expect(badJson.stderr).not.toContain(SECRET);
      const shortSecret = await runCli(["webhook", "test"], {
        env: { A2A_CONFIG: undefined, A2A_WEBHOOKS: JSON.stringify([{ url: ok.url, secret: "short" }]) },
      });
      expect(shortSecret.code).toBe(78);
      expect(shortSecret.stderr).toContain("secret: must be at least 16 characters");
    } finally {
      ok.stop();
      no.stop();
    }
  });
});
