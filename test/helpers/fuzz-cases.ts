// Generated malformed requests for every route of PROTOCOL.md (test/faults/fuzz.test.ts).
// Every request that could change state is made invalid on purpose (a wrong type, a
// missing field, a bad id, a broken body...), so the only right answer is a 4xx; GETs may
// also carry junk the protocol says to ignore (unknown query parameters), which may be 2xx.
// Deterministic for a seed, so a failure can be replayed with CT_FUZZ_SEED.

export interface Seeded {
  worker: string;
  codebase: string;
  pending: string;
  running: string;
  done: string;
  session: string;
}

export interface FuzzCase {
  what: string;
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  /** "4xx": must be refused; "any": anything but a 5xx (junk the protocol ignores). */
  expect: "4xx" | "any";
}

export function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!, int: (n: number) => Math.floor(next() * n) };
}
type Rng = ReturnType<typeof rng>;

/** Raw JSON text fragments that JSON.stringify cannot produce. */
// (big but safe integers such as 2^32 are legal values of some fields, so they are not here)
const RAW = ["1e400", "-1e400", "123456789012345678901234567890", "9007199254740993", "1e-400"];
const RAW_MARK = "\u0001raw:";

const UNICODE = ["名前", "🙂🚀", "\u202eevil", "a\u200bb", "\u0000", "\ud800", "\udfff", "e\u0301", "\uffff", "Ω".repeat(300)];
const TRAVERSAL = [
  "../../etc/passwd",
  "..\\..\\windows",
  "/etc/passwd",
  "%2e%2e%2f%2e%2e%2fetc",
  "....//....//",
  "~/.ssh/id_rsa",
  "a/../../b",
  "file:///etc/passwd",
];
const HUGE = [1e308, -1e308, Number.MAX_SAFE_INTEGER + 2, -Number.MAX_SAFE_INTEGER - 2, 2 ** 31, 2 ** 63, 1.5, -1, 0.0001];

type Kind =
  | "prioOpt"
  | "tsOpt"
  | "text"
  | "id"
  | "idOpt"
  | "str"
  | "strOpt"
  | "int"
  | "intOpt"
  | "numOpt"
  | "arr"
  | "arrOpt"
  | "obj"
  | "objOpt"
  | "status"
  | "statusOpt"
  | "path";

/** Values that are invalid for a field of this kind (whatever the other fields hold). */
function invalid(kind: Kind, r: Rng): unknown {
  const wrongType = [true, false, {}, [], { a: 1 }, [1, 2]];
  switch (kind) {
    case "id":
    case "idOpt":
      return r.pick([
        ...(kind === "id" ? [null, ""] : []),
        1,
        true,
        {},
        [],
        "",
        "x".repeat(201),
        "a/b",
        "a b",
        ...TRAVERSAL,
        ...UNICODE.slice(0, 5),
        "%2F",
        "id\n",
      ]);
    case "str":
      return r.pick([null, 1, 0, true, {}, [], ["a"], ""]);
    case "text": // a string that may be empty
      return r.pick([null, 1, 0, true, {}, [], ["a"]]);
    case "strOpt":
      return r.pick([1, true, {}, [], ["a"], 1e308]);
    case "int":
    case "intOpt":
      return r.pick([
        ...(kind === "int" ? [null] : []),
        "1",
        "abc",
        "",
        1.5,
        -1,
        ...HUGE.filter((h) => h < 0 || !Number.isSafeInteger(h)),
        ...wrongType,
        RAW_MARK + r.pick(RAW.slice(0, 4)),
      ]);
    case "prioOpt": // an integer in ±1,000,000
      return r.pick([
        "1",
        1.5,
        1_000_001,
        -1_000_001,
        ...HUGE.filter((h) => Math.abs(h) > 1e6 || !Number.isInteger(h)),
        ...wrongType,
        RAW_MARK + r.pick(RAW.slice(0, 4)),
      ]);
    case "numOpt":
      return r.pick(["1", -1, 0, 1e308, ...wrongType, RAW_MARK + r.pick(RAW.slice(0, 2))]);
    case "arr":
    case "arrOpt":
      return r.pick([...(kind === "arr" ? [null] : []), "a", 1, true, {}, { 0: "a" }]);
    case "obj":
    case "objOpt":
      return r.pick(["a", 1, true, [], [1]]);
    case "status":
    case "statusOpt":
      return r.pick([...(kind === "status" ? [null] : []), "done", "", "COMPLETED", "running ", 1, true, {}, [], "completed\u0000"]);
    case "tsOpt":
      return r.pick(["not a date", "yesterday", "2024-13-45T99:99:99Z", true, {}, [], 8.64e15 + 1, RAW_MARK + "1e400"]);
    case "path":
      return r.pick(["relative/dir", "./x", "../x", "", "~", "~/x", "C:\\repo", 1, null, true, {}, "x".repeat(5000), "a\u0000b"]);
  }
}

