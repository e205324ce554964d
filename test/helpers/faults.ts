// Shared by the fault tests (test/faults): scenario sizes, JSON log reading, a counting
// HTTP proxy (what a worker sends while its server is away), a failover TCP proxy (a
// load balancer in front of server replicas), and clean-up of agent processes a
// SIGKILLed worker leaves behind.
import { createConnection, createServer, type Socket } from "node:net";
import { afterAll } from "bun:test";
import { startGatedModel } from "../fixtures/model-server.ts";
import { createOpencodeEnv, processesUnder } from "./opencode-env.ts";
import { NO_PG } from "./pg.ts";
import { type CliProc, killAll, tempDir } from "./proc.ts";

/** `npm run test:faults` sets CT_FAULTS_FULL=1: the full scenario sizes; `bun test` runs reduced ones. */
export const FULL = process.env.CT_FAULTS_FULL === "1";
export const size = <T>(reduced: T, full: T): T => (FULL ? full : reduced);

/** CI (CI=true, set by .ci/run) has the time budget for every variant: nothing is skipped there. */
export const CI = process.env.CI === "true" || process.env.CI === "1";

export const FAULT_STORES = ["sqlite", "postgres"] as const;

/**
 * Why a scenario's `kind` variant does not run here (undefined when it does): SQLite always
 * runs; PostgreSQL needs TEST_DATABASE_URL, and, unless `pgByDefault`, `test:faults` or CI.
 * The scenarios that run a real OpenCode several times cost most; a developer's `npm test`
 * keeps within budget and says (as a counted skip) what it left out.
 */
export function faultSkip(kind: "sqlite" | "postgres", pgByDefault = false): string | undefined {
  if (kind === "sqlite") return undefined;
  if (NO_PG) return NO_PG;
  if (!FULL && !CI && !pgByDefault) return "the PostgreSQL variant runs under `npm run test:faults` (CT_FAULTS_FULL=1) and in CI";
  return undefined;
}

export function envNumber(name: string, dflt: number): number {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v : dflt;
}

export interface LogLine {
  time?: string;
  level: string;
  msg: string;
  [k: string]: unknown;
}

/** The JSON log lines (`--log-format json`, on stderr) a process printed so far. */
export function jsonLogs(p: CliProc): LogLine[] {
  const out: LogLine[] = [];
  for (const line of p.err().split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      out.push(JSON.parse(line));
    } catch {}
  }
  return out;
}

export const logsOf = (p: CliProc, msg: string, task?: string) => jsonLogs(p).filter((l) => l.msg === msg && (task === undefined || l.task === task));

export interface Hit {
  at: number;
  method: string;
  path: string;
  /** Upstream status, or 502 when the upstream could not be reached; 0 while held. */
  status: number;
  /** Held (never answered) because `hold` matched it. */
  held?: boolean;
  /** When the client gave up on a held request (its deadline), ms since epoch. */
  abandonedAt?: number;
}

export interface CountingProxy {
  url: string;
  hits: Hit[];
  /** Requests for which this returns true are accepted and never answered (until the client gives up). */
  hold: ((method: string, path: string) => boolean) | null;
  stop(): Promise<void>;
}

/**
 * An HTTP proxy that records every request (time, method, path, upstream status) and
 * answers 502 while the upstream is down, as a load balancer would. Bodies, including
 * SSE streams, pass through unbuffered. Requests matching `hold` get no answer at all:
 * a server that is overloaded or cut off by a partition without resets.
 */
export function startCountingProxy(upstream: string): CountingProxy {
  const hits: Hit[] = [];
  const self: CountingProxy = { url: "", hits, hold: null, stop: async () => {} };
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 0,
    async fetch(req) {
      const u = new URL(req.url);
      const hit: Hit = { at: Date.now(), method: req.method, path: u.pathname, status: 0 };
      hits.push(hit);
      if (self.hold?.(req.method, u.pathname)) {
        hit.held = true;
        return new Promise<Response>((resolve) => {
          req.signal.addEventListener("abort", () => {
            hit.abandonedAt = Date.now();
            resolve(new Response(null, { status: 499 }));
          });
        });
      }
      const headers = new Headers(req.headers);
      headers.delete("host");
      try {
        const body = req.method === "GET" || req.method === "HEAD" ? undefined : await req.arrayBuffer();
        const res = await fetch(upstream + u.pathname + u.search, {
          method: req.method,
          headers,
          body,
          redirect: "manual",
          signal: req.signal,
          decompress: false,
        } as RequestInit);
        hit.status = res.status;
        return new Response(passThrough(res.body), { status: res.status, headers: res.headers });
      } catch {
        hit.status = 502;
        return Response.json({ error: "bad_gateway", message: "upstream unreachable" }, { status: 502 });
      }
    },
  });
  self.url = `http://127.0.0.1:${server.port}`;
  self.stop = () => server.stop(true);
  return self;
}

export interface SilentConnection {
  openedAt: number;
  /** The request line the client sent (e.g. "POST /v1/opencode/codebases HTTP/1.1"). */
  request: string;
  /** When the client closed the connection without an answer (its deadline ran out). */
  closedAt?: number;
}

/**
 * A raw TCP listener that accepts connections, reads what the client sends and never
 * answers: an overloaded server, a half-open load balancer, a partition without resets.
 */
