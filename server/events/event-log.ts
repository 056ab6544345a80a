import { Repeater } from 'graphql-yoga';
import { sql } from 'kysely';
import { badInput } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Store, Tx } from '../store/store.js';
import type { Release } from '../release.js';
import { Feed, type FeedSpec } from './feed.js';
import { createStreamFollowers, type CursoredEvent, type StreamFollowers } from './followers.js';
import type { RealmPubSub } from './pubsub.js';
import type { EventPayloads, EventType, LogEntry, StreamEvent } from './topics.js';

/** One event to append: its type and payload. */
export type AppendItem<T extends EventType = EventType> = { [K in T]: { type: K; payload: EventPayloads[K] } }[T];

/**
 * Appends an event to the log inside the surrounding transaction; `many`
 * appends several to one stream with two statements (one `streams` update,
 * one multi-row insert), in the given order.
 */
export type Append = (<T extends EventType>(stream: string, type: T, payload: EventPayloads[T]) => Promise<LogEntry<T>>) & {
  many<T extends EventType>(stream: string, items: readonly AppendItem<T>[]): Promise<LogEntry<T>[]>;
};

/** How long entries are kept (SPEC "cursor"; README "Event log"). */
export interface RetentionRule {
  /** Entries older than this many milliseconds are pruned… */
  maxAgeMs: number;
  /** …except the newest this many of each stream, which are always kept. */
  keepNewest: number;
}

export interface EventLog {
  /**
   * Runs `work` in one store transaction. Events appended through `append`
   * get the next sequence numbers of their streams and are published, in
   * order, only after the transaction commits; nothing is published when it
   * rolls back.
   */
  transact<R>(work: (tx: Tx, append: Append) => Promise<R>): Promise<R>;
  /** Publishes an event that is never stored (typing indicators). */
  publishEphemeral<T extends EventType>(stream: string, type: T, payload: EventPayloads[T]): Promise<void>;
  /** Stored entries of `stream` with `seq > afterSeq`, oldest first, at most `limit`. */
  read(stream: string, afterSeq: number, limit?: number): Promise<LogEntry[]>;
  /** The sequence number of the stream's newest stored entry (0 when empty). */
  head(stream: string): Promise<number>;
  /** {@link head} of several streams in one statement; every stream asked for is in the map. */
  heads(streams: readonly string[]): Promise<Map<string, number>>;
  /** The newest `count` stored entries of `stream`, newest first. */
  latest(stream: string, count: number): Promise<LogEntry[]>;
  /**
   * Follows a stream: first every stored entry after `afterSeq` (when given),
   * then live events, each exactly once and in sequence order. Every follow
   * of a stream on this instance shares one follower (see
   * {@link StreamFollowers}): one pub/sub listener, one gap fill, one resync.
   */
  follow(stream: string, options?: FollowOptions): Repeater<CursoredEvent>;
  /**
   * The subscription a domain service returns for a stream: the fan-out
   * shares its execution with every subscriber of the same shape; iterated
   * directly it is a {@link follow} of the spec.
   */
  feed<T extends EventType>(spec: FeedSpec): Feed<T>;
  /** The instance's stream followers, for subscribers that share an execution (`server/delivery/fanout.ts`). */
  followers: StreamFollowers;
  /** Live subscribers of `stream` on this instance (metrics, tests). */
  subscriberCount(stream: string): number;
  /** Calls `listener` whenever a stream's subscriber count changes; returns the remover. */
  onSubscribersChanged(listener: (stream: string, count: number) => void): () => void;
  /** Deletes entries the retention rule no longer keeps; returns how many. */
  prune(now?: Date): Promise<number>;
}

export type { CursoredEvent } from './followers.js';

export interface FollowOptions {
  /** Replay stored entries with a greater sequence number first. */
  afterSeq?: number;
  /** Only events this returns true for are delivered (ordering still uses all). */
  filter?: (event: StreamEvent) => boolean;
  /** Called once the subscriber is live (after its replay): every later event reaches it. */
  onActive?: () => void;
  /**
   * Checked after each event (delivered or filtered out); the stream ends
   * when it is true. Only a replayed event (`replaying`) may be answered
   * with a promise: live events reach every subscriber of the stream at
   * once and cannot wait for one of them.
   */
  endAfter?: (event: StreamEvent, replaying: boolean) => boolean | Promise<boolean>;
  /** Called once when a follow that became active ends (the consumer returned, or it failed). */
  onEnd?: () => void;
}

const replayPageSize = 500;