function serialize(body: unknown): string {
  let s = JSON.stringify(body);
  // splice raw number text (1e400 ...) where a marker string stands
  s = s.replace(/"\\u0001raw:([^"]*)"/g, "$1");
  return s;
}

interface Template {
  method: string;
  path: string;
  body?: Record<string, unknown>;
  fields?: Record<string, Kind>;
  /** The route reads the worker identity (X-Worker-ID / worker_id), so a bad X-Worker-ID is a 400. */
  identity?: boolean;
  /** Only unknown/invalid ids in the path: any real one would change state. */
  idOnly?: boolean;
}

function templates(s: Seeded): Template[] {
  const O = "/v1/opencode";
  return [
    {
      method: "POST",
      path: `${O}/workers/register`,
      identity: true,
      body: { worker_id: "fz-new", name: "n", capabilities: [], codebases: [], models: [] },
      fields: {
        worker_id: "id",
        name: "str",
        capabilities: "arrOpt",
        codebases: "arrOpt",
        models: "arrOpt",
        hostname: "strOpt",
        max_concurrent_tasks: "intOpt",
        version: "strOpt",
      },
    },
    { method: "POST", path: `${O}/workers/{unknown}/heartbeat`, idOnly: true },
    { method: "POST", path: `${O}/workers/{unknown}/unregister`, idOnly: true },
    {
      method: "POST",
      path: `${O}/codebases`,
      identity: true,
      body: { name: "fz", path: "/srv/fuzz-new", worker_id: s.worker },
      fields: { name: "str", path: "path", description: "strOpt", worker_id: "idOpt", agent_config: "objOpt" },
    },
    { method: "DELETE", path: `${O}/codebases/{unknown}`, idOnly: true },
    {
      method: "POST",
      path: `${O}/tasks`,
      body: { codebase_id: s.codebase, prompt: "p" },
      fields: {
        codebase_id: "strOpt",
        prompt: "str",
        title: "strOpt",
        agent_type: "strOpt",
        model: "strOpt",
        priority: "prioOpt",
        metadata: "objOpt",
        target_worker_id: "idOpt",
        timeout_s: "numOpt",
        max_attempts: "intOpt",
      },
    },
    { method: "POST", path: `${O}/tasks/{unknown}/cancel`, idOnly: true },
    {
      method: "PUT",
      path: `${O}/tasks/${s.running}/status`,
      identity: true,
      body: { status: "completed", worker_id: s.worker, attempt: 1 },
      fields: { status: "status", worker_id: "strOpt", session_id: "strOpt", result: "strOpt", error: "strOpt", attempt: "intOpt" },
    },
    {
      method: "POST",
      path: `${O}/tasks/${s.running}/output`,
      identity: true,
      body: { worker_id: s.worker, attempt: 1, seq: 100, lines: ["x"] },
      fields: { attempt: "int", seq: "int", lines: "arr" },
    },
    {
      method: "POST",
      path: `${O}/tasks/${s.running}/output`,
      identity: true,
      body: { worker_id: s.worker, output: "x", timestamp: "2024-01-01T00:00:00Z" },
      fields: { output: "text", timestamp: "tsOpt", attempt: "intOpt" },
    },
    {
      method: "POST",
      path: "/v1/worker/tasks/claim",
      identity: true,
      body: { task_id: s.pending, worker_id: s.worker },
      fields: { task_id: "idOpt", worker_id: "idOpt" },
    },
    {
      method: "POST",
      path: "/v1/worker/tasks/heartbeat",
      identity: true,
      body: { task_id: s.running, worker_id: s.worker, attempt: 1 },
      fields: { task_id: "id", worker_id: "idOpt", attempt: "intOpt" },
    },
    {
      method: "POST",
      path: "/v1/worker/tasks/release",
      identity: true,
      body: { task_id: s.running, worker_id: s.worker, attempt: 1 },
      fields: { task_id: "id", worker_id: "idOpt", attempt: "intOpt", status: "statusOpt", result: "strOpt", error: "strOpt", session_id: "strOpt" },
    },
    {
      method: "POST",
      path: "/v1/worker/tasks/decline",
      identity: true,
      body: { task_id: s.pending, worker_id: s.worker, reason: "does not exist" },
      fields: { task_id: "id", worker_id: "idOpt", reason: "strOpt" },
    },
    { method: "PUT", path: `/v1/worker/codebases?worker_id=${s.worker}`, identity: true, body: { codebases: [s.codebase] }, fields: { codebases: "arr" } },
    {
      method: "POST",
      path: `${O}/codebases/${s.codebase}/sessions/sync`,
      identity: true,
      body: { worker_id: s.worker, sessions: [{ id: "ses_fz", title: "t" }] },
      fields: { sessions: "arr", worker_id: "strOpt" },
    },
    {
      method: "POST",
      path: `${O}/codebases/${s.codebase}/sessions/${s.session}/messages/sync`,
      identity: true,
      body: { worker_id: s.worker, messages: [{ id: "msg_fz", role: "user", parts: [] }] },
      fields: { messages: "arr", worker_id: "strOpt" },
    },
  ];
}

