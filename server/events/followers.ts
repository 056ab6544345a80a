import { badInput } from '../errors.js';
import type { Logger } from '../logger.js';
import type { RealmPubSub } from './pubsub.js';
import type { LogEntry, StreamEvent } from './topics.js';

/**
 * An event as delivered to a subscriber, with its cursor. An ephemeral event
 * carries the cursor of the last stored event the stream's follower saw, so
 * resuming from it is always exact.
 */
export type CursoredEvent<T extends StreamEvent['type'] = StreamEvent['type']> = StreamEvent<T> & { cursor: string };

/**
 * Receives a stream's events from its follower: every event after the point
 * it joined, exactly once, in sequence order, synchronously as the follower
 * handles it (so a slow sink must queue on its own, never block the others).
 */
export interface StreamSink {
  next(event: CursoredEvent): void;
  /** The follower failed (a log read failed); the sink is already detached. */
  fail(error: unknown): void;
}

/** How a subscriber that resumes joins a stream. */
export interface JoinOptions {
  /** Replay stored entries with a greater sequence number first. Omitted: start at the follower's position. */
  afterSeq?: number;
  /**
   * Each replayed entry, in order, awaited. Resolving `false` ends the
   * replay without joining (the subscriber is done, e.g. a leaver).
   */
  replay?: (event: CursoredEvent) => Promise<boolean | void> | boolean | void;
  /**
   * Called synchronously once the replay reached the follower's position:
   * `position` is the last sequence number replayed (or the follower's
   * position). Anything the follower delivers from now on is newer, except
   * events up to `position` it may still have had in flight (a resumer
   * ahead of this instance): sinks skip those by sequence number.
   */
  join: (position: number) => void;
}

/** How a sink attaches: {@link JoinOptions} plus a call once it is live. */
export interface AttachOptions extends Pick<JoinOptions, 'afterSeq' | 'replay'> {
  /** Called synchronously once the sink is attached: every later event reaches it. */
  onJoin?: () => void;
}

/** The followers of one instance, one per stream that has subscribers. */
export interface StreamFollowers {
  /**
   * Attaches `sink` to `stream` (creating its follower on first use): it
   * receives every event after the follower's position, or, with `afterSeq`,
   * every stored entry after it first (through `replay`, by default the
   * sink's `next`). Resolves once attached, with the detach function;
   * rejects (nothing attached) on a cursor the log cannot continue from or a
   * failed read.
   */
  attach(stream: string, sink: StreamSink, options?: AttachOptions): Promise<() => void>;
  /**
   * The primitive under `attach`, for sinks that join a shared group: runs
   * the replay, then calls `join` at the follower's position. The follower
   * stays up until `release` is called, which must be once the subscriber
   * has left (or right away, if it never joined).
   */
  join(stream: string, options: JoinOptions): Promise<{ release: () => void }>;
  /** Live subscribers of `stream` on this instance right now, as counted with {@link countSubscriber}. */
  subscriberCount(stream: string): number;
  /**
   * Counts a subscriber: `+1` once it is live, `-1` when it left. Sinks are
   * not counted by themselves: one sink may serve many subscribers (a group).
   */
  countSubscriber(stream: string, by: 1 | -1): void;
  /** Calls `listener` whenever {@link subscriberCount} of a stream changes; returns the remover. */
  onSubscribersChanged(listener: (stream: string, count: number) => void): () => void;
}

export interface FollowersOptions {
  pubsub: RealmPubSub;
  logger: Logger;
  /** Stored entries of `stream` with `seq > afterSeq`, oldest first, at most `limit`. */
  read: (stream: string, afterSeq: number, limit: number) => Promise<LogEntry[]>;
  /** The stream's newest stored sequence number. */
  head: (stream: string) => Promise<number>;
  /** Opaque cursor of a stream position. */
  cursorOf: (stream: string, seq: number) => string;
  /** Entries read per log query during replay and gap fill. @default 500 */
  pageSize?: number;
}

interface Follower {
  stream: string;
  /** Highest sequence number delivered to the sinks. */
  last: number;
  sinks: Set<StreamSink>;
  /** Subscribers joining or joined through `join` (replaying, or members of a shared group). */
  holds: number;
  /** Resolves once the pub/sub subscription is active and `last` is the head. */
  ready: Promise<void>;
  /** Set when a log read failed: the follower is gone, joiners must not join it. */
  failure?: unknown;
  stop: () => void;
}

/**
 * One follower per stream per instance: one pub/sub listener, one ordering,
 * one gap fill and one resync for every subscriber of the stream. A live
 * event that skips sequence numbers (another instance's publish overtook it,
 * or a pub/sub outage lost some) triggers one read of the missing range from
 * the log; after a pub/sub reconnect the follower reads whatever the log has
 * beyond what it saw. The follower goes away with its last subscriber.
 */
