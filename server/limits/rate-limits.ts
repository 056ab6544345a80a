import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, RLWrapperTimeouts, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { apiError, ErrorCode } from '../errors.js';
import type { Rate } from './durations.js';

/**
 * The rate-limited kinds of calls, each with its own allowance per key
 * (its `*Rate` setting in `server/config.ts`), all counted here. Where each
 * is charged: `operationPlayer` and `operationAddress` by
 * `useOperationRateLimit` (`./plugins.ts`), `joinCodeMiss` by
 * `limitCodeGuesses` (`./guards.ts`), `signIn` by its mutation
 * (`schema/players.ts`), `createGame` and `turn` by theirs
 * (`schema/games.ts`). The `setTyping` limit is the typing service's own
 * sliding window, shared through Redis by `./redis-typing-limit.ts`.
 */
export const rateLimitNames = ['operationPlayer', 'operationAddress', 'signIn', 'createGame', 'turn', 'joinCodeMiss'] as const;
export type RateLimitName = (typeof rateLimitNames)[number];

/** What each limit counts, for error messages. */
const described: Record<RateLimitName, string> = {
  operationPlayer: 'operations from this player',
  operationAddress: 'operations from this address',
  signIn: 'sign-ins from this address',
  createGame: 'games created',
  turn: 'choices and turn resolutions',
  joinCodeMiss: 'unknown join codes tried',
};

export interface RateLimitsOptions {
  /** Allowance of each limit. */
  rates: Record<RateLimitName, Rate>;
  /**
   * With Redis (the instance's command connection, `RedisConnections.commands`,
   * left open on dispose), every instance counts in the same Redis.
   * @default undefined (this instance only)
   */
  redis?: Redis;
  /** Prefix of the Redis keys: `<prefix>limit:<name>:<key>`. @default 'realmcast:' */
  prefix?: string;
  /** Longest a decision waits for Redis before this instance counts alone. @default 500 // ms */
  timeoutMs?: number;
}

/** Rate limits keyed by player or client address (fixed windows). */
export interface RateLimits {
  /**
   * Counts one call against every key; `RATE_LIMITED` with
   * `extensions.retryAfterMs` when any of them is over its allowance
   * (with `httpStatus` 429 and `Retry-After` when refused before execution).
   */
  consume(name: RateLimitName, keys: readonly string[], httpStatus?: 429): Promise<void>;
  /** Refuses with `RATE_LIMITED` when any key has used up its allowance, without counting a call. */
  check(name: RateLimitName, keys: readonly string[]): Promise<void>;
}

/** The error of a call over its allowance; `httpStatus` only for errors raised before execution. */
export function rateLimited(name: RateLimitName, rate: Rate, retryAfterMs: number, httpStatus?: number) {
  const retryAfterSeconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  const error = apiError(
    ErrorCode.RateLimited,
    `Too many ${described[name]}: at most ${rate.points} per ${rate.seconds} s. Retry in ${retryAfterMs} ms.`,
    { retryAfterMs, limit: name },
    httpStatus,
  );
  // Yoga copies `http.headers` onto the response.
  if (httpStatus) (error.extensions.http as { headers?: Record<string, string> }).headers = { 'Retry-After': String(retryAfterSeconds) };
  return error;
}

/**
 * Every limit is a rate-limiter-flexible limiter: in Redis when `redis`
 * is given (one allowance shared by every instance), with an in-memory
 * insurance limiter that takes over while Redis does not answer; in memory
 * otherwise. Memory limiters forget a key when its window ends, so they hold
 * at most one entry per key active in the last window.
 */
export function createRateLimits(options: RateLimitsOptions): RateLimits {
  const { rates, redis, prefix = 'realmcast:', timeoutMs = 500 } = options;
  const limiters = Object.fromEntries(
    rateLimitNames.map((name) => {
      const { points, seconds: duration } = rates[name];
      const memory = new RateLimiterMemory({ points, duration, keyPrefix: name });
      // The connection is shared, so it has no timeout of its own: the wrapper
      // bounds each decision, and the insurance limiter takes over on a timeout
      // or a failure alike.
      const limiter: RateLimiterAbstract = redis
        ? new RLWrapperTimeouts({
            limiter: new RateLimiterRedis({ storeClient: redis, points, duration, keyPrefix: `${prefix}limit:${name}`, rejectIfRedisNotReady: true }),
            timeoutMs,
            insuranceLimiter: memory,
          })
        : memory;
      return [name, limiter];
    }),
  ) as Record<RateLimitName, RateLimiterAbstract>;

  const refuse = (name: RateLimitName, res: RateLimiterRes, httpStatus?: number): never => {
    throw rateLimited(name, rates[name], Math.max(1, res.msBeforeNext), httpStatus);
  };

  return {
    async consume(name, keys, httpStatus) {
      for (const key of keys) {
        try {
          await limiters[name].consume(key);
        } catch (error) {
          if (error instanceof RateLimiterRes) refuse(name, error, httpStatus);
          throw error;
        }
      }
    },
    async check(name, keys) {
      for (const key of keys) {
        const res = await limiters[name].get(key);
        if (res && res.consumedPoints >= rates[name].points) refuse(name, res);
      }
    },
  };
}