/** Nested invalid values inside arrays of records (sessions, messages, lines). */
function nestedInvalid(path: string, r: Rng): Record<string, unknown> | null {
  if (path.endsWith("/sessions/sync"))
    return {
      sessions: [
        r.pick([
          { id: 1 },
          { id: "" },
          { id: "s", created: "not a date" },
          { id: "s", messageCount: r.pick([-1, 1.5, "3"]) },
          { id: "s", updated: 8.64e15 + 1 },
          { title: "no id" },
          "ses_x",
          null,
          { id: "x".repeat(201) },
        ]),
      ],
    };
  if (path.includes("/messages/sync"))
    return {
      messages: [
        r.pick([
          { id: 1 },
          { id: "" },
          { id: "m", parts: "x" },
          { id: "m", parts: [{ id: "p" }] },
          { id: "m", parts: [{ type: "text" }] },
          { id: "m", time: { created: "yesterday" } },
          { id: "m", cost: "free" },
          null,
          "msg",
        ]),
      ],
    };
  if (path.endsWith("/output")) return { lines: [r.pick([1, null, {}, ["a"], true])] };
  return null;
}

const GARBAGE_BODIES: (string | Uint8Array)[] = [
  "{",
  "}",
  '{"a":',
  "{'single': 'quotes'}",
  "[1,2,3]",
  "null",
  "true",
  "42",
  '"string"',
  "NaN",
  "undefined",
  '{"a":1}{"b":2}',
  "\ufeff{}x",
  "[".repeat(100_000),
  '{"a":'.repeat(20_000),
  "a=1&b=2",
  "<xml/>",
  new Uint8Array([0xff, 0xfe, 0xfd, 0x00, 0x7b, 0x7d]),
  new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d]), // {"a":"<invalid utf-8>"}
];

const BAD_IDS = [
  "nope",
  "..%2F..%2Fetc%2Fpasswd",
  "%2e%2e",
  "%252e%252e%252f",
  "%00",
  "a%00b",
  "%zz",
  "%E0%A4%A",
  "%ED%A0%80",
  "%F0%9F%99%82",
  "x".repeat(300),
  "x".repeat(9000),
  "' OR '1'='1",
  "1;DROP TABLE tasks",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a log4shell-style string, sent as data
  "${jndi:ldap://x}",
  "%0d%0aSet-Cookie:x",
  "ünïcode",
  "%20",
  "global",
];

const enc = (s: string) => s.replace(/[^A-Za-z0-9._~%-]/gu, (c) => encodeURIComponent(c));

