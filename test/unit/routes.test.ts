// The route templates of src/protocol/routes.ts are the one list of paths: the server
// serves exactly these, the client builds its URLs from them, and no other source file
// writes a path of the API by hand.
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { path, ROUTES } from "../../src/protocol/routes.ts";
import { createRouter } from "../../src/server/router.ts";
import { allRoutes } from "../../src/server/routes/index.ts";

const templates = new Set<string>(Object.values(ROUTES));

describe("route templates", () => {
  test("every served route is a protocol template, and every template is served", () => {
    expect(allRoutes.filter((r) => !templates.has(r.path)).map((r) => `${r.method} ${r.path}`)).toEqual([]);
    const served = new Set<string>(allRoutes.map((r) => r.path));
    expect([...templates].filter((t) => !served.has(t))).toEqual([]);
  });

  test("no method and template is registered twice", () => {
    const keys = allRoutes.map((r) => `${r.method} ${r.path}`);
    expect(keys.filter((k, i) => keys.indexOf(k) !== i)).toEqual([]);
  });

  test("no source file outside src/protocol writes an API path as a string", () => {
    const root = join(import.meta.dir, "../../src");
    const offenders: string[] = [];
    for (const dir of ["server", "client", "worker", "commands", "sessions", "web"]) {
      for (const file of readdirSync(join(root, dir), { recursive: true }) as string[]) {
        if (!/\.tsx?$/.test(file)) continue;
        readFileSync(join(root, dir, file), "utf8")
          .split("\n")
          .forEach((line, i) => {
            // Comments may name paths; code takes them from ROUTES.
            if (/^\s*(\/\/|\*|\/\*)/.test(line)) return;
            if (/["'`]\/(v1\/|health\b)/.test(line)) offenders.push(`src/${dir}/${file}:${i + 1}: ${line.trim()}`);
          });
      }
    }
    expect(offenders).toEqual([]);
  });

  test("path() fills in parameters, percent-encoded", () => {
    expect(path(ROUTES.taskOutput, { id: "ab12" })).toBe("/v1/opencode/tasks/ab12/output");
    expect(path(ROUTES.task, { id: "a/../b?c#d" })).toBe("/v1/opencode/tasks/a%2F..%2Fb%3Fc%23d");
    expect(path(ROUTES.messages, { id: "cb 1", sid: "ses_1" })).toBe("/v1/opencode/codebases/cb%201/sessions/ses_1/messages");
    expect(path(ROUTES.health)).toBe("/health");
    // The types ask for every parameter; a caller that gets around them hears which one is missing.
    expect(() => (path as (t: string, p?: object) => string)(ROUTES.messages, { id: "x" })).toThrow("no value for :sid");
  });

  test("the router matches what path() builds, and the /v1/agent alias, with decoded params", () => {
    const router = createRouter(allRoutes);
    const handlerOf = (method: string, p: string) => {
      const m = router.match(method, p);
      return m && "handler" in m ? m : null;
    };
    const built = path(ROUTES.messages, { id: "cb/1", sid: "ses 1" });
    expect(handlerOf("GET", built)?.params).toEqual({ id: "cb/1", sid: "ses 1" });
    const direct = handlerOf("GET", path(ROUTES.taskOutput, { id: "t1" }));
    const alias = handlerOf("GET", "/v1/agent/tasks/t1/output");
    expect(alias?.handler).toBe(direct!.handler);
    expect(alias?.params).toEqual({ id: "t1" });
    expect(router.match("GET", "/v1/agentx/tasks")).toBeNull();
    expect(router.match("DELETE", path(ROUTES.task, { id: "t1" }))).toEqual({ allowed: ["GET"] });
  });
});
