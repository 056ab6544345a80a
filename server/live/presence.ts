/**
 * The live `presence` view of a game room: its snapshot at once, then again
 * whenever it changes. A {@link createLiveView} keyed by game: one reader per
 * game per instance serves every subscriber of the game here. The snapshot
 * itself is a domain read (`GameViews.presence`); what triggers a read again
 * is `presenceChanged` (published by `presence/transitions.ts`).
 */
import { Repeater } from 'graphql-yoga';
import type { PresenceView } from '../domain/game-views.js';
import type { RealmPubSub } from '../events/pubsub.js';
import type { PlayerRef } from '../events/topics.js';
import type { PresenceTracker } from '../presence/tracker.js';
import type { Release } from '../release.js';
import { batchedReads, createLiveView } from './live-view.js';
import { orderedPush } from './shared-watchers.js';

/** What the live presence view works with. */
export interface PresenceLiveOptions {
  /** Where `presenceChanged` arrives, and its reconnects. */
  pubsub: RealmPubSub;
  /** Holds a watching player online while their subscription runs. */
  presence: PresenceTracker;
  /** Reads a game's presence snapshot (the domain's `GameViews.presence`). */
  read(code: string): Promise<PresenceView>;
}

/** A `presence` subscription as its game's reader sees it. */
interface PresenceSubscriber {
  /** A snapshot, with its JSON and the ids of the game's players (to tell a leaver without a scan per subscriber). */
  deliver(view: PresenceView, serialized: string, playerIds: ReadonlySet<string>): void;
  fail(error: unknown): void;
}

/** The one reader of a game's presence on this instance. */
interface PresenceReader {
  /** Reads the snapshot again soon; a read already queued covers this call too. */
  refresh(): void;
}

export type PresenceLive = ReturnType<typeof createPresenceLive>;

/** `presence` for every subscriber of the instance, one shared reader per watched game. */
export function createPresenceLive({ pubsub, presence, read }: PresenceLiveOptions) {
  /** Snapshots read for `presence` subscribers so far (one per game per change). */
  let reads = 0;
  /**
   * One read and one serialization per change (and after a pub/sub
   * reconnect) for every subscriber of the game. A burst of changes costs one
   * read: a read already queued sees them all.
   */
  const games = createLiveView<'presenceChanged', PresenceReader, PresenceSubscriber>({
    pubsub,
    topic: 'presenceChanged',
    create(code, subscribers) {
      const readNow = async () => {
        if (!subscribers.size) return;
        reads++;
        try {
          const view = await read(code);
          const serialized = JSON.stringify(view);
          const playerIds = new Set(view.players.map((p) => p.player.id));
          for (const subscriber of subscribers) subscriber.deliver(view, serialized, playerIds);
        } catch (error) {
          for (const subscriber of subscribers) subscriber.fail(error);
        }
      };
      // Its own queue per game: after the current I/O phase, so a subscriber's hold and its own refresh cost one read.
      const schedule = batchedReads<PresenceReader>(readNow);
      const reader: PresenceReader = { refresh: () => schedule(reader) };
      return reader;
    },
    changed: (reader) => reader.refresh(),
    // Changes published while pub/sub was away are lost: read again once it is back.
    resync: (reader) => reader.refresh(),
  });

  return {
    /**
     * The game's presence at once, then again whenever it changes (identical
     * consecutive snapshots are sent once). While it runs, `holder` counts as
     * online; a holder who leaves the game stops seeing it. Check access first
     * (`Games.watchAccess`).
     */
    watch(code: string, holder: PlayerRef | null): Repeater<PresenceView> {
      return new Repeater<PresenceView>(async (push, stop) => {
        let last = '';
        const send = orderedPush(push, stop);
        const subscriber: PresenceSubscriber = {
          deliver(view, serialized, playerIds) {
            // A player who left stops seeing the room's presence.
            if (holder && !playerIds.has(holder.id)) return void stop();
            if (serialized === last) return;
            last = serialized;
            send(view);
          },
          fail: stop,
        };
        const { watcher, leave } = await games.join(code, subscriber);
        let release: Release | undefined;
        try {
          // Held per subscription: the player stays online while any of theirs runs.
          release = holder ? await presence.hold(code, holder) : undefined;
          // The snapshot at once, even when the hold changed nothing (the player was online already).
          watcher.refresh();
          await stop;
        } finally {
          leave();
          await release?.();
        }
      });
    },

    /** Counters of the shared presence readers: games read, their subscribers, snapshots read. */
    stats() {
      const { watchers, members } = games.stats();
      return { games: watchers, subscribers: members, reads };
    },
  };
}