export function generate(s: Seeded, seed: number, n: number): FuzzCase[] {
  const r = rng(seed);
  const out: FuzzCase[] = [];
  const tpls = templates(s);
  const O = "/v1/opencode";
  const alias = (p: string) => (r.next() < 0.25 ? p.replace(/^\/v1\/opencode\//, "/v1/agent/") : p);
  const noise = (b: Record<string, unknown>) => {
    if (r.next() < 0.5)
      b[r.pick(["__proto__", "constructor", "ünï", "🙂", "k".repeat(1000), "$where", "toString", "unknown_field"])] = r.pick([
        { status: "completed" },
        UNICODE[r.int(UNICODE.length)],
        1e308,
        [null],
        "x",
      ]);
    return b;
  };

  while (out.length < n) {
    const t = r.pick(tpls);
    const path = alias(t.path);
    const roll = r.next();
    if (t.idOnly || path.includes("{unknown}")) {
      const id = r.pick(BAD_IDS.filter((x) => x !== "global"));
      out.push({
        what: `${t.method} ${t.path} bad id ${id.slice(0, 40)}`,
        method: t.method,
        path: path.replace("{unknown}", id),
        body: r.next() < 0.5 ? serialize(noise({})) : r.pick(GARBAGE_BODIES),
        expect: "4xx",
      });
      continue;
    }
    const body = { ...t.body! };
    const fields = Object.entries(t.fields ?? {});
    if (roll < 0.45 && fields.length) {
      const [f, kind] = r.pick(fields);
      body[f] = invalid(kind, r);
      out.push({
        what: `${t.method} ${t.path} ${f}=${String(serialize(body[f])).slice(0, 60)}`,
        method: t.method,
        path,
        body: serialize(noise(body)),
        expect: "4xx",
      });
    } else if (roll < 0.55) {
      const required = fields.filter(([, k]) => !k.endsWith("Opt"));
      const f = required.length ? r.pick(required)[0] : null;
      const nested = nestedInvalid(t.path, r);
      if (nested && (r.next() < 0.6 || !f)) Object.assign(body, nested);
      else if (f) delete body[f];
      else continue; // nothing required (claim): a missing field would make a legal request
      out.push({ what: `${t.method} ${t.path} missing/nested ${f ?? ""}`, method: t.method, path, body: serialize(noise(body)), expect: "4xx" });
    } else if (roll < 0.6) {
      // a legal body with JSON nested too deep somewhere inside (validating it would recurse per level)
      const depth = 129 + r.int(50_000);
      const deep = r.next() < 0.5 ? "[".repeat(depth) + "]".repeat(depth) : '{"a":'.repeat(depth) + "1" + "}".repeat(depth);
      const text = serialize(body).replace(/}$/, `,"deep":${deep}}`);
      out.push({ what: `${t.method} ${t.path} nested ${depth} deep`, method: t.method, path, body: text, expect: "4xx" });
    } else if (roll < 0.75) {
      const g = r.pick(GARBAGE_BODIES);
      // `{}`-like garbage on identity routes must not carry an identity (a `{}` claim with one is legal)
      out.push({
        what: `${t.method} ${t.path} garbage body`,
        method: t.method,
        path,
        body: g,
        headers: { "content-type": r.pick(["application/json", "text/plain", "application/x-www-form-urlencoded", "", "application/json; charset=latin1"]) },
        expect: "4xx",
      });
    } else if (roll < 0.88 && t.identity) {
      const h = r.pick(["../../etc/passwd", "a b", "x".repeat(201), "%00", "id,other", "\u00e9t\u00e9", "<script>", "other-worker-than-body"]);
      out.push({
        what: `${t.method} ${t.path} X-Worker-ID ${h.slice(0, 30)}`,
        method: t.method,
        path,
        body: serialize(noise(body)),
        headers: { "x-worker-id": h },
        expect: "4xx",
      });
    } else {
      // huge body, beyond the server's 1 MiB limit
      const big = { ...body, [Object.keys(body)[0] ?? "x"]: "x".repeat(1024 * 1024 + r.int(1000)) };
      out.push({ what: `${t.method} ${t.path} huge body`, method: t.method, path, body: serialize(big), expect: "4xx" });
    }
  }

  // GETs: bad path ids, bad values of known query parameters (4xx), and junk the protocol
  // ignores (unknown parameters and headers) on real ids (anything but 5xx).
  const gets: { path: string; real: string; query?: Record<string, string[]> }[] = [
    { path: "/health", real: "/health" },
    { path: "/v1/monitor/workers", real: "/v1/monitor/workers" },
    { path: `${O}/workers`, real: `${O}/workers` },
    { path: `${O}/workers/{id}`, real: `${O}/workers/${s.worker}` },
    { path: `${O}/codebases`, real: `${O}/codebases` },
    { path: `${O}/codebases/{id}`, real: `${O}/codebases/${s.codebase}` },
    {
      path: `${O}/tasks`,
      real: `${O}/tasks`,
      query: {
        status: ["done", "PENDING", "pending'--", "\u00e9"],
        limit: ["0", "-1", "abc", "1e999", "10001", "1.5", "0x10g"],
        codebase_id: ["x".repeat(201)],
        worker_id: ["x".repeat(201)],
      },
    },
    { path: `${O}/tasks/{id}`, real: `${O}/tasks/${s.done}` },
    { path: `${O}/tasks/{id}/output`, real: `${O}/tasks/${s.done}/output`, query: { since: ["-1", "abc", "1.5", "1e999", "-0.5", "NaN"] } },
    { path: `${O}/tasks/{id}/output/stream`, real: `${O}/tasks/${s.done}/output/stream`, query: { since: ["-1", "abc", "1.5"] } },
    { path: "/v1/worker/tasks/stream", real: "", query: { worker_id: ["a/b", "x".repeat(201), "%00", "\u00fc", "a%20b"] } },
    { path: `${O}/codebases/{id}/sessions`, real: `${O}/codebases/${s.codebase}/sessions` },
    { path: `${O}/codebases/{id}/sessions/{id}/messages`, real: `${O}/codebases/${s.codebase}/sessions/${s.session}/messages` },
  ];
  for (const g of gets) {
    for (let i = 0; i < 12; i++) {
      if (g.path.includes("{id}") && (i % 2 === 0 || !g.query)) {
        const id = r.pick(BAD_IDS.filter((x) => x !== "global"));
        out.push({ what: `GET ${g.path} bad id ${id.slice(0, 40)}`, method: "GET", path: alias(g.path.replaceAll("{id}", id)), expect: "4xx" });
      } else if (g.query) {
        const [k, vs] = r.pick(Object.entries(g.query));
        const v = r.pick(vs);
        out.push({ what: `GET ${g.path}?${k}=${v.slice(0, 30)}`, method: "GET", path: `${alias(g.real || g.path)}?${k}=${enc(v)}`, expect: "4xx" });
      }
      if (g.real) {
        const junk = `${enc(r.pick(UNICODE.slice(0, 4)))}=${enc(r.pick(TRAVERSAL))}&x=${"y".repeat(r.int(3000))}`;
        out.push({
          what: `GET ${g.path} junk query`,
          method: "GET",
          path: `${alias(g.real)}?${junk}`,
          headers: { "x-junk": "\u00ff".repeat(r.int(100)) },
          expect: "any",
        });
      }
    }
  }
  // Methods and paths no route has.
  for (const [m, p] of [
    ["PATCH", `${O}/tasks`],
    ["PUT", `${O}/tasks/${s.done}`],
    ["DELETE", `${O}/tasks/${s.done}`],
    ["POST", "/health"],
    ["GET", `${O}/tasks/${s.done}/output/x/y`],
    ["GET", "/v1/opencode/../../etc/passwd"],
    ["GET", "/v1/opencode/%2e%2e/%2e%2e/etc/passwd"],
    ["GET", `/${"a/".repeat(2000)}`],
    ["POST", "/v1/worker/tasks"],
    ["GET", "/v2/opencode/tasks"],
    ["OPTIONS", `${O}/tasks`],
  ] as const) {
    out.push({ what: `${m} ${p.slice(0, 50)}`, method: m, path: p, body: m === "GET" || m === "OPTIONS" ? undefined : "{}", expect: "4xx" });
  }
  return out;
}
