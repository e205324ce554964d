// A real PgBouncer (Debian's `pgbouncer`) in transaction pooling in front of the test
// PostgreSQL, on a free port, for as long as a test needs it.
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { waitUntil } from "./proc.ts";

export const PGBOUNCER = ["/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"].find((p) => existsSync(p)) ?? null;

export interface PgBouncer {
  port: number;
  /** postgres://postgres@127.0.0.1:<port>/<db> */
  urlFor(db: string): string;
  stop(): Promise<void>;
}

/** `upstream`: host and port of PostgreSQL (trust auth, user postgres). */
export async function startPgBouncer(upstream = { host: "127.0.0.1", port: 5432 }): Promise<PgBouncer> {
  if (!PGBOUNCER) throw new Error("pgbouncer is not installed (apt-get install pgbouncer)");
  const dir = mkdtempSync(join(tmpdir(), "ct-pgbouncer-"));
  chmodSync(dir, 0o755); // readable by the user it drops to when started as root
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  writeFileSync(join(dir, "users.txt"), '"postgres" ""\n');
  writeFileSync(
    join(dir, "pgbouncer.ini"),
    [
      "[databases]",
      `* = host=${upstream.host} port=${upstream.port}`,
      "[pgbouncer]",
      "listen_addr = 127.0.0.1",
      `listen_port = ${port}`,
      "unix_socket_dir =",
      "auth_type = trust",
      `auth_file = ${join(dir, "users.txt")}`,
      "pool_mode = transaction",
      "max_client_conn = 500",
      "default_pool_size = 20",
      "ignore_startup_parameters = extra_float_digits,options,application_name",
      `logfile = ${join(dir, "pgbouncer.log")}`,
      `pidfile = ${join(dir, "pgbouncer.pid")}`,
      "",
    ].join("\n"),
  );
  for (const f of ["users.txt", "pgbouncer.ini"]) chmodSync(join(dir, f), 0o644);
  // PgBouncer refuses to run as root: -u drops to another user first, who must be able to
  // write its log and pid file here.
  const asRoot = process.getuid?.() === 0;
  if (asRoot) Bun.spawnSync(["chown", "nobody", dir]);
  const proc = Bun.spawn([PGBOUNCER, ...(asRoot ? ["-u", "nobody"] : []), join(dir, "pgbouncer.ini")], { stdout: "pipe", stderr: "pipe" });
  await waitUntil(
    async () => {
      if (proc.exitCode !== null) throw new Error(`pgbouncer exited ${proc.exitCode}: ${await new Response(proc.stderr).text()}`);
      try {
        const s = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } });
        s.end();
        return true;
      } catch {
        return false;
      }
    },
    "pgbouncer listening",
    10_000,
    50,
  );
  return {
    port,
    urlFor: (db) => `postgres://postgres@127.0.0.1:${port}/${db}`,
    async stop() {
      proc.kill("SIGTERM");
      await proc.exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
