import { isAsyncIterable, Repeater, type Plugin } from 'graphql-yoga';
import type { ExecutionResult } from 'graphql';
import type { Viewer } from '../auth.js';
import type { Context } from '../builder.js';
import { apiError, ErrorCode } from '../errors.js';

/** Longest delay `setTimeout` takes (about 24.8 days); tokens may live longer. */
const maxTimerMs = 2 ** 31 - 1;

/** The error of an operation or stream whose token has expired (HTTP 401); clients fetch a fresh token and resume. */
export const tokenExpired = () => apiError(ErrorCode.Unauthenticated, 'The token is expired.', { reason: 'expired' }, 401);

/** Whether the viewer's token has expired by `now`. */
export const expired = (viewer: Viewer | null, now = Date.now()) => viewer?.expiresAt !== undefined && viewer.expiresAt <= now;

/**
 * Calls `onExpire` when `at` (ms since the epoch) is reached, however far
 * away (re-arming past the timer limit); the returned function cancels it.
 */
export function atTime(at: number, onExpire: () => void): () => void {
  let timer: NodeJS.Timeout;
  const arm = () => {
    const delay = at - Date.now();
    if (delay <= 0) return onExpire();
    timer = setTimeout(arm, Math.min(delay, maxTimerMs));
    timer.unref();
  };
  arm();
  return () => clearTimeout(timer);
}

/**
 * Enforces token expiry on connections opened before it: an operation whose
 * viewer's token has expired is refused (`UNAUTHENTICATED`, `reason:
 * "expired"`), and a subscription running over HTTP (SSE) ends at the
 * moment its token expires with that same error, which the typed client
 * answers by asking for a fresh token and resuming `after:` its last
 * cursor. WebSocket subscriptions are left to the transport, which closes the
 * whole socket at expiry (4403) so the client reconnects with a new token.
 */
export function useTokenExpiry(): Plugin<Context> {
  return {
    onExecute({ args, setResultAndStopExecution }) {
      if (expired(args.contextValue.viewer)) setResultAndStopExecution({ errors: [tokenExpired()] });
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      const { viewer } = args.contextValue;
      if (expired(viewer)) return setResultAndStopExecution({ errors: [tokenExpired()] });
      const expiresAt = viewer?.expiresAt;
      if (expiresAt === undefined || (args.contextValue as { transport?: string }).transport === 'ws') return;
      return {
        onSubscribeResult({ result, setResult }) {
          if (isAsyncIterable(result)) setResult(endAtExpiry(result, expiresAt));
        },
      };
    },
  };
}

/** The stream until `expiresAt`, then one {@link tokenExpired} error, then its end. */
function endAtExpiry(source: AsyncIterable<ExecutionResult>, expiresAt: number): Repeater<ExecutionResult> {
  return new Repeater<ExecutionResult>(async (push, stop) => {
    const iterator = source[Symbol.asyncIterator]();
    const cancel = atTime(expiresAt, () => {
      void push({ errors: [tokenExpired()] }).then(() => stop());
    });
    void stop.then(() => {
      cancel();
      void iterator.return?.();
    });
    for (;;) {
      const next = await Promise.race([iterator.next(), stop.then(() => ({ done: true, value: undefined }) as const)]);
      if (next.done) break;
      await push(next.value);
    }
    stop();
  });
}
