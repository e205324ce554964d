// Headless Chromium for the dashboard tests: Debian's `chromium` package driven by
// playwright-core (the automation library without its own browser download). When no
// Chromium is installed the tests that need it are skipped with the reason printed.
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";

export const CHROMIUM = process.env.CT_CHROMIUM ?? "/usr/bin/chromium";
/** Git-ignored: look at them after a run. */
export const SHOTS = join(import.meta.dir, "screenshots");

let warned = false;
/** True when Chromium is there; otherwise prints why the browser tests are skipped. */
export function haveChromium(): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (!warned) {
    warned = true;
    console.warn(`[skip] dashboard browser tests: no Chromium at ${CHROMIUM} (apt-get install -y chromium, or set CT_CHROMIUM)`);
  }
  return false;
}

// The flags keep Chromium from reaching the network on its own (updates, sync, field
// trials) and make it run as root in a container without a GPU.
const ARGS = [
  "--no-sandbox",
  "--headless",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export async function launch(): Promise<Browser> {
  const { chromium } = await import("playwright-core");
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS });
}

/** A page whose console errors and uncaught exceptions are collected (a test may assert none). */
export async function openPage(browser: Browser, viewport = { width: 1280, height: 860 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(`console: ${m.text()}`);
  });
  return { page, errors, close: () => context.close() };
}

export async function shot(page: Page, name: string): Promise<string> {
  mkdirSync(SHOTS, { recursive: true });
  const path = join(SHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
