/**
 * Capped exponential backoff with jitter, shared by the client's reconnects
 * and the bots' webhook retries.
 */

/** How retries back off. */
export interface BackoffOptions {
  /** Delay before the first retry, in milliseconds. @default 500 */
  initialDelayMs?: number;
  /** No retry waits longer than this, in milliseconds. @default 15_000 // 15 seconds */
  maxDelayMs?: number;
  /** Source of randomness in [0, 1), replaceable in tests. @default Math.random */
  random?: () => number;
}

/**
 * Milliseconds to wait before retry number `attempt` (0 for the first retry):
 * `min(maxDelayMs, initialDelayMs * 2^attempt)`, of which a random half is
 * taken off ("equal jitter") so that many clients dropped at once by the same
 * restart do not all come back in the same instant.
 */
export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  const { initialDelayMs = 500, maxDelayMs = 15_000, random = Math.random } = options;
  const ceiling = Math.min(maxDelayMs, initialDelayMs * 2 ** Math.max(0, attempt));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/**
 * Resolves after `ms`, or never when `signal` aborts first: a retry that was
 * called off must not run at all, and its timer must not keep the process
 * alive.
 */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return;
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', cancel);
      resolve();
    }, ms);
    const cancel = () => clearTimeout(timer);
    signal?.addEventListener('abort', cancel, { once: true });
  });
}
