// install.sh against a real release: `scripts/release` compiles the binary once, a loopback
// HTTP server serves the release directory (plus tampered variants), and install.sh runs in
// temp HOMEs / INSTALL_ROOTs. Nothing here touches the real ~/.codetether or /etc.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Server } from "bun";
import { ConfigSchema } from "../../src/config/validate.ts";
import { missingTools, testUnless } from "../helpers/skip.ts";

const ROOT = resolve(import.meta.dir, "../..");
const INSTALL = join(ROOT, "install.sh");
const OLD = "0.0.1-test";

let work: string;
let rel: string; // scripts/release output
let version: string; // from the release's VERSION file
let asset: string; // the one binary the host release contains
let server: Server<unknown>;
let base: string;

const sha256 = (data: string | Uint8Array) => new Bun.CryptoHasher("sha256").update(data).digest("hex");

/** Release dirs by version; a route prefix picks how the files are served (good or tampered). */
const versions: Record<string, string> = {};
type Variant = "good" | "bad-bin" | "bad-sums" | "no-line" | "no-sums";

function serveFile(variant: Variant, ver: string, file: string): Response {
  const dir = versions[ver];
  if (!dir || file.includes("/") || !existsSync(join(dir, file))) return new Response("not found", { status: 404 });
  const f = Bun.file(join(dir, file));
  if (file === "SHA256SUMS") {
    if (variant === "no-sums") return new Response("not found", { status: 404 });
    const text = readFileSync(join(dir, file), "utf8");
    const line = (l: string) => l.split(/\s+\*?/)[1] === asset;
    if (variant === "bad-sums")
      return new Response(
        text
          .split("\n")
          .map((l) => (line(l) ? "0".repeat(64) + l.slice(64) : l))
          .join("\n"),
      );
    if (variant === "no-line")
      return new Response(
        text
          .split("\n")
          .filter((l) => !line(l))
          .join("\n"),
      );
  }
  // One extra byte at the end: a corrupted or tampered download.
  if (variant === "bad-bin" && file === asset) return new Response(new Blob([f, "X"]));
  return new Response(f);
}

async function run(args: string[], env: Record<string, string>) {
  // Async spawn: the HTTP server lives in this process, a sync spawn would deadlock it.
  const p = Bun.spawn(["sh", INSTALL, ...args], { env, stdout: "pipe", stderr: "pipe", cwd: work });
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, stdout, stderr, out: stdout + stderr };
}

type Env = Record<string, string> & { HOME: string };
function home(): Env {
  const h = mkdtempSync(join(work, "home-"));
  return { HOME: h, PATH: process.env.PATH ?? "/usr/bin:/bin", SHELL: "/bin/sh" };
}

const bin = (env: Env) => join(env.HOME, ".codetether", "bin", "codetether");
const versionOf = async (path: string) => {
  const p = Bun.spawn([path, "--version"], { stdout: "pipe", stderr: "pipe" });
  const [out, code] = await Promise.all([new Response(p.stdout).text(), p.exited]);
  return code === 0 ? out.trim() : `exit ${code}`;
};
const mode = (path: string) => (statSync(path).mode & 0o777).toString(8);

/** A hand-made older release: a tiny script that reports OLD, with correct sums. */
function makeOldRelease(): string {
  const dir = join(work, "old-release");
  mkdirSync(dir, { recursive: true });
  const script = `#!/bin/sh\necho ${OLD}\n`;
  writeFileSync(join(dir, asset), script, { mode: 0o755 });
  const unit = readFileSync(join(rel, "a2a-agent-worker.service"), "utf8");
  writeFileSync(join(dir, "a2a-agent-worker.service"), unit);
  writeFileSync(join(dir, "SHA256SUMS"), `${sha256(script)}  ${asset}\n${sha256(unit)}  a2a-agent-worker.service\n`);
  return dir;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "ct-install-"));
  const outDir = join(work, "release");
  const p = Bun.spawn([join(ROOT, "scripts/release"), "--out", outDir], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) throw new Error(`scripts/release failed (${code}):\n${out}\n${err}`);
  // The layout install.sh fetches: OUT/v<version>/ and OUT/latest/, the same files.
  rel = join(outDir, `v${JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version}`);
  expect(readdirSync(join(outDir, "latest")).sort()).toEqual(readdirSync(rel).sort());
  expect(readFileSync(join(outDir, "latest", "SHA256SUMS"), "utf8")).toBe(readFileSync(join(rel, "SHA256SUMS"), "utf8"));
  version = readFileSync(join(rel, "VERSION"), "utf8").trim();
  const binaries = readdirSync(rel).filter((f) => /^codetether-(linux|darwin)-/.test(f));
  expect(binaries).toHaveLength(1);
  asset = binaries[0]!;
  versions[version] = rel;
  versions[OLD] = makeOldRelease();
  server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      const [variant, ver, file] = new URL(req.url).pathname.split("/").slice(1);
      return serveFile(variant as Variant, ver ?? "", file ?? "");
    },
  });
  base = `http://127.0.0.1:${server.port}`;
}, 600_000);

