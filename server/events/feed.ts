import type { Release } from '../release.js';
import type { CursoredEvent } from './followers.js';
import type { EventType, StreamEvent } from './topics.js';

/**
 * What one subscription to a stream wants, as the domain decides it:
 * which stream, from where, which events, and who sees them. Every stream
 * subscription of the schema returns one (built by its domain service), and
 * the delivery core (`server/delivery/fanout.ts`) serves it: subscribers of the
 * same stream with the same {@link FeedSpec.shape} and the same operation
 * share one execution and one serialization per event.
 */
export interface FeedSpec {
  stream: string;
  /** Replay stored entries after this sequence number first (a resuming subscriber). */
  afterSeq?: number;
  /** The events this subscriber gets. Must depend on nothing but what {@link shape} names. */
  filter: (event: StreamEvent) => boolean;
  /**
   * Names the filter and the visibility of the result (e.g. `symbols=GOLD,IRON`,
   * `public`, or a player id for owner-only data): feeds of one stream with
   * equal shapes deliver the same events with the same fields, so they may
   * share an execution.
   */
  shape: string;
  /**
   * The player whose leaving ends this feed (a player's room feeds end when
   * they leave the game), with {@link leaverOf} telling who an event says left.
   */
  endsFor?: string;
  /** Who an event says left (one function per kind of stream, so the same for equal shapes). */
  leaverOf?: (event: StreamEvent) => string | undefined;
  /** Whether `endsFor` is still out of the game: asked for a replayed leave (they may have rejoined since). */
  stillLeft?: () => Promise<boolean>;
  /** Taken once the subscriber is live, released when it ends (presence counts it as a connection). */
  hold?: () => Promise<Release>;
}

/**
 * A {@link FeedSpec} a subscription resolver returns. The fan-out recognizes
 * it and shares the execution; anything else iterating it directly (no fan-out
 * installed) gets the feed's events one by one from `iterate`.
 */
export class Feed<T extends EventType = EventType> implements AsyncIterable<CursoredEvent<T>> {
  constructor(
    readonly spec: FeedSpec,
    private readonly iterate: (spec: FeedSpec) => AsyncIterable<CursoredEvent>,
  ) {}

  [Symbol.asyncIterator](): AsyncIterator<CursoredEvent<T>> {
    // The spec's filter lets only events of type T through.
    return this.iterate(this.spec)[Symbol.asyncIterator]() as AsyncIterator<CursoredEvent<T>>;
  }

  /** Whether `event` ends this feed after it was delivered (or filtered out). */
  endsAfter(event: StreamEvent): boolean {
    return this.spec.endsFor !== undefined && this.spec.leaverOf?.(event) === this.spec.endsFor;
  }
}