export function createStreamFollowers(options: FollowersOptions): StreamFollowers {
  const { pubsub, logger, read, head, cursorOf, pageSize = 500 } = options;
  const followers = new Map<string, Follower>();
  const counts = new Map<string, number>();
  const watchers = new Set<(stream: string, count: number) => void>();

  const countSubscriber = (stream: string, by: 1 | -1) => {
    const next = (counts.get(stream) ?? 0) + by;
    if (next) counts.set(stream, next);
    else counts.delete(stream);
    for (const watcher of watchers) watcher(stream, next);
  };

  const retire = (follower: Follower) => {
    if (follower.sinks.size || follower.holds || followers.get(follower.stream) !== follower) return;
    followers.delete(follower.stream);
    follower.stop();
  };

  const start = (stream: string): Follower => {
    const follower: Follower = { stream, last: 0, sinks: new Set(), holds: 0, ready: Promise.resolve(), stop: () => {} };
    followers.set(stream, follower);
    let stopped = false;
    const emit = (event: StreamEvent) => {
      const cursored = { ...event, cursor: cursorOf(stream, event.seq ?? follower.last) } as CursoredEvent;
      for (const sink of follower.sinks) sink.next(cursored);
    };
    const catchUp = async (untilSeq: number) => {
      while (follower.last < untilSeq) {
        const page = await read(stream, follower.last, Math.min(pageSize, untilSeq - follower.last));
        if (page.length === 0 || stopped) return;
        for (const entry of page) {
          follower.last = entry.seq;
          emit(entry);
        }
      }
    };
    const handleLive = async (event: StreamEvent) => {
      if (stopped) return;
      if (event.seq === null) return emit(event);
      if (event.seq <= follower.last) return; // already delivered by gap fill
      if (event.seq > follower.last + 1) await catchUp(event.seq - 1);
      if (event.seq <= follower.last || stopped) return;
      follower.last = event.seq;
      emit(event);
    };
    // A failed read fails every sink (each subscriber ends with the error, as
    // its own follow did before); the next subscriber starts a fresh follower.
    const fail = (error: unknown) => {
      follower.failure = error;
      logger.error({ err: error, stream }, 'stream follower failed');
      if (followers.get(stream) === follower) followers.delete(stream);
      follower.stop();
      const sinks = [...follower.sinks];
      follower.sinks.clear();
      for (const sink of sinks) sink.fail(error);
    };

    // Live events queue behind the head read: subscribe first, read, then drain.
    let releaseQueue!: () => void;
    let queue: Promise<unknown> = new Promise<void>((resolve) => (releaseQueue = resolve));
    let unsubscribe = () => {};
    // Events published while pub/sub was away are lost to us: once it is
    // back (resubscribed), read whatever the log has beyond what we saw.
    const stopResync = pubsub.onReconnect(() => {
      queue = queue.then(async () => catchUp(await head(stream))).catch(fail);
    });
    follower.stop = () => {
      if (stopped) return;
      stopped = true;
      stopResync();
      unsubscribe();
    };
    follower.ready = (async () => {
      try {
        unsubscribe = await pubsub.subscribe('streamEvent', stream, (event) => {
          queue = queue.then(() => handleLive(event)).catch(fail);
        });
        if (stopped) unsubscribe();
        follower.last = await head(stream);
      } catch (error) {
        if (followers.get(stream) === follower) followers.delete(stream);
        follower.stop();
        throw error;
      } finally {
        releaseQueue();
      }
    })();
    follower.ready.catch(() => {}); // the subscriber that waits on it gets the error
    return follower;
  };

  const joinFollower = async (
    stream: string,
    { afterSeq, replay, join: joinAt }: Omit<JoinOptions, 'join'> & { join: (position: number, follower: Follower) => void },
  ) => {
    const follower = followers.get(stream) ?? start(stream);
    follower.holds++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      follower.holds--;
      retire(follower);
    };
    try {
      await follower.ready;
      if (afterSeq === undefined) {
        if (follower.failure !== undefined) throw follower.failure;
        joinAt(follower.last, follower);
        return { release };
      }
      // A cursor the log cannot continue from exactly is refused, never
      // silently skipped: one beyond the head (a reset world), or one older
      // than what retention kept.
      if (afterSeq > (await head(stream))) {
        throw badInput('after', '"after" is beyond the end of this stream; read the current state and subscribe without it.');
      }
      const [first] = await read(stream, afterSeq, 1);
      if (first && first.seq > afterSeq + 1) {
        throw badInput('after', '"after" is older than the retained event log; read the current state and subscribe without it.');
      }
      // Replay up to wherever the follower is by now; it keeps moving while
      // we read, so loop until caught up. Between the last check and `join`
      // nothing awaits: no event can slip between the replay and the join.
      let position = afterSeq;
      while (position < follower.last) {
        const page = await read(stream, position, Math.min(pageSize, follower.last - position));
        if (page.length === 0) break;
        for (const entry of page) {
          position = entry.seq;
          if (replay && (await replay({ ...entry, cursor: cursorOf(stream, entry.seq) } as CursoredEvent)) === false) {
            release();
            return { release };
          }
        }
      }
      if (follower.failure !== undefined) throw follower.failure;
      joinAt(position, follower);
      return { release };
    } catch (error) {
      release();
      throw error;
    }
  };

  return {
    join: (stream, options) => joinFollower(stream, options),
    async attach(stream, sink, { afterSeq, replay = (event: CursoredEvent) => sink.next(event), onJoin } = {}) {
      let detach = () => {};
      const { release } = await joinFollower(stream, {
        afterSeq,
        replay,
        join: (position, follower) => {
          let attached = true;
          detach = () => {
            if (!attached) return;
            attached = false;
            follower.sinks.delete(guarded);
          };
          // Skip what this sink already has (it resumed ahead of this instance's follower).
          const ahead = position > follower.last;
          const guarded: StreamSink = {
            next: ahead ? (event) => (event.seq === null || event.seq > position) && sink.next(event) : (event) => sink.next(event),
            fail: (error) => {
              detach();
              sink.fail(error);
            },
          };
          follower.sinks.add(guarded);
          onJoin?.();
        },
      });
      return () => {
        detach();
        release();
      };
    },
    subscriberCount: (stream) => counts.get(stream) ?? 0,
    countSubscriber,
    onSubscribersChanged(watcher) {
      watchers.add(watcher);
      return () => watchers.delete(watcher);
    },
  };
}
