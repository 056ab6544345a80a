import type { PlayerRef } from '../events/topics.js';
import type { Release } from '../release.js';

/** One player who is online in a game right now (connected, or within the grace period). */
export interface OnlinePlayer {
  playerId: string;
  /** Live connections holding presence; 0 while the grace period runs. */
  connections: number;
  /** When one of their connections to the game last opened or closed (ISO-8601). */
  lastSeenAt: string;
}

/**
 * Who is online in which game, derived from live subscriptions. Small and
 * async on purpose: the in-memory tracker serves one instance, a Redis-backed
 * one (same interface) serves many.
 */
export interface PresenceTracker {
  /**
   * Counts one live connection of `player` to game `code` until the returned
   * release is called. The first hold takes the player online; a hold within
   * the grace period after their last release cancels the pending offline.
   */
  hold(code: string, player: PlayerRef): Promise<Release>;
  /** Players online in `code` right now; everyone else is offline. */
  snapshot(code: string): Promise<OnlinePlayer[]>;
  /** Stops every timer and waits for running transitions; later holds are no-ops. */
  dispose(): Promise<void>;
}

/**
 * What a tracker tells the rest of the app. The app's hooks are
 * `createPresenceTransitions` (`transitions.ts`): record the transition, publish the change.
 */
export interface PresenceHooks {
  /**
   * A player went online (first connection) or offline (the grace period
   * after their last connection ran out). Awaited, and called in order for
   * each player of a game, so a player's Connected and Disconnected events
   * never swap.
   */
  onTransition(code: string, player: PlayerRef, online: boolean, at: string): Promise<void>;
  /** Anything in the game's presence changed (a connection opened or closed, a transition). */
  onChange(code: string): Promise<void> | void;
  /** Where failures of the hooks go; presence itself keeps working. */
  onError(error: unknown): void;
}

/**
 * The hooks as trackers call them: transitions chained per game so they reach
 * `onTransition` in the order they happened, changes reported, and every hook
 * failure routed to `onError` (presence itself keeps working).
 */
export function createHookRunner({ onTransition, onChange, onError }: PresenceHooks) {
  const transitions = new Map<string, Promise<void>>();
  return {
    transition(code: string, player: PlayerRef, online: boolean, at: string): Promise<void> {
      const previous = transitions.get(code) ?? Promise.resolve();
      const next = previous.then(() => onTransition(code, player, online, at)).catch(onError);
      transitions.set(code, next);
      void next.then(() => transitions.get(code) === next && transitions.delete(code));
      return next;
    },
    async changed(code: string): Promise<void> {
      try {
        await onChange(code);
      } catch (error) {
        onError(error);
      }
    },
    /** Resolves when every transition started so far has run. */
    settled: () => Promise.all(transitions.values()).then(() => undefined),
  };
}
