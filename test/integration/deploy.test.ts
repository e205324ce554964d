// Deployment files: systemd units pass `systemd-analyze verify`, Kubernetes manifests parse
// and keep the invariants the worker relies on, the Dockerfile stays multi-stage and non-root.
import { afterAll, describe, expect, test } from "bun:test";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { KEYS } from "../../src/config/schema.ts";
import { missingTools, testUnless } from "../helpers/skip.ts";

const ROOT = resolve(import.meta.dir, "../..");
const DEPLOY = join(ROOT, "deploy");
const SHUTDOWN_GRACE = KEYS.shutdown_grace.default as number;
const work = mkdtempSync(join(tmpdir(), "ct-deploy-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** key -> values of a unit file (a key may repeat). */
function unit(file: string): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const raw of readFileSync(join(DEPLOY, "systemd", file), "utf8").split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#") || line.startsWith("[")) continue;
    const i = line.indexOf("=");
    const k = line.slice(0, i);
    m.set(k, [...(m.get(k) ?? []), line.slice(i + 1)]);
  }
  return m;
}
const one = (u: Map<string, string[]>, k: string) => u.get(k)?.at(-1);

describe("systemd units", () => {
  const sa = Bun.which("systemd-analyze");
  const noSa = missingTools(["systemd-analyze"], "CI: apt-get install -y --no-install-recommends systemd");

  /** An alternate root with the host's units (verify resolves sysinit.target etc. there), an
   *  executable at the ExecStart path (verify checks it exists) and the given unit files. */
  function verifyRoot(units: Record<string, string>): string {
    const root = mkdtempSync(join(work, "root-"));
    const hostUnits = existsSync("/usr/lib/systemd/system") ? "/usr/lib/systemd/system" : "/lib/systemd/system";
    cpSync(hostUnits, join(root, "usr/lib/systemd/system"), { recursive: true });
    mkdirSync(join(root, "usr/local/bin"), { recursive: true });
    // verify only checks that ExecStart's program is an executable file; install.test.ts runs
    // the same check with the real binary installed by install.sh.
    writeFileSync(join(root, "usr/local/bin/codetether"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
    for (const [path, text] of Object.entries(units)) {
      mkdirSync(join(root, "etc/systemd/system", path, ".."), { recursive: true });
      writeFileSync(join(root, "etc/systemd/system", path), text);
    }
    return root;
  }
  const verify = (root: string, ...names: string[]) => {
    const p = Bun.spawnSync([sa!, "verify", `--root=${root}`, ...names], { stdout: "pipe", stderr: "pipe" });
    return { code: p.exitCode, output: p.stdout.toString() + p.stderr.toString() };
  };
  const read = (f: string) => readFileSync(join(DEPLOY, "systemd", f), "utf8");

  testUnless(noSa, "both units and the codebases drop-in verify without a warning", () => {
    const root = verifyRoot({
      "a2a-agent-worker.service": read("a2a-agent-worker.service"),
      "a2a-agent-worker.service.d/codebases.conf": read("codebases.conf.example"),
      "codetether-server.service": read("codetether-server.service"),
    });
    const r = verify(root, "a2a-agent-worker.service", "codetether-server.service");
    // Unknown keys and bad values are only warnings (exit 0), so the output must be empty.
    expect(r.output).toBe("");
    expect(r.code).toBe(0);
  });

  testUnless(noSa, "the check catches a broken unit (control)", () => {
    const broken = read("a2a-agent-worker.service").replace("NoNewPrivileges=yes", "NoNewPrivilege=yes");
    const r = verify(verifyRoot({ "a2a-agent-worker.service": broken }), "a2a-agent-worker.service");
    expect(r.output).toContain("NoNewPrivilege");
  });

  test("worker unit: command, user, restart, hardening, stop timeout above the shutdown grace", () => {
    const u = unit("a2a-agent-worker.service");
    expect(one(u, "ExecStart")).toBe("/usr/local/bin/codetether worker start --config /etc/a2a-worker/config.json");
    expect(one(u, "EnvironmentFile")).toBe("-/etc/a2a-worker/env");
    expect([one(u, "User"), one(u, "Group")]).toEqual(["a2a-worker", "a2a-worker"]);
    expect(one(u, "Restart")).toBe("always");
    expect(Number(one(u, "RestartSec"))).toBeGreaterThan(0);
    expect(one(u, "NoNewPrivileges")).toBe("yes");
    expect(one(u, "ProtectSystem")).toBe("strict");
    expect(one(u, "ReadWritePaths")).toBe("/var/lib/a2a-worker");
    expect(one(u, "StateDirectory")).toBe("a2a-worker");
    expect(one(u, "ProtectHome")).toBe("read-only");
    expect(one(u, "PrivateTmp")).toBe("yes");
    expect(one(u, "KillMode")).toBe("mixed");
    expect(Number(one(u, "TimeoutStopSec"))).toBeGreaterThan(SHUTDOWN_GRACE);
    expect(u.get("Environment")).toEqual(expect.arrayContaining(["A2A_LOG_FORMAT=json", "HOME=/var/lib/a2a-worker"]));
  });

  test("server unit runs `server start` with the same hardening", () => {
    const u = unit("codetether-server.service");
    expect(one(u, "ExecStart")).toBe("/usr/local/bin/codetether server start");
    expect(one(u, "Restart")).toBe("always");
    expect(one(u, "NoNewPrivileges")).toBe("yes");
    expect(one(u, "ProtectSystem")).toBe("strict");
    expect(one(u, "StateDirectory")).toBe("codetether-server");
  });
});

// ---- Kubernetes ----------------------------------------------------------------------------
type Obj = Record<string, any>;
const K8S = join(DEPLOY, "k8s");
const docs = (file: string): Obj[] => {
  const parsed = Bun.YAML.parse(readFileSync(join(K8S, file), "utf8"));
  return (Array.isArray(parsed) ? parsed : [parsed]).filter(Boolean);
};
const kustomization = docs("kustomization.yaml")[0]!;
const all: Obj[] = (kustomization.resources as string[]).flatMap(docs);
const find = (kind: string, name: string) => {
  const o = all.find((d) => d.kind === kind && d.metadata?.name === name);
  if (!o) throw new Error(`no ${kind} ${name} in deploy/k8s`);
  return o;
};
const envOf = (c: Obj, name: string): Obj => (c.env as Obj[]).find((e) => e.name === name) ?? {};

describe("kubernetes manifests", () => {
  const server = find("Deployment", "codetether-server");
  const worker = find("StatefulSet", "codetether-worker");
  const wc = worker.spec.template.spec.containers[0];
  const sc = server.spec.template.spec.containers[0];

  test("every file parses; kustomization lists existing files; the Secret example is not applied", () => {
    for (const f of readdirSync(K8S).filter((f) => f.endsWith(".yaml"))) expect(docs(f).length).toBeGreaterThan(0);
    for (const r of kustomization.resources) expect(existsSync(join(K8S, r))).toBe(true);
    expect(kustomization.resources).not.toContain("secret.example.yaml");
    for (const d of all) expect(d.apiVersion && d.kind && d.metadata?.name).toBeTruthy();
  });

  test("worker name comes from the pod name", () => {
    expect(envOf(wc, "A2A_WORKER_NAME").valueFrom.fieldRef.fieldPath).toBe("metadata.name");
  });

  test("terminationGracePeriodSeconds exceeds the worker's shutdown grace", () => {
    const grace = Number(envOf(wc, "A2A_SHUTDOWN_GRACE")?.value ?? SHUTDOWN_GRACE);
    expect(worker.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThan(grace);
  });

  test("worker probes run `codetether worker status`; liveness uses --local (never 69 on a server outage)", () => {
    const cmd = (p: Obj) => (p.exec.command as string[]).join(" ");
    expect(cmd(wc.readinessProbe)).toContain("codetether worker status");
    expect(cmd(wc.livenessProbe)).toContain("codetether worker status");
    expect(cmd(wc.livenessProbe)).toContain("codetether worker status --local");
    expect(cmd(wc.readinessProbe)).not.toContain("--local");
  });

  test("worker reaches the server Service and has volumes for codebases and home", () => {
    const svc = find("Service", "codetether-server");
    const port = svc.spec.ports[0].port;
    expect(envOf(wc, "A2A_SERVER_URL").value).toBe(`http://${svc.metadata.name}:${port}`);
    expect(worker.spec.volumeClaimTemplates.map((v: Obj) => v.metadata.name).sort()).toEqual(["codebases", "home"]);
    const mounts = Object.fromEntries(wc.volumeMounts.map((m: Obj) => [m.name, m.mountPath]));
    expect(mounts.home).toBe(envOf(wc, "HOME").value);
    const headless = find("Service", worker.spec.serviceName);
    expect(headless.spec.clusterIP).toBe("None");
  });

  test("server: DATABASE_URL from a Secret, listens on 0.0.0.0, /health probes, Service selects it", () => {
    expect(envOf(sc, "DATABASE_URL").valueFrom.secretKeyRef.key).toBe("DATABASE_URL");
    expect(envOf(sc, "A2A_HOST").value).toBe("0.0.0.0");
    expect(sc.readinessProbe.httpGet.path).toBe("/health");
    expect(sc.livenessProbe.httpGet.path).toBe("/health");
    const svc = find("Service", "codetether-server");
    for (const [k, v] of Object.entries(svc.spec.selector)) expect(server.spec.template.metadata.labels[k]).toBe(v);
  });

  test("every secretKeyRef names a key of the example Secret", () => {
    const secret = docs("secret.example.yaml")[0]!;
    for (const c of [sc, wc]) {
      for (const e of c.env as Obj[]) {
        const ref = e.valueFrom?.secretKeyRef;
        if (!ref) continue;
        expect(ref.name).toBe(secret.metadata.name);
        expect(Object.keys(secret.stringData)).toContain(ref.key);
      }
    }
  });

  test("pods run as non-root without privilege escalation", () => {
    for (const w of [server, worker]) {
      const pod = w.spec.template.spec;
      expect(pod.securityContext.runAsNonRoot).toBe(true);
      expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
      for (const c of pod.containers) {
        expect(c.securityContext.allowPrivilegeEscalation).toBe(false);
        expect(c.securityContext.readOnlyRootFilesystem).toBe(true);
      }
    }
  });
});

// ---- the flags the unit and the probes pass exist on the real commands ---------------------
describe("commands used by the deploy files", () => {
  const flagsOf = async (path: string) => {
    const cmd = (await import(path)).default;
    const args = typeof cmd.args === "function" ? await cmd.args() : await cmd.args;
    return Object.keys(args ?? {});
  };
  const flags = (line: string) => [...line.matchAll(/(?:^|\s)--([a-z][a-z-]*)/g)].map((m) => m[1]);

  test("`worker start` in the unit and the StatefulSet", async () => {
    const known = await flagsOf("../../src/commands/worker/start.ts");
    const wc = find("StatefulSet", "codetether-worker").spec.template.spec.containers[0];
    for (const line of [one(unit("a2a-agent-worker.service"), "ExecStart")!, (wc.args as string[]).join(" ")]) {
      expect(line).toContain("worker start");
      for (const f of flags(line)) expect(known).toContain(f);
    }
  });

  test("`worker status` in the probes", async () => {
    const known = await flagsOf("../../src/commands/worker/status.ts");
    const wc = find("StatefulSet", "codetether-worker").spec.template.spec.containers[0];
    for (const p of [wc.readinessProbe, wc.livenessProbe]) {
      const fl = flags((p.exec.command as string[]).join(" "));
      expect(fl.length).toBeGreaterThan(0);
      for (const f of fl) expect(known).toContain(f);
    }
  });
});

// ---- Docker ----------------------------------------------------------------------------------
describe("Dockerfile", () => {
  const text = readFileSync(join(DEPLOY, "docker/Dockerfile"), "utf8");
  const lines = text.split("\n").filter((l) => l.trim() && !l.trimStart().startsWith("#"));
  const stages: string[][] = [];
  for (const l of lines) {
    if (/^FROM\s/i.test(l)) stages.push([l]);
    else stages.at(-1)?.push(l);
  }
  const final = stages.at(-1)!.join("\n");

  test("multi-stage: npm ci + npm run build in a build stage, the runtime copies the binaries", () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const build = stages[0]!.join("\n");
    expect(build).toContain("npm ci");
    expect(build).toContain("npm run build");
    expect(final).toMatch(/COPY --from=build \S+\/dist\/codetether /);
    expect(final).toContain("/usr/local/bin/opencode");
  });

  test("runtime runs as a numeric non-root user with codetether as entrypoint", () => {
    const user = final.match(/^USER\s+(\S+)/m)?.[1];
    expect(user).toBeDefined();
    expect(user).toMatch(/^[1-9]\d*(:\d+)?$/);
    expect(final.match(/^ENTRYPOINT\s+(.*)$/m)?.[1]).toContain("codetether");
  });

  test("files the build stage copies exist and are not excluded by the .dockerignore", () => {
    const ignore = readFileSync(join(DEPLOY, "docker/Dockerfile.dockerignore"), "utf8")
      .split("\n")
      .map((l) => l.trim());
    const sources = stages[0]!.flatMap((l) => l.match(/^COPY\s+(?!--from)(.+)\s+\S+$/)?.[1]?.split(/\s+/) ?? []);
    expect(sources).toEqual(expect.arrayContaining(["package.json", "package-lock.json", "src"]));
    for (const src of sources) {
      expect(existsSync(join(ROOT, src))).toBe(true);
      expect(ignore).not.toContain(src);
    }
  });
});
