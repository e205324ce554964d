// Skips that bun counts: a suite or test that cannot run here is registered anyway and
// marked skipped, with the reason in its name and on stderr, so a run's summary line
// ("N skip") shows it. Never `if (!x) return` inside a test: that counts as a pass.
import { describe, test } from "bun:test";

const said = new Set<string>();
function say(name: string, reason: string) {
  if (said.has(name)) return;
  said.add(name);
  console.warn(`[skip] ${name}: ${reason}`);
}

/** describe(), or a counted skip of the whole suite when `reason` is set. */
export function describeUnless(reason: string | undefined, name: string, fn: () => void): void {
  if (!reason) {
    describe(name, fn);
    return;
  }
  say(name, reason);
  describe.skip(`${name} [skipped: ${reason}]`, fn);
}

/** test(), or a counted skip when `reason` is set. */
export function testUnless(reason: string | undefined, name: string, fn: () => unknown, timeoutMs?: number): void {
  if (!reason) return void test(name, fn as any, timeoutMs);
  say(name, reason);
  test.skip(`${name} [skipped: ${reason}]`, fn as any, timeoutMs);
}

/** Why a test needing these programs cannot run here (undefined when all are on PATH). */
export function missingTools(tools: string[], hint: string): string | undefined {
  const missing = tools.filter((t) => !Bun.which(t));
  return missing.length ? `${missing.join(", ")} not installed (${hint})` : undefined;
}