afterAll(() => {
  server?.stop(true);
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("scripts/release", () => {
  test("writes the host binary, VERSION, units, install.sh and matching SHA256SUMS", () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
    expect(version).toBe(pkg.version);
    const sums = readFileSync(join(rel, "SHA256SUMS"), "utf8").trim().split("\n");
    const listed = sums.map((l) => l.split(/\s+\*?/)[1]).sort();
    expect(listed).toEqual(
      readdirSync(rel)
        .filter((f) => f !== "SHA256SUMS")
        .sort(),
    );
    expect(listed).toEqual(expect.arrayContaining([asset, "VERSION", "a2a-agent-worker.service", "codetether-server.service", "install.sh"]));
    for (const line of sums) {
      const [hash, name] = line.split(/\s+\*?/);
      expect(sha256(new Uint8Array(readFileSync(join(rel, name!))))).toBe(hash!);
    }
  });

  test("the asset name is the one install.sh picks on this machine", async () => {
    // Independent of both scripts: what this host should get.
    const os = process.platform === "darwin" ? "darwin" : "linux";
    const arch = process.arch === "arm64" ? "arm64" : "x64";
    const musl = os === "linux" && readdirSync("/lib").some((f) => f.startsWith("ld-musl-"));
    const cpu = existsSync("/proc/cpuinfo") ? readFileSync("/proc/cpuinfo", "utf8") : "";
    const baseline = arch === "x64" && os === "linux" && !/\bavx2\b/.test(cpu);
    expect(asset).toBe(`codetether-${os}-${arch}${musl ? "-musl" : ""}${baseline ? "-baseline" : ""}`);
    const r = await run(["--print-asset"], home());
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(asset);
  });
});

describe("install.sh (per user)", () => {
  test("installs the verified binary under ~/.codetether/bin and prints the PATH line", async () => {
    const env = home();
    const r = await run(["--base-url", `${base}/good`, "--version", version], env);
    expect(r.code).toBe(0);
    expect(r.out).toContain("sha256 verified");
    expect(r.out).toContain(`export PATH="${env.HOME}/.codetether/bin:$PATH"`);
    expect(mode(bin(env))).toBe("755");
    expect(await versionOf(bin(env))).toBe(version);
  });

  test("CODETETHER_DOWNLOAD_URL is the base when --base-url is absent", async () => {
    const env = { ...home(), CODETETHER_DOWNLOAD_URL: `${base}/good` };
    const r = await run(["--version", version], env);
    expect(r.code).toBe(0);
    expect(await versionOf(bin(env))).toBe(version);
  });

  for (const [variant, message] of [
    ["bad-bin", "checksum mismatch"],
    ["bad-sums", "checksum mismatch"],
    ["no-line", `SHA256SUMS has no line for ${"codetether-"}`],
    ["no-sums", "download failed"],
  ] as const) {
    test(`refuses (${variant}): non-zero exit, nothing installed`, async () => {
      const env = home();
      const r = await run(["--base-url", `${base}/${variant}`, "--version", version], env);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(message);
      expect(existsSync(join(env.HOME, ".codetether"))).toBe(false);
    });
  }

  test("a refused upgrade leaves the installed binary as it was", async () => {
    const env = home();
    expect((await run(["--base-url", `${base}/good`, "--version", OLD], env)).code).toBe(0);
    const r = await run(["--base-url", `${base}/bad-bin`, "--version", version], env);
    expect(r.code).not.toBe(0);
    expect(await versionOf(bin(env))).toBe(OLD);
    expect(readdirSync(join(env.HOME, ".codetether", "bin"))).toEqual(["codetether"]);
  });

  test("re-running upgrades in place and keeps the config", async () => {
    const env = home();
    expect((await run(["--base-url", `${base}/good`, "--version", OLD], env)).code).toBe(0);
    expect(await versionOf(bin(env))).toBe(OLD);
    const cfgDir = join(env.HOME, ".config", "a2a-worker");
    mkdirSync(cfgDir, { recursive: true });
    writeFileSync(join(cfgDir, "config.json"), '{"server_url":"http://ct:8000"}\n');
    const r = await run(["--base-url", `${base}/good`, "--version", version], env);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`upgraded codetether ${OLD} -> ${version}`);
    expect(await versionOf(bin(env))).toBe(version);
    expect(readdirSync(join(env.HOME, ".codetether", "bin"))).toEqual(["codetether"]); // no staging leftovers
    expect(readFileSync(join(cfgDir, "config.json"), "utf8")).toBe('{"server_url":"http://ct:8000"}\n');
  });

  test("--modify-path adds one rc line; --uninstall removes it and the binary, keeps config; --purge removes config", async () => {
    const env = { ...home(), SHELL: "/bin/bash" };
    const rc = join(env.HOME, ".bashrc");
    writeFileSync(rc, "alias ll='ls -l'\n");
    for (let i = 0; i < 2; i++) {
      expect((await run(["--base-url", `${base}/good`, "--version", OLD, "--modify-path"], env)).code).toBe(0);
    }
    expect(readFileSync(rc, "utf8").match(/codetether-installer/g)).toHaveLength(1);
    expect(readFileSync(rc, "utf8")).toContain(`export PATH="${env.HOME}/.codetether/bin:$PATH"`);
    const cfg = join(env.HOME, ".config", "a2a-worker", "config.json");
    mkdirSync(join(cfg, ".."), { recursive: true });
    writeFileSync(cfg, "{}\n");

    const r = await run(["--uninstall"], env);
    expect(r.code).toBe(0);
    expect(existsSync(bin(env))).toBe(false);
    expect(readFileSync(rc, "utf8")).not.toContain("codetether");
    expect(readFileSync(rc, "utf8")).toContain("alias ll='ls -l'");
    expect(existsSync(cfg)).toBe(true);

    expect((await run(["--uninstall", "--purge"], env)).code).toBe(0);
    expect(existsSync(cfg)).toBe(false);
  });

  const minimalTools = [
    "sh",
    "uname",
    "grep",
    "ls",
    "awk",
    "tr",
    "mktemp",
    "mkdir",
    "cp",
    "chmod",
    "mv",
    "rm",
    "rmdir",
    "dirname",
    "cat",
    "sed",
    "id",
    "wget",
    "shasum",
    "perl",
    "ldd",
  ];
  testUnless(missingTools(minimalTools, "CI: apt-get install -y wget perl"), "works with wget and shasum when curl and sha256sum are absent", async () => {
    const tools = minimalTools;
    const pathDir = join(work, "minimal-path");
    mkdirSync(pathDir, { recursive: true });
    for (const t of tools) if (!existsSync(join(pathDir, t))) symlinkSync(Bun.which(t)!, join(pathDir, t));
    const env = { ...home(), PATH: pathDir };
    expect(Bun.which("curl", { PATH: pathDir })).toBeNull();
    const r = await run(["--base-url", `${base}/good`, "--version", version], env);
    expect(r.code).toBe(0);
    expect(await versionOf(bin(env))).toBe(version);
  });
});

