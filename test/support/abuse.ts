import { expect } from 'vitest';
import type { App } from '../../server/app.js';

/** The server's origin (`http://127.0.0.1:<port>`). */
export const baseOf = (app: Pick<App, 'url'>) => app.url.replace(/\/graphql$/, '');

/** `/health` must answer 200 within a second, even right after an attack. */
export async function expectHealthy(app: Pick<App, 'url'>) {
  const response = await fetch(`${baseOf(app)}/health`, { signal: AbortSignal.timeout(1_000) });
  expect(response.status).toBe(200);
}

/**
 * Runs `attempt` up to `count` times or until `seconds` have passed,
 * whichever comes first (an attack loop that always ends), `parallel` at a
 * time; resolves with every result.
 */
export async function attack<T>(options: { count: number; seconds: number; parallel?: number }, attempt: (i: number) => Promise<T>): Promise<T[]> {
  const { count, seconds, parallel = 8 } = options;
  const deadline = Date.now() + seconds * 1000;
  const results: T[] = [];
  let next = 0;
  const worker = async () => {
    while (next < count && Date.now() < deadline) results.push(await attempt(next++));
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return results;
}

/** Heap of this process (the servers under test run in it) after a collection when `--expose-gc` allows one. */
export function heapUsed(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed;
}

/** Mebibytes. */
export const MiB = 1_048_576;
