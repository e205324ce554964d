// P6's client process: registers N workers (each with its global codebase) and holds one
// task stream per worker over raw sockets (cheap on the client side, so the server is what
// gets measured). Prints one JSON object per line on stdout:
//   {"ready":true,"at":<ms>}                      all N streams got `connected`
//   {"task":id,"count":N,"first":<ms>,"last":<ms>,"p50":<ms>}   every stream got task_available `id`
//   {"report":{...}}                              on the stdin command "report"
// Times are epoch milliseconds with sub-ms precision (performance.timeOrigin + now()), the
// same clock the parent process reads.
export {};

const [url, countArg] = process.argv.slice(2);
const N = Number(countArg);
const base = new URL(url!);
const now = () => performance.timeOrigin + performance.now();
const out = (o: unknown) => process.stdout.write(JSON.stringify(o) + "\n");

async function post(path: string, body: unknown) {
  const r = await fetch(url + path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  if (!r.ok) throw new Error(`${path}: ${r.status} ${await r.text()}`);
  return r.json();
}

const ids = Array.from({ length: N }, (_, i) => `p6-${process.pid}-${i}`);
// Registration, 50 at a time.
for (let i = 0; i < N; i += 50) {
  await Promise.all(
    ids.slice(i, i + 50).map(async (id) => {
      await post("/v1/opencode/codebases", { name: "global", path: `/home/${id}`, worker_id: id });
      await post("/v1/opencode/workers/register", { worker_id: id, name: id, codebases: ["global"] });
    }),
  );
}

interface Stream {
  id: string;
  buf: string;
  connected: number;
  heartbeats: number[];
  closed: boolean;
}
const streams: Stream[] = [];
const arrivals = new Map<string, number[]>();
let connected = 0;
let readyAt = 0;
const dec = new TextDecoder();
const FRAME = /event: (\S+)\ndata: ([^\n]*)$/;

function onFrame(s: Stream, event: string, data: string, at: number) {
  if (event === "connected") {
    s.connected = at;
    if (++connected === N) {
      readyAt = at;
      out({ ready: true, at });
    }
  } else if (event === "heartbeat") s.heartbeats.push(at);
  else if (event === "task_available") {
    const id = /"id":"([^"]+)"/.exec(data)?.[1];
    if (!id) return;
    let a = arrivals.get(id);
    if (!a) arrivals.set(id, (a = []));
    a.push(at);
    if (a.length === N) {
      const sorted = [...a].sort((x, y) => x - y);
      out({ task: id, count: N, first: sorted[0], last: sorted.at(-1), p50: sorted[Math.floor(N / 2)] });
    }
  }
}

async function open(id: string): Promise<void> {
  const s: Stream = { id, buf: "", connected: 0, heartbeats: [], closed: false };
  streams.push(s);
  const sock = await Bun.connect({
    hostname: base.hostname,
    port: Number(base.port),
    socket: {
      data(_sock, chunk) {
        const at = now();
        s.buf += dec.decode(chunk, { stream: true });
        let i: number;
        // Frames end with a blank line; chunked-encoding size lines land before "event:" and are skipped.
        while ((i = s.buf.indexOf("\n\n")) >= 0) {
          const m = FRAME.exec(s.buf.slice(0, i));
          s.buf = s.buf.slice(i + 2);
          if (m) onFrame(s, m[1]!, m[2]!, at);
        }
      },
      close() {
        s.closed = true;
      },
      error() {
        s.closed = true;
      },
    },
  });
  sock.write(
    `GET /v1/worker/tasks/stream?worker_id=${id}&agent_name=${id} HTTP/1.1\r\nHost: ${base.host}\r\nAccept: text/event-stream\r\nX-Codebases: global\r\n\r\n`,
  );
}

for (let i = 0; i < N; i += 100) await Promise.all(ids.slice(i, i + 100).map(open));

for await (const line of console) {
  const cmd = line.trim();
  if (cmd === "report") {
    out({
      report: {
        ready_at: readyAt,
        connected,
        closed: streams.filter((s) => s.closed).length,
        streams: streams.map((s) => ({ connected: s.connected, heartbeats: s.heartbeats })),
      },
    });
  } else if (cmd === "exit") process.exit(0);
}
