// The command tree (src/commands/_root.ts): summaries given without loading a command must
// be the loaded command's own, and --help must list such commands without loading them.
import { expect, test } from "bun:test";
import { type Command, defineCommand, lazy } from "../../src/commands/_command.ts";
import { renderHelp, summary } from "../../src/commands/_help.ts";
import { root } from "../../src/commands/_root.ts";

test("every summary given up front is the first sentence of its command's description", async () => {
  const checked: string[] = [];
  const walk = async (cmd: Command<any>, path: string) => {
    for (const [name, load] of Object.entries(cmd.subCommands ?? {})) {
      const sub = await load();
      expect(sub.meta.name).toBe(name);
      if (load.summary !== undefined) {
        expect(`${path} ${name}: ${load.summary}`).toBe(`${path} ${name}: ${summary(sub.meta.description)}`);
        checked.push(name);
      }
      await walk(sub, `${path} ${name}`);
    }
  };
  await walk(root, "codetether");
  expect(checked).toEqual(expect.arrayContaining(["up", "models", "doctor"]));
});

test("--help lists a lazy() command by its summary without loading it", async () => {
  const cmd = defineCommand({
    meta: { name: "x", description: "X." },
    subCommands: {
      heavy: lazy("Does heavy things", () => Promise.reject(new Error("loaded"))),
      light: async () => defineCommand({ meta: { name: "light", description: "Light. More words." } }),
    },
  });
  const help = await renderHelp(cmd, ["x"], { isTTY: false } as any);
  expect(help).toMatch(/heavy\s+Does heavy things\n/);
  expect(help).toMatch(/light\s+Light\n/);
});
