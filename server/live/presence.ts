/**
 * The live `presence` view of a game room: its snapshot at once, then again
 * whenever it changes. One reader per game per instance serves every
 * subscriber of the game here; the snapshot itself is a domain read
 * (`GameViews.presence`), and what triggers a read again is `presenceChanged`
 * (published by `presence/transitions.ts`).
 */
import { Repeater } from 'graphql-yoga';
import type { PresenceView } from '../domain/game-views.js';
import type { RealmPubSub } from '../events/pubsub.js';
import type { PlayerRef } from '../events/topics.js';
import type { PresenceTracker } from '../presence/tracker.js';
import type { Release } from '../release.js';
import { createSharedWatchers, orderedPush } from './shared-watchers.js';

/** What the live presence views work with. */
export interface LivePresenceDeps {
  /** Where `presenceChanged` arrives, and its reconnects. */
  pubsub: RealmPubSub;
  /** Holds a watching player online while their subscription runs. */
  presence: PresenceTracker;
  /** Reads a game's presence snapshot (`GameViews.presence`). */
  read(code: string): Promise<PresenceView>;
}

/** A `presence` subscription as its game's reader sees it. */
interface PresenceMember {
  /** A snapshot, with its JSON and the ids of the game's players (to tell a leaver without a scan per subscriber). */
  deliver(view: PresenceView, serialized: string, playerIds: ReadonlySet<string>): void;
  fail(error: unknown): void;
}

interface PresenceReader {
  refresh(): void;
  unsubscribe(): void;
}

/** Live presence views of game rooms on this instance. */
export type LivePresence = ReturnType<typeof createLivePresence>;

/** The live presence views, one shared reader per watched game. */
export function createLivePresence({ pubsub, presence, read: readPresence }: LivePresenceDeps) {
  /** Snapshots read for `presence` subscribers so far (one per game per change). */
  let reads = 0;
  /**
   * One presence reader per game per instance, shared by every `presence`
   * subscriber of the game on this instance: one pub/sub listener, and one
   * read and one serialization per change (and after a pub/sub reconnect). A
   * burst of changes costs one read: a read already queued sees them all.
   */
  const readers = createSharedWatchers<PresenceReader, PresenceMember>({
    async start(code, members) {
      let queue: Promise<unknown> = Promise.resolve();
      let queued = false;
      const read = async () => {
        queued = false;
        if (!members.size) return;
        reads++;
        try {
          const view = await readPresence(code);
          const serialized = JSON.stringify(view);
          const playerIds = new Set(view.players.map((p) => p.player.id));
          for (const member of members) member.deliver(view, serialized, playerIds);
        } catch (error) {
          for (const member of members) member.fail(error);
        }
      };
      const reader: PresenceReader = {
        refresh() {
          if (queued) return;
          queued = true;
          // After the current I/O phase, so a subscriber's hold and its own refresh cost one read.
          setImmediate(() => (queue = queue.then(read)));
        },
        unsubscribe: () => {},
      };
      const unsubscribe = await pubsub.subscribe('presenceChanged', code, () => reader.refresh());
      // Changes published while pub/sub was away are lost: read again once it is back.
      const stopResync = pubsub.onReconnect(() => reader.refresh());
      reader.unsubscribe = () => {
        stopResync();
        unsubscribe();
      };
      return reader;
    },
    stop: (reader) => reader.unsubscribe(),
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
        const member: PresenceMember = {
          deliver(view, serialized, playerIds) {
            // A player who left stops seeing the room's presence.
            if (holder && !playerIds.has(holder.id)) return void stop();
            if (serialized === last) return;
            last = serialized;
            send(view);
          },
          fail: stop,
        };
        const { watcher, leave } = await readers.join(code, member);
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
      const { watchers, members } = readers.stats();
      return { games: watchers, subscribers: members, reads };
    },
  };
}
