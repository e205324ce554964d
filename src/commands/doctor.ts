// `codetether doctor`: one ✓/✗ line per thing a worker needs, each ✗ with its fix.
// Checks that depend on an earlier one (auth and clock need the server) are left out
// when that one failed, so one cause gives one ✗.
import { defineCommand } from "./_command.ts";
import { accessSync, constants, mkdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "../config/schema.ts";
import { CliError, EXIT, errorMessage } from "../util/errors.ts";
import { painter, printJson } from "./_output.ts";
import { commandConfig, jsonArg } from "./_shared.ts";

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
  fix: string | null;
}

const ok = (name: string, detail: string): Check => ({ name, ok: true, detail, fix: null });
const bad = (name: string, detail: string, fix: string): Check => ({ name, ok: false, detail, fix });

/** Server clock minus ours beyond this is a ✗: Date has 1 s resolution and leases are tens of seconds. */
const MAX_CLOCK_OFFSET_S = 10;

const cfg = commandConfig(["worker"], { ...jsonArg });

export default defineCommand({
  meta: {
    name: "doctor",
    description:
      "Check this machine: config, server reachable and token accepted, OpenCode installed with a provider, codebase paths\n" +
      "and data_dir writable, clock in sync with the server. One ✓/✗ line per check with the fix; exit 0 all ok, 1 otherwise.\n" +
      "Example: codetether doctor --server http://ct.example:8000 --json | jq '.checks[] | select(.ok|not)'",
  },
  args: cfg.args,
  async run({ args }) {
    const checks: Check[] = [];
    let config: Config | null = null;
    try {
      const resolved = await cfg.load(args);
      config = resolved.config;
      const warn = resolved.warnings.length ? `; ${resolved.warnings.length} warning(s) above` : "";
      checks.push(ok("config", `${resolved.file ?? "no config file (defaults, env, flags)"}${warn}`));
    } catch (err) {
      if (!(err instanceof CliError)) throw err;
      checks.push(bad("config", err.message, "fix the file, env var or flag named in the detail; `codetether config show` shows where each value comes from"));
    }
    if (config) checks.push(...(await runChecks(config)));
    const allOk = checks.every((c) => c.ok);
    if (args.json) printJson({ ok: allOk, checks });
    else process.stdout.write(render(checks));
    if (!allOk) throw new CliError(`doctor: ${checks.filter((c) => !c.ok).length} of ${checks.length} checks failed`, EXIT.FAILURE);
  },
});

async function runChecks(config: Config): Promise<Check[]> {
  const checks: Check[] = [];
  const server = await checkServer(config);
  checks.push(server.check);
  if (server.check.ok) {
    checks.push(await checkAuth(config));
    if (server.offsetS !== null) checks.push(checkClock(server.offsetS));
  }
  checks.push(...(await checkOpencode(config)));
  for (const c of config.codebases)
    checks.push(checkDir(`codebase:${c.name}`, c.path, "the path in `codebases` (config file, A2A_CODEBASES or --codebase name:path)"));
  checks.push(checkDataDir(config.data_dir));
  return checks;
}

async function checkServer(config: Config): Promise<{ check: Check; offsetS: number | null }> {
  const url = `${config.server_url.replace(/\/+$/, "")}/health`;
  const fix = `start the server (codetether server start) or point server_url (--server / A2A_SERVER_URL) at it`;
  const t0 = Date.now();
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  } catch (err) {
    return { check: bad("server", `${url} unreachable: ${errorMessage(err)}`, fix), offsetS: null };
  }
  const t1 = Date.now();
  const body = (await res.json().catch(() => null)) as { status?: string; version?: string; store?: string } | null;
  if (!res.ok || body?.status !== "ok") {
    return {
      check: bad("server", `${url} answered HTTP ${res.status}${body?.status ? ` status ${body.status}` : ""}, not a CodeTether health answer`, fix),
      offsetS: null,
    };
  }
  const date = Date.parse(res.headers.get("date") ?? "");
  // The Date header is truncated to the second: compare against the middle of the round trip.
  const offsetS = Number.isFinite(date) ? (date + 500 - (t0 + t1) / 2) / 1000 : null;
  return { check: ok("server", `${config.server_url} (version ${body.version ?? "?"}, store ${body.store ?? "?"})`), offsetS };
}

