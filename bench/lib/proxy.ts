// A loopback HTTP proxy in front of the server that refuses the worker task stream. A real
// worker behind it runs exactly its poll-only path (the one it takes whenever the stream
// is down): the poll-only baseline of P1, with no switch added to the worker.
export interface Proxy {
  url: string;
  stop(): void;
}

export function startProxy(target: string): Proxy {
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 0,
    async fetch(req) {
      const url = new URL(req.url);
      if (url.pathname === "/v1/worker/tasks/stream") return new Response("stream disabled by the benchmark proxy", { status: 404 });
      const headers = new Headers(req.headers);
      headers.delete("host");
      const res = await fetch(target + url.pathname + url.search, {
        method: req.method,
        headers,
        body: req.method === "GET" || req.method === "HEAD" ? undefined : await req.arrayBuffer(),
      });
      const body = res.status === 204 || res.status === 304 ? null : await res.arrayBuffer();
      return new Response(body, { status: res.status, headers: { "content-type": res.headers.get("content-type") ?? "application/json" } });
    },
  });
  return { url: `http://127.0.0.1:${server.port}`, stop: () => void server.stop(true) };
}