describe("install.sh --system (INSTALL_ROOT)", () => {
  const hostHasUser = () => Bun.spawnSync(["id", "a2a-worker"]).exitCode === 0;

  test("installs binary, 0640 config and env, unit; creates no user on this host; keeps config on re-run", async () => {
    const userBefore = hostHasUser();
    const root = mkdtempSync(join(work, "root-"));
    const env = { ...home(), INSTALL_ROOT: root };
    const args = ["--system", "--base-url", `${base}/good`, "--version", version];
    const r = await run([...args, "--server", "http://ct.example:8000", "--name", "build-1", "--codebase", "app:/srv/app"], env);
    expect(r.code).toBe(0);
    expect(r.out).toContain("INSTALL_ROOT is set: not creating the a2a-worker user");
    expect(hostHasUser()).toBe(userBefore);

    const cfgPath = join(root, "etc/a2a-worker/config.json");
    expect(mode(cfgPath)).toBe("640");
    expect(mode(join(root, "etc/a2a-worker/env"))).toBe("640");
    expect(mode(join(root, "etc/a2a-worker"))).toBe("750");
    expect(existsSync(join(root, "var/lib/a2a-worker"))).toBe(true);
    const cfg = JSON.parse(readFileSync(cfgPath, "utf8"));
    expect(cfg).toEqual({
      server_url: "http://ct.example:8000",
      worker_name: "build-1",
      data_dir: "/var/lib/a2a-worker",
      codebases: [{ name: "app", path: "/srv/app" }],
    });
    ConfigSchema.partial().parse(cfg); // every key is a real config key with a valid value
    expect(readFileSync(join(root, "etc/systemd/system/a2a-agent-worker.service"), "utf8")).toBe(
      readFileSync(join(ROOT, "deploy/systemd/a2a-agent-worker.service"), "utf8"),
    );
    expect(readFileSync(join(root, "etc/systemd/system/a2a-agent-worker.service.d/codebases.conf"), "utf8")).toContain("ReadWritePaths=-/srv/app");
    expect(await versionOf(join(root, "usr/local/bin/codetether"))).toBe(version);
    // The installed binary itself accepts the written config.
    const show = Bun.spawn([join(root, "usr/local/bin/codetether"), "config", "show", "--config", cfgPath, "--json"], {
      env: home(),
      stdout: "pipe",
      stderr: "pipe",
    });
    const [shown, showCode] = await Promise.all([new Response(show.stdout).text(), show.exited]);
    expect(showCode).toBe(0);
    const resolved = JSON.parse(shown).config;
    expect(resolved.worker_name).toEqual({ value: "build-1", source: cfgPath });
    expect(resolved.codebases.value).toEqual([{ name: "app", path: "/srv/app" }]);

    // Re-run (upgrade) with other flags: the admin's config stays as it is.
    writeFileSync(cfgPath, '{"server_url":"http://edited:8000"}\n');
    const again = await run([...args, "--server", "http://other:8000"], env);
    expect(again.code).toBe(0);
    expect(again.out).toContain("kept existing");
    expect(readFileSync(cfgPath, "utf8")).toBe('{"server_url":"http://edited:8000"}\n');
  });

  testUnless(
    missingTools(["systemd-analyze"], "CI: apt-get install -y systemd"),
    "the installed unit passes systemd-analyze verify inside the install root",
    async () => {
      const sa = Bun.which("systemd-analyze")!;
      const root = mkdtempSync(join(work, "root-"));
      const env = { ...home(), INSTALL_ROOT: root };
      const r = await run(["--system", "--base-url", `${base}/good`, "--version", version, "--codebase", "app:/srv/app"], env);
      expect(r.code).toBe(0);
      // verify resolves dependencies (sysinit.target, ...) inside --root: give it the host's units.
      cpSync(existsSync("/usr/lib/systemd/system") ? "/usr/lib/systemd/system" : "/lib/systemd/system", join(root, "usr/lib/systemd/system"), {
        recursive: true,
      });
      const v = Bun.spawnSync([sa, "verify", `--root=${root}`, "a2a-agent-worker.service"], { stdout: "pipe", stderr: "pipe" });
      const output = v.stdout.toString() + v.stderr.toString();
      expect(output).toBe(""); // warnings (unknown keys, bad values) do not change the exit code
      expect(v.exitCode).toBe(0);
    },
  );

  test("--uninstall --system removes binary and unit, keeps config; --purge removes config and data", async () => {
    const root = mkdtempSync(join(work, "root-"));
    const env = { ...home(), INSTALL_ROOT: root };
    expect((await run(["--system", "--base-url", `${base}/good`, "--version", OLD], env)).code).toBe(0);
    expect((await run(["--uninstall", "--system"], env)).code).toBe(0);
    expect(existsSync(join(root, "usr/local/bin/codetether"))).toBe(false);
    expect(existsSync(join(root, "etc/systemd/system/a2a-agent-worker.service"))).toBe(false);
    expect(existsSync(join(root, "etc/a2a-worker/config.json"))).toBe(true);
    expect((await run(["--uninstall", "--system", "--purge"], env)).code).toBe(0);
    expect(existsSync(join(root, "etc/a2a-worker"))).toBe(false);
    expect(existsSync(join(root, "var/lib/a2a-worker"))).toBe(false);
  });

  // Never run --system as root without INSTALL_ROOT here: it would install on this host.
  const asRootNoSetpriv =
    process.getuid?.() === 0 ? missingTools(["setpriv"], "running as root and no setpriv to drop privileges; CI: apt-get install -y util-linux") : undefined;
  testUnless(asRootNoSetpriv, "--system without root and without INSTALL_ROOT is refused", async () => {
    const args = ["sh", INSTALL, "--system", "--base-url", `${base}/good`, "--version", version];
    const setpriv = Bun.which("setpriv");
    const cmd = process.getuid?.() !== 0 ? args : [setpriv!, "--reuid=65534", "--regid=65534", "--clear-groups", ...args];
    const p = Bun.spawn(cmd, { env: home(), cwd: "/", stdout: "pipe", stderr: "pipe" });
    const [err, code] = await Promise.all([new Response(p.stderr).text(), p.exited]);
    expect(code).not.toBe(0);
    expect(err).toContain("--system needs root");
  });
});
