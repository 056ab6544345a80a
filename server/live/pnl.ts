import { Repeater } from 'graphql-yoga';
import type { RealmPubSub } from '../events/pubsub.js';
import type { PnlTickView } from '../events/topics.js';
import type { Logger } from '../logger.js';
import { createLiveView } from './live-view.js';
import { orderedPush, type MemberCounts } from './shared-watchers.js';

/** A `pnlTicked` subscription as its player's watcher sees it. */
interface PnlSubscriber {
  tick(tick: PnlTickView): void;
}

/** The one watcher of a player's P&L ticks on this instance. */
interface PnlWatcher {
  playerId: string;
  subscribers: ReadonlySet<PnlSubscriber>;
  /** The player's tick valued now, shared by subscribers that ask at the same moment. */
  snapshot(): Promise<PnlTickView>;
}

export interface PnlLiveOptions {
  pubsub: RealmPubSub;
  logger: Logger;
  /** Values a player's tick now (the domain's `tick`). */
  tick: (playerId: string) => Promise<PnlTickView>;
}

export type PnlLive = ReturnType<typeof createPnlLive>;

/**
 * `pnlTicked` for every subscriber of the instance, a {@link createLiveView}
 * keyed by player: the ticks the recorder values once per player, handed as
 * they are to every subscription of that player here (one pub/sub listener
 * per player), and one valuation for the first tick of everyone who
 * subscribes at the same moment. After a pub/sub reconnect each watched
 * player is valued once again.
 */
export function createPnlLive({ pubsub, logger, tick }: PnlLiveOptions) {
  /** Valuations made for the first tick of `pnlTicked` subscriptions (and for resyncs). */
  let snapshots = 0;
  const deliver = (watcher: PnlWatcher, tick: PnlTickView) => {
    for (const subscriber of watcher.subscribers) subscriber.tick(tick);
  };
  const players = createLiveView<'pnlTicked', PnlWatcher, PnlSubscriber>({
    pubsub,
    topic: 'pnlTicked',
    create(playerId, subscribers) {
      let next: Promise<PnlTickView> | undefined;
      return {
        playerId,
        subscribers,
        snapshot() {
          // Valued after every subscriber of this moment joined (so it is at least as new as
          // their subscriptions), once for all of them; a later one gets a fresh valuation.
          next ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
            next = undefined;
            snapshots++;
            return tick(playerId);
          });
          return next;
        },
      };
    },
    changed: deliver,
    // Ticks published while pub/sub was away are lost: value the player once it is back.
    resync(watcher) {
      watcher
        .snapshot()
        .then((tick) => deliver(watcher, tick))
        .catch((error: unknown) => logger.error({ err: error, playerId: watcher.playerId }, 'pnlTicked resync failed'));
    },
  });

  return {
    /**
     * `pnlTicked`: the current tick at once, then each one the recorder
     * publishes. The player's subscriptions on this instance share one
     * watcher: one pub/sub listener, and one valuation for the first tick of
     * everyone who subscribes at the same moment.
     */
    watch(playerId: string): Repeater<PnlTickView> {
      return new Repeater<PnlTickView>(async (push, stop) => {
        const send = orderedPush(push, stop);
        /** `at` of the last tick sent; undefined until the first one. */
        let latest: string | undefined;
        /** The newest tick published while the first one was being valued. */
        let early: PnlTickView | undefined;
        const subscriber: PnlSubscriber = {
          tick(tick) {
            if (latest === undefined) {
              if (!early || tick.at >= early.at) early = tick;
              return;
            }
            // A tick valued before the one already sent is older than what the subscriber has.
            if (tick.at < latest) return;
            latest = tick.at;
            send(tick);
          },
        };
        const { watcher, leave } = await players.join(playerId, subscriber);
        try {
          const first = await watcher.snapshot();
          latest = first.at;
          send(first);
          if (early && early.at >= first.at) subscriber.tick(early);
          early = undefined;
          await stop;
        } catch (error) {
          stop(error);
        } finally {
          leave();
        }
      });
    },
    /** `pnlTicked` subscriptions per player that receive ticks right now (tests wait on it). */
    subscribers: { count: players.count, onCountChanged: players.onCountChanged } satisfies MemberCounts,
    /** Counters of the shared `pnlTicked` watchers: players watched, subscriptions, first-tick valuations. */
    stats() {
      const { watchers, members } = players.stats();
      return { players: watchers, subscribers: members, snapshots };
    },
  };
}