// The HTTP client and the OpenCode probes load when the checks run: `codetether --help`
// reads this command's description and should not pay for them.
async function checkAuth(config: Config): Promise<Check> {
  const { ApiError, UnavailableError } = await import("../client/index.ts");
  const { clientFor } = await import("./_api.ts");
  try {
    await clientFor(config).listWorkers(); // a route behind auth when the server has tokens
    return ok("auth", config.auth_token ? "token accepted" : "server needs no token");
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      return bad(
        "auth",
        "the server requires a token and none is configured",
        "set auth_token (--token / A2A_AUTH_TOKEN) to one of the server's A2A_AUTH_TOKENS",
      );
    }
    if (err instanceof ApiError && err.status === 403) {
      return bad("auth", "the server rejected the configured token", "use a token from the server's A2A_AUTH_TOKENS in auth_token (--token / A2A_AUTH_TOKEN)");
    }
    if (err instanceof UnavailableError || err instanceof ApiError) return bad("auth", err.message, "check the server's log");
    throw err;
  }
}

function checkClock(offsetS: number): Check {
  // The estimate comes from the HTTP Date header (whole seconds): within a second is noise,
  // not an offset (a server on this very machine read as -1.0 s).
  if (Math.abs(offsetS) < 1.5) return ok("clock", "in sync with the server (to the second: HTTP Date resolution)");
  const text = `${offsetS >= 0 ? "+" : ""}${Math.round(offsetS)}s (±1s) against the server`;
  if (Math.abs(offsetS) <= MAX_CLOCK_OFFSET_S) return ok("clock", text);
  return bad(
    "clock",
    `${text} (more than ${MAX_CLOCK_OFFSET_S}s)`,
    "sync this machine's clock (and the server's) with NTP: timedatectl set-ntp true, or chrony",
  );
}

async function checkOpencode(config: Config): Promise<Check[]> {
  const { findOpencode, findProviders, opencodeInstallPlaces, opencodeVersion } = await import("../opencode/index.ts");
  const bin = findOpencode(config.opencode_bin);
  const checks: Check[] = [];
  if (!bin) {
    checks.push(
      bad(
        "opencode",
        config.opencode_bin
          ? `opencode_bin ${config.opencode_bin} is not an executable file`
          : `opencode not found on PATH, in ${opencodeInstallPlaces().join(", ")} or the npm global prefix`,
        "install it (npm i -g opencode-ai, or curl -fsSL https://opencode.ai/install | bash) or set opencode_bin (--opencode-bin / A2A_OPENCODE_BIN)",
      ),
    );
  } else {
    const v = opencodeVersion(bin);
    checks.push(
      v.ok
        ? ok("opencode", `${bin} (version ${v.version})`)
        : bad("opencode", `${bin} --version failed: ${v.error}`, "reinstall OpenCode (npm i -g opencode-ai) or fix opencode_bin"),
    );
  }
  const p = findProviders(
    process.env,
    config.codebases.map((c) => c.path),
  );
  checks.push(
    p.ok
      ? ok("opencode_provider", p.found.join("; "))
      : bad(
          "opencode_provider",
          `no model provider configured (looked at ${p.looked.join(", ")}); only the echo/noop agents will work`,
          "set a provider key (e.g. ANTHROPIC_API_KEY or OPENAI_API_KEY) in the worker's environment, run `opencode auth login`, or add a `provider` to ~/.config/opencode/opencode.json",
        ),
  );
  return checks;
}

function checkDir(name: string, path: string, where: string): Check {
  let isDir = false;
  try {
    isDir = statSync(path).isDirectory();
  } catch {
    return bad(name, `${path} does not exist`, `create it, or fix ${where}`);
  }
  if (!isDir) return bad(name, `${path} is not a directory`, `fix ${where}`);
  try {
    accessSync(path, constants.R_OK | constants.W_OK | constants.X_OK);
  } catch {
    return bad(
      name,
      `${path} is not readable and writable by this user (uid ${process.getuid?.() ?? "?"})`,
      `give this user read/write access (chown/chmod), or fix ${where}`,
    );
  }
  return ok(name, `${path} readable and writable`);
}

function checkDataDir(dir: string): Check {
  const fix = "create it with write access for this user, or set data_dir (--data-dir / A2A_DATA_DIR) to a writable directory";
  try {
    mkdirSync(dir, { recursive: true });
    const probe = join(dir, `.doctor-${process.pid}`);
    writeFileSync(probe, "ok");
    rmSync(probe, { force: true });
    return ok("data_dir", `${dir} writable`);
  } catch (err) {
    return bad("data_dir", `${dir}: ${errorMessage(err)}`, fix);
  }
}

function render(checks: Check[]): string {
  const paint = painter();
  const width = Math.max(...checks.map((c) => c.name.length));
  return (
    checks
      .map((c) => {
        const head = `${c.ok ? paint("green", "✓") : paint("red", "✗")} ${c.name.padEnd(width)}  ${c.detail}`;
        return c.ok ? head : `${head}\n  ${" ".repeat(width)}  ${paint("yellow", "fix:")} ${c.fix}`;
      })
      .join("\n") + "\n"
  );
}
