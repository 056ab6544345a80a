import type { ExecutionResult } from 'graphql';
import { Repeater } from 'graphql-yoga';
import type { PullAdapter } from '../delivery/fanout.js';
import type { Subscriber, SubscriptionHandle } from '../delivery/subscriber.js';
import type { Metrics } from '../metrics.js';

/** Results a replay leaves waiting in a stream's queue at most (half of the Repeater's 1,024). */
const maxPendingReplay = 512;

export interface SseOptions {
  /**
   * Serialized results an SSE subscriber may have waiting (not yet taken by
   * its stream) before it is ended as too slow; its client reconnects and
   * resumes with `after:`. (WebSocket subscribers are bounded by their
   * socket's buffer in `server/transport/ws.ts`.) @default 1_048_576 // 1 MiB
   */
  maxBufferedBytes?: number;
  /** Counts subscribers ended as too slow. @default none */
  metrics?: Pick<Metrics, 'slowConsumerDrops'>;
}

/**
 * The SSE adapter of the delivery core: each feed subscription over HTTP
 * becomes an iterator of its group's prepared results, which Yoga's SSE
 * response writes (calling each result's `stringify`, so the group's one
 * serialization is what goes out). The subscription starts when Yoga first
 * pulls and is cancelled when Yoga returns the iterator (the client went).
 */
export function createSseAdapter(options: SseOptions = {}): PullAdapter {
  const { maxBufferedBytes = 1_048_576, metrics } = options;
  return (open) =>
    new Repeater<ExecutionResult>(async (push, stop) => {
      let subscription: SubscriptionHandle | undefined;
      const fail = (error: unknown) => {
        subscription?.cancel();
        stop(error);
      };
      // Bytes and results delivered but not yet taken by the stream (a push resolves when it is taken).
      let waiting = 0;
      let pending = 0;
      const subscriber: Subscriber = {
        transport: 'sse',
        // Pushed, not awaited: the group serves every member at once. A consumer
        // that falls more than `maxBufferedBytes` (or 1,024 results) behind ends.
        next({ result, json }) {
          waiting += json.length;
          if (waiting > maxBufferedBytes) {
            metrics?.slowConsumerDrops.inc({ transport: 'sse' });
            return fail(new Error('slow consumer: resume with after:'));
          }
          pending++;
          try {
            push(result).then(() => {
              waiting -= json.length;
              pending--;
            }, fail);
          } catch (error) {
            fail(error);
          }
        },
        // A replay waits here, well before the bounds above (and the Repeater's 1,024 pending results) are reached.
        busy: () => waiting > maxBufferedBytes / 2 || pending >= maxPendingReplay,
        end: (error) => stop(error),
      };
      subscription = open(subscriber);
      await stop;
      subscription.cancel();
    });
}
