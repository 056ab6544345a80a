import type { EventLog } from '../events/event-log.js';
import { Streams, type PlayerRef } from '../events/topics.js';
import { apiError, ErrorCode } from '../errors.js';
import type { Games } from './games.js';

/** A rate limit shared by every instance (e.g. in Redis). */
export interface SharedTypingLimit {
  /**
   * Counts one call of `playerId` if fewer than `limit` were made in the last
   * `windowMs`, resolving 0; otherwise resolves how many ms until they may
   * retry. `null` when it cannot decide (its store is unreachable): the
   * instance then applies the limit alone.
   */
  admit(playerId: string, limit: number, windowMs: number): Promise<number | null>;
}

/** What typing indicators work with, and their limits. */
export interface TypingOptions {
  events: EventLog;
  games: Games;
  /** `setTyping` calls a player may make per window… @default 5 */
  limit?: number;
  /** …of this many milliseconds (sliding). @default 5_000 // 5 seconds */
  windowMs?: number;
  /** A `typing: true` without a newer call is followed by `typing: false` after this long. @default 3_000 // 3 seconds */
  expireMs?: number;
  /** Where the rate limit is counted when several instances serve one world. @default undefined (in this instance) */
  sharedLimit?: SharedTypingLimit;
}

export type Typing = ReturnType<typeof createTyping>;

/**
 * Typing indicators: ephemeral `PlayerTyping` events on the game's stream,
 * never stored. The rate limit is counted in `sharedLimit` when given (calls
 * over HTTP may land on any instance), in this instance otherwise; the
 * expiry timers live in the instance that took the call.
 */
export function createTyping(options: TypingOptions) {
  const { events, games, limit = 5, windowMs = 5_000, expireMs = 3_000, sharedLimit } = options;
  /** Recent call times per player, for the sliding-window limit. */
  const calls = new Map<string, number[]>();
  /** Pending automatic `typing: false` per game and player. */
  const expiries = new Map<string, NodeJS.Timeout>();

  /** The sliding window of this instance: 0 when admitted, else ms until a retry may succeed. */
  const admitLocally = (playerId: string, now: number) => {
    const recent = (calls.get(playerId) ?? []).filter((t) => t > now - windowMs);
    if (recent.length >= limit) {
      calls.set(playerId, recent);
      return recent[0]! + windowMs - now;
    }
    recent.push(now);
    calls.set(playerId, recent);
    // Forget idle players now and then, so the map does not grow with every player ever seen.
    if (calls.size > 10_000) for (const [id, times] of calls) if (times.every((t) => t <= now - windowMs)) calls.delete(id);
    return 0;
  };

  const admit = async (playerId: string) => {
    const retryAfterMs = (await sharedLimit?.admit(playerId, limit, windowMs)) ?? admitLocally(playerId, Date.now());
    if (retryAfterMs > 0) {
      throw apiError(ErrorCode.RateLimited, `Too many typing updates: at most ${limit} per ${windowMs / 1000} s. Retry in ${retryAfterMs} ms.`, {
        retryAfterMs,
      });
    }
  };

  return {
    /** Publishes that `player` is (not) typing in a game they play in; true when published. */
    async setTyping(player: PlayerRef, codeInput: string, typing: boolean): Promise<boolean> {
      const { code } = await games.requirePlayer(codeInput, player.id);
      await admit(player.id);
      const key = `${code}:${player.id}`;
      clearTimeout(expiries.get(key));
      expiries.delete(key);
      if (typing) {
        expiries.set(
          key,
          setTimeout(() => {
            expiries.delete(key);
            void events.publishEphemeral(Streams.game(code), 'PlayerTyping', { player, typing: false });
          }, expireMs),
        );
      }
      await events.publishEphemeral(Streams.game(code), 'PlayerTyping', { player, typing });
      return true;
    },

    /** Stops every pending expiry. */
    dispose() {
      for (const timer of expiries.values()) clearTimeout(timer);
      expiries.clear();
    },
  };
}
