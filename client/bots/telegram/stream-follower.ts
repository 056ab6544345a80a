/**
 * Following the bot's Realmcast streams: one subscription per stream key
 * (`world`, `market`, `game:<CODE>`), each started `after:` its stored cursor,
 * with one queue that handles events and stream failures strictly one after
 * another. When a stream fails, {@link StreamFollower.follow} decides between
 * starting over from the present (the server cannot continue from the cursor),
 * giving up (the stream's `refused` hook says so) and following again after a
 * backoff. What each stream's events mean for the chats is `streams.ts`'s part.
 */
import { CombinedGraphQLErrors } from '@apollo/client';
import type { Observable } from 'rxjs';
import { delay } from '../../backoff.js';
import { backoffDelay } from '../../index.js';
import type { TelegramBotState } from './state.js';

export interface StreamFollowerOptions {
  /** Holds the stored cursors (`state.cursors[key]`). */
  state: TelegramBotState;
  save(): Promise<void>;
  logger(message: string): void;
  /** First delay before following a failed stream again; doubles up to a minute. */
  retryDelayMs: number;
}

/** How one stream reacts to failures besides retrying. */
export interface FollowHooks {
  /** Whether an error code means the stream will never work (then it is dropped). @default never */
  refused?: (code: string | undefined) => Promise<boolean>;
  /** The stream's newest cursor now, read before following it again from the present. @default none: start without a cursor */
  present?: () => Promise<string | undefined>;
}

export interface StreamFollower {
  /** Follows `key` from its stored cursor until {@link unfollow} or {@link dispose}; `handle` runs in the queue. */
  follow<D>(key: string, subscribe: (after: string | undefined) => Observable<{ data?: D; error?: unknown }>, handle: (data: D) => Promise<void>, hooks?: FollowHooks): void;
  /** Whether `key` is followed (or waiting to be followed again). */
  has(key: string): boolean;
  /** The keys followed now. */
  keys(): string[];
  /** Stops following `key` on purpose: no retry. */
  unfollow(key: string): void;
  /** Runs `work` after everything queued before it; a failure is logged. */
  enqueue(work: () => Promise<void>): void;
  /** Aborted by {@link dispose}: for waits that must end with the follower. */
  readonly signal: AbortSignal;
  /** Stops every stream and resolves once the queued work is done. */
  dispose(): Promise<void>;
}

/** Why a stream failed, as far as the server said. */
function refusalOf(error: unknown): { code?: string; field?: string } {
  if (!CombinedGraphQLErrors.is(error)) return {};
  const extensions = error.errors[0]?.extensions as { code?: string; field?: string } | undefined;
  return { code: extensions?.code, field: extensions?.field };
}

export function createStreamFollower(options: StreamFollowerOptions): StreamFollower {
  const { state, save, logger, retryDelayMs } = options;
  const stopping = new AbortController();
  const open = new Map<string, { unsubscribe(): void }>();
  /** Events and stream failures are handled strictly one after another. */
  let queue: Promise<void> = Promise.resolve();

  const enqueue = (work: () => Promise<void>) => {
    queue = queue.then(work).catch((error) => logger(`event handling failed: ${(error as Error).message}`));
  };

  /** The cursor is out of the server's reach (older than its retention, or from a world that was reset). */
  const continueFromPresent = async (key: string, error: unknown, present: () => Promise<string | undefined>) => {
    // Nothing to resume: read where the stream is first, so nothing from now on is missed.
    const now = await present().catch(() => undefined);
    if (now) state.cursors[key] = now;
    else delete state.cursors[key];
    await save();
    logger(`${key}: the server cannot continue from the stored cursor (${(error as Error).message}); continuing from now`);
  };

  const follow: StreamFollower['follow'] = (key, subscribe, handle, { refused = async () => false, present = async () => undefined } = {}) => {
    let attempt = 0;
    const start = () => {
      if (stopping.signal.aborted) return;
      let ended = false;
      let subscription: { unsubscribe(): void } | undefined;
      const entry = { unsubscribe: () => subscription?.unsubscribe() };
      open.set(key, entry);
      const fail = (error: unknown) => {
        if (ended) return;
        ended = true;
        entry.unsubscribe();
        if (open.get(key) !== entry) return; // stopped on purpose
        enqueue(async () => {
          const { code, field } = refusalOf(error);
          if (code === 'BAD_USER_INPUT' && field === 'after') {
            await continueFromPresent(key, error, present);
            return start();
          }
          if (await refused(code)) {
            open.delete(key);
            return;
          }
          const wait = backoffDelay(attempt++, { initialDelayMs: retryDelayMs, maxDelayMs: 60_000 });
          logger(`${key}: stream ended (${error instanceof Error ? error.message : String(error)}); following again in ${wait} ms`);
          // Waits outside the queue: the other streams' events keep flowing meanwhile.
          void delay(wait, stopping.signal).then(() => {
            if (open.get(key) === entry) start(); // not unfollowed meanwhile
          });
        });
      };
      subscription = subscribe(state.cursors[key]).subscribe({
        next: ({ data, error }) => {
          if (error) return fail(error);
          if (!data) return;
          attempt = 0;
          enqueue(() => handle(data));
        },
        error: fail,
        complete: () => fail(new Error('completed by the server')),
      });
      if (ended) subscription.unsubscribe(); // failed while subscribing
    };
    start();
  };

  return {
    follow,
    has: (key) => open.has(key),
    keys: () => [...open.keys()],
    unfollow(key) {
      const subscription = open.get(key);
      if (!subscription) return;
      open.delete(key);
      subscription.unsubscribe();
    },
    enqueue,
    signal: stopping.signal,
    async dispose() {
      stopping.abort();
      for (const subscription of open.values()) subscription.unsubscribe();
      open.clear();
      await queue;
    },
  };
}
