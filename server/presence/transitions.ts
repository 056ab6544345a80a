/**
 * What a presence change does to the rest of the app. The tracker (memory or
 * Redis) decides when a player goes online or offline; here that transition
 * is recorded (the game's `PlayerConnected`/`PlayerDisconnected` event and the
 * player's `lastSeenAt`) and every change is published as `presenceChanged`,
 * which the live `presence` views (`live/presence.ts`) read again on.
 */
import type { EventLog } from '../events/event-log.js';
import type { RealmPubSub } from '../events/pubsub.js';
import { Streams, type PlayerRef } from '../events/topics.js';
import type { Logger } from '../logger.js';
import type { PresenceHooks } from './tracker.js';

/** What recording and publishing presence changes works with. */
export interface PresenceTransitionsDeps {
  /** Where transitions are recorded, in the game's stream and its `gamePlayers` row. */
  events: EventLog;
  /** Where `presenceChanged` is published. */
  pubsub: RealmPubSub;
  /** Where failures go: presence itself keeps working. */
  logger: Logger;
}

/** The tracker's hooks; {@link PresenceTransitions.onChange} is also what game changes (join, leave) call. */
export interface PresenceTransitions extends PresenceHooks {
  /**
   * Tells `presence` subscribers to look again (players joined or left, came
   * online or went offline). Never rejects: a failed publish is logged.
   */
  onChange(code: string): Promise<void>;
}

/** The presence hooks a tracker is built with, over the event log and pub/sub. */
export function createPresenceTransitions({ events, pubsub, logger }: PresenceTransitionsDeps): PresenceTransitions {
  return {
    /**
     * Records a transition from the tracker: appends `PlayerConnected` or
     * `PlayerDisconnected` and keeps `lastSeenAt` in the store, so it
     * survives the tracker. Nothing is recorded for someone who is no longer
     * a player of the game.
     */
    async onTransition(code: string, player: PlayerRef, online: boolean, at: string) {
      await events.transact(async (tx, append) => {
        const updated = await tx
          .updateTable('gamePlayers')
          .set({ lastSeenAt: at })
          .where('code', '=', code)
          .where('playerId', '=', player.id)
          .executeTakeFirst();
        if (Number(updated.numUpdatedRows) === 0) return;
        await append(Streams.game(code), online ? 'PlayerConnected' : 'PlayerDisconnected', { player });
      });
    },

    async onChange(code: string) {
      try {
        await pubsub.publish('presenceChanged', code, { code });
      } catch (error) {
        // The change is committed; subscribers catch up on the next presence change.
        logger.error({ err: error, code }, 'presence publish failed');
      }
    },

    onError: (error: unknown) => logger.error({ err: error }, 'presence update failed'),
  };
}