export async function startSilentServer(): Promise<{ url: string; connections: SilentConnection[]; stop(): Promise<void> }> {
  const connections: SilentConnection[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((sock) => {
    sockets.add(sock);
    const c: SilentConnection = { openedAt: Date.now(), request: "" };
    connections.push(c);
    let buf = "";
    sock.on("data", (d) => {
      if (c.request) return;
      buf += d.toString("latin1");
      const nl = buf.indexOf("\r\n");
      if (nl >= 0) c.request = buf.slice(0, nl);
    });
    sock.on("error", () => {});
    sock.on("close", () => {
      c.closedAt = Date.now();
      sockets.delete(sock);
    });
  });
  await new Promise<void>((res) => server.listen(0, "127.0.0.1", res));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    connections,
    stop: () =>
      new Promise<void>((res) => {
        for (const s of sockets) s.destroy();
        server.close(() => res());
      }),
  };
}

/** The upstream body, ending the client's response quietly when the upstream dies mid-stream. */
function passThrough(body: ReadableStream<Uint8Array> | null): ReadableStream<Uint8Array> | null {
  if (!body) return null;
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(c) {
      try {
        const { done, value } = await reader.read();
        if (done) c.close();
        else c.enqueue(value);
      } catch {
        c.close(); // the client then sees its connection end, as it would without the proxy
      }
    },
    cancel(reason) {
      reader.cancel(reason).catch(() => {});
    },
  });
}

export interface FailoverProxy {
  url: string;
  port: number;
  /** Connections made to each upstream port. */
  connections: Map<number, number>;
  stop(): Promise<void>;
}

/**
 * A TCP load balancer: each connection goes to the first upstream (in the given order)
 * that accepts it. Workers keep a fixed server URL; this is how a replica's failure is
 * hidden from them in a real deployment (a Kubernetes Service, HAProxy, ...).
 */
export async function startFailoverProxy(upstreamPorts: number[]): Promise<FailoverProxy> {
  const connections = new Map<number, number>();
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    sockets.add(client);
    client.on("close", () => sockets.delete(client));
    client.pause();
    const tryPort = (i: number) => {
      if (i >= upstreamPorts.length) return void client.destroy();
      const port = upstreamPorts[i]!;
      const up = createConnection({ host: "127.0.0.1", port });
      let connected = false;
      up.once("connect", () => {
        connected = true;
        sockets.add(up);
        connections.set(port, (connections.get(port) ?? 0) + 1);
        client.pipe(up);
        up.pipe(client);
        client.resume();
      });
      up.on("error", () => {
        if (!connected) tryPort(i + 1);
        else client.destroy();
      });
      up.on("close", () => {
        sockets.delete(up);
        if (connected) client.destroy();
      });
      client.on("error", () => up.destroy());
      client.on("close", () => up.destroy());
    };
    tryPort(0);
  });
  await new Promise<void>((res) => server.listen(0, "127.0.0.1", res));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    connections,
    stop: () =>
      new Promise<void>((res) => {
        for (const s of sockets) s.destroy();
        server.close(() => res());
      }),
  };
}

/** SIGKILLs what a killed worker's agent left running (processes whose cwd is under `dir`). */
export function killOrphans(dir: string): number {
  const pids = processesUnder(dir).filter((p) => p !== process.pid);
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {}
  }
  return pids.length;
}

/** The port of an http://host:port URL. */
export const portOf = (url: string) => Number(new URL(url).port);

export interface Cable {
  /** `dbUrl` with its host and port replaced by this forwarder's. */
  via(dbUrl: string): string;
  port: number;
  /** Close the listener and cut every open connection: what a restarting database looks like to its clients. */
  unplug(): Promise<void>;
  /** Listen again on the same port. */
  plug(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A TCP forwarder to `host:port` that can be unplugged: connection refused and every open
 * connection reset, then plugged back on the same port. It stands in for a database
 * restart without touching the machine's real database service.
 */
export async function startCable(target: { host: string; port: number }): Promise<Cable> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const up = createConnection(target);
    for (const s of [client, up]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => {});
    }
    client.pipe(up);
    up.pipe(client);
    client.on("close", () => up.destroy());
    up.on("close", () => client.destroy());
  });
  const listen = (port: number) => new Promise<void>((res) => server.listen(port, "127.0.0.1", res));
  await listen(0);
  const port = (server.address() as { port: number }).port;
  const unplug = () =>
    new Promise<void>((res) => {
      for (const s of sockets) s.destroy();
      server.close(() => res());
    });
  return {
    port,
    via: (dbUrl) => {
      const u = new URL(dbUrl);
      u.hostname = "127.0.0.1";
      u.port = String(port);
      return u.toString();
    },
    unplug,
    plug: () => listen(port),
    stop: unplug,
  };
}

/**
 * What a fault test with a held agent run needs: a temp dir, a model whose answer to
 * `marker` waits for `open()` (then is `text`), and an OpenCode env pointed at it; all torn
 * down after the file's tests (the gate opened first, so no agent is left waiting).
 */
export function gatedAgentFixture(prefix: string, marker: string, text: string) {
  const tmp = tempDir(prefix);
  const { model, open } = startGatedModel(marker, text);
  const oc = createOpencodeEnv({ modelServerUrl: model.url });
  afterAll(async () => {
    open();
    await killAll();
    killOrphans(oc.root);
    await model.stop();
    oc.cleanup();
    tmp.cleanup();
  });
  return { tmp, model, open, oc };
}
