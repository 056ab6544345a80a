import type { ExecutionArgs, ExecutionResult } from 'graphql';
import type { Transport } from '../metrics.js';

/**
 * One event's result, executed and serialized once for a whole group and
 * handed as it is to every subscriber of the group (Centrifugo's prepared
 * reply): a transport writes {@link json} around its own envelope, or hands
 * {@link result} to a writer that calls its `stringify` (Yoga's SSE writer).
 */
export interface PreparedResult {
  /** The result; its `stringify()` returns {@link json} (one serialization for every subscriber). */
  readonly result: ExecutionResult & { stringify(): string };
  /** The result as JSON. */
  readonly json: string;
}

/**
 * What a transport implements to receive one subscription from the delivery
 * core (`server/delivery/fanout.ts`). The core calls it synchronously, from
 * the group's loop over its members, so it must write or queue and return:
 * it never waits for its client (a slow one is cut by the transport, or by
 * the adapter's bound, and resumes with `after:`).
 */
export interface Subscriber {
  /** How the client is connected (the `transport` label of the metrics). */
  readonly transport: Transport;
  /** One result of the subscription (replayed or live), in stream order. */
  next(prepared: PreparedResult): void;
  /**
   * Whether it holds back more than a replay should add to (its socket's
   * unsent data, or its queue, past half of its bound): a replay waits until
   * it is not, so it goes at the client's pace. Live delivery never waits
   * (the group serves every member at once); the transport's bound cuts a
   * client that falls behind it.
   */
  busy(): boolean;
  /**
   * The core ended the subscription: without `error` its stream ended (the
   * player left the game), with one it failed (a refused cursor, a failed
   * read). Never called after the transport itself ended it with
   * {@link SubscriptionHandle.cancel}.
   */
  end(error?: unknown): void;
}

/** The subscription as its transport holds it. */
export interface SubscriptionHandle {
  /** Ends it from the transport's side (the client completed it, or went away); {@link Subscriber.end} is not called. */
  cancel(): void;
  /** Whether it has ended (either way). */
  readonly done: boolean;
}

/**
 * Typed hooks the delivery core calls for every subscription it writes to
 * a transport itself ({@link Subscriber}s given to `serve`). Subscriptions a
 * transport iterates (SSE, and subscriptions executed on their own such as
 * `portfolioChanged`) pass through envelop's hooks (`onSubscribeResult`,
 * `onNext`, `onEnd`) instead, which only see what is iterated.
 */
export interface DeliveryHooks {
  /**
   * A served subscription started (once, at its setup). The function it
   * returns, if any, runs once when the subscription ends, however it ended.
   */
  onServe?(args: ExecutionArgs, transport: Transport): ((error?: unknown) => void) | void;
}