/** Creates the event log over a store and a pub/sub. */
export function createEventLog(deps: { store: Store; pubsub: RealmPubSub; logger: Logger; retention: RetentionRule }): EventLog {
  const { store, pubsub, logger, retention } = deps;

  const toEntry = (row: { stream: string; seq: number; type: string; payload: string; at: string }) =>
    ({ stream: row.stream, seq: Number(row.seq), type: row.type, payload: JSON.parse(row.payload), at: row.at }) as LogEntry;

  const read: EventLog['read'] = async (stream, afterSeq, limit = replayPageSize) => {
    const rows = await store.db
      .selectFrom('events')
      .selectAll()
      .where('stream', '=', stream)
      .where('seq', '>', afterSeq)
      .orderBy('seq')
      .limit(limit)
      .execute();
    return rows.map(toEntry);
  };

  const headOf = async (stream: string) => {
    const row = await store.db.selectFrom('streams').select('lastSeq').where('stream', '=', stream).executeTakeFirst();
    return row ? Number(row.lastSeq) : 0;
  };

  // Newest stored entry per stream whose publish failed (pub/sub away). It is
  // published again when pub/sub reconnects: a follower that receives it
  // reads everything it missed before it from the log, so even a stream that
  // goes quiet after an outage reaches every subscriber.
  const unpublished = new Map<string, StreamEvent>();
  const publish = async (event: StreamEvent) => {
    try {
      await pubsub.publish('streamEvent', event.stream, event);
      if (event.seq !== null && (unpublished.get(event.stream)?.seq ?? 0) <= event.seq) unpublished.delete(event.stream);
    } catch (error) {
      // The event is committed: a subscriber that misses this publish fills
      // the gap from the log on the next event of the stream (see `follow`).
      logger.error({ err: error, stream: event.stream, seq: event.seq }, 'publish failed');
      if (event.seq !== null && (unpublished.get(event.stream)?.seq ?? 0) < event.seq) unpublished.set(event.stream, event);
    }
  };
  const followers = createStreamFollowers({ pubsub, logger, read, head: headOf, cursorOf: encodeCursor, pageSize: replayPageSize });

  pubsub.onReconnect(() => {
    const pending = [...unpublished.values()];
    if (pending.length) logger.info({ streams: pending.map((e) => e.stream) }, 'republishing after pub/sub reconnect');
    for (const event of pending) void publish(event);
  });

  const log: EventLog = {
    async transact(work) {
      const appended: LogEntry[] = [];
      const result = await store.transaction(async (tx) => {
        appended.length = 0; // the store may retry the whole transaction (deadlock on PostgreSQL)
        const appendMany = async <T extends EventType>(stream: string, items: readonly AppendItem<T>[]): Promise<LogEntry<T>[]> => {
          if (items.length === 0) return [];
          // Why sequences are gapless and commit-ordered, across instances:
          // this upsert takes the `streams` row lock of the stream and holds it
          // until the transaction ends. On PostgreSQL a second appender to the
          // same stream (any instance) blocks here until the first commits or
          // rolls back, then reads the row as it is then: after a commit it
          // gets N+1, after a rollback the N that was given back. So seq N+1
          // is only ever handed out once seq N is committed (or never was):
          // no holes, and commit order equals seq order. A reader that sees
          // N+1 can therefore always read 1..N from the log, which is how
          // a follower fills a gap when pub/sub delivers out of order or loses
          // a message. Appenders to different streams do not wait on each
          // other. SQLite serializes whole write transactions anyway.
          const count = items.length;
          const { lastSeq } = await tx
            .insertInto('streams')
            .values({ stream, lastSeq: count })
            .onConflict((oc) => oc.column('stream').doUpdateSet({ lastSeq: sql`streams.last_seq + ${count}` }))
            .returning('lastSeq')
            .executeTakeFirstOrThrow();
          const first = Number(lastSeq) - count + 1;
          const at = new Date().toISOString();
          const entries = items.map(({ type, payload }, i) => ({ stream, seq: first + i, type, payload, at }) as LogEntry<T>);
          await tx
            .insertInto('events')
            .values(entries.map((e) => ({ stream, seq: e.seq, type: e.type, payload: JSON.stringify(e.payload), at })))
            .execute();
          appended.push(...(entries as LogEntry[]));
          return entries;
        };
        const append: Append = Object.assign(
          async <T extends EventType>(stream: string, type: T, payload: EventPayloads[T]) =>
            (await appendMany<T>(stream, [{ type, payload } as AppendItem<T>]))[0]!,
          { many: appendMany },
        );
        return work(tx, append);
      });
      // Published together: each publish is sent before the next starts (so
      // a stream's order holds on the wire), without waiting for each answer.
      await Promise.all(appended.map(publish));
      return result;
    },

    publishEphemeral: (stream, type, payload) =>
      publish({ stream, seq: null, type, payload, at: new Date().toISOString() } as StreamEvent),

    read,

    head: headOf,

    async heads(streams) {
      const byStream = new Map<string, number>(streams.map((stream) => [stream, 0]));
      if (streams.length === 0) return byStream;
      const rows = await store.db.selectFrom('streams').select(['stream', 'lastSeq']).where('stream', 'in', streams).execute();
      for (const row of rows) byStream.set(row.stream, Number(row.lastSeq));
      return byStream;
    },

    async latest(stream, count) {
      const rows = await store.db
        .selectFrom('events')
        .selectAll()
        .where('stream', '=', stream)
        .orderBy('seq', 'desc')
        .limit(count)
        .execute();
      return rows.map(toEntry);
    },

    follow(stream, options = {}) {
      const { afterSeq, filter = () => true, onActive, onEnd, endAfter } = options;
      return new Repeater<CursoredEvent>(async (push, stop) => {
        let ended = false;
        const end = (error?: unknown) => {
          ended = true;
          stop(error);
        };
        // Live events are pushed, not awaited: the follower serves every
        // subscriber of the stream and must not wait for this one (a consumer
        // more than the Repeater's queue, 1,024 events, behind ends with an
        // error instead of holding an unbounded backlog). The replay is this
        // subscriber's own and waits for it.
        const deliver = async (event: CursoredEvent, replaying: boolean): Promise<boolean> => {
          if (ended) return false;
          try {
            if (filter(event)) {
              const pushed = push(event);
              if (replaying) await pushed;
              else pushed.catch(end);
            }
            const done = endAfter?.(event, replaying);
            if (done === true || (done !== false && done !== undefined && (await done))) end();
          } catch (error) {
            end(error);
          }
          return !ended;
        };
        let detach = () => {};
        let live = false;
        try {
          detach = await followers.attach(
            stream,
            { next: (event) => void deliver(event, false), fail: (error) => end(error) },
            {
              afterSeq,
              replay: (event) => deliver(event, true),
              onJoin: () => {
                live = true;
                followers.countSubscriber(stream, 1);
                onActive?.();
              },
            },
          );
        } catch (error) {
          end(error);
        }
        await stop;
        detach();
        if (live) followers.countSubscriber(stream, -1);
        onEnd?.();
      });
    },

    feed<T extends EventType>(spec: FeedSpec) {
      const feed: Feed<T> = new Feed<T>(spec, () => {
        let holding: Promise<Release> | undefined;
        return log.follow(spec.stream, {
          afterSeq: spec.afterSeq,
          filter: spec.filter,
          endAfter: (event, replaying) => feed.endsAfter(event) && (replaying && spec.stillLeft ? spec.stillLeft() : true),
          onActive: () => (holding = spec.hold?.()),
          onEnd: () => void holding?.then((release) => release()).catch((error) => logger.error({ err: error, stream: spec.stream }, 'release failed')),
        });
      });
      return feed;
    },

    subscriberCount: (stream) => followers.subscriberCount(stream),
    onSubscribersChanged: (listener) => followers.onSubscribersChanged(listener),
    followers,

    async prune(now = new Date()) {
      const cutoff = new Date(now.getTime() - retention.maxAgeMs).toISOString();
      const result = await store.db
        .deleteFrom('events')
        .where('at', '<', cutoff)
        .where(({ eb, selectFrom }) =>
          eb(
            'seq',
            '<=',
            selectFrom('streams')
              .select(sql<number>`streams.last_seq - ${retention.keepNewest}`.as('floor'))
              .whereRef('streams.stream', '=', 'events.stream'),
          ),
        )
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
  return log;
}

/** A stored entry with its cursor, as queries and mutations return events. */
export function withCursor<T extends EventType>(entry: LogEntry<T>): CursoredEvent<T> {
  return { ...entry, cursor: encodeCursor(entry.stream, entry.seq) } as CursoredEvent<T>;
}

/** Opaque, ordered cursor of one stream position: base64url of `stream:seq`. */
export function encodeCursor(stream: string, seq: number): string {
  return Buffer.from(`${stream}:${seq}`).toString('base64url');
}

/**
 * Decodes an `after:` argument (or another cursor argument, `field`) for
 * `stream`; a malformed cursor, or one of another stream, is a
 * `BAD_USER_INPUT` error naming the field.
 */
export function decodeCursor(stream: string, cursor: string, field = 'after'): number {
  const decoded = Buffer.from(cursor, 'base64url').toString('utf8');
  const separator = decoded.lastIndexOf(':');
  const seq = Number(decoded.slice(separator + 1));
  if (separator < 0 || decoded.slice(0, separator) !== stream || !Number.isSafeInteger(seq) || seq < 0) {
    throw badInput(field, `"${field}" is not a cursor of this stream`);
  }
  return seq;
}
