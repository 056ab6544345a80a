import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { onTeardown } from './harness.js';

/** Debian's Chromium (`apt-get install chromium`); never a downloaded browser. */
export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Whether Chromium is installed. Under `CI=true` a missing browser is an error
 * (the test file fails); elsewhere the browser tests are skipped with a note,
 * so `npm test` passes on a fresh machine before `apt-get install chromium`.
 */
export function browserAvailable(): boolean {
  if (existsSync(chromiumPath)) return true;
  const message = `browser tests need Chromium at ${chromiumPath}: apt-get install chromium (.ci/run does)`;
  if (process.env.CI === 'true') throw new Error(message);
  console.warn(`SKIPPING: ${message}`);
  return false;
}

/**
 * Launches headless Chromium, closed after the file's tests. The flags keep
 * it from reaching for Google's services, which this closed network refuses.
 */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(chromiumPath)) {
    throw new Error(`Chromium not found at ${chromiumPath}: install it with "apt-get install chromium" (.ci/run does).`);
  }
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  onTeardown(() => browser.close());
  return browser;
}
