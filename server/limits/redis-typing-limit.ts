import type { SharedTypingLimit } from '../domain/typing.js';
import type { Redis } from 'ioredis';
import { bounded } from '../events/redis-connections.js';

export interface RedisTypingLimitOptions {
  /** Redis holding the call windows: the instance's command connection (`RedisConnections.commands`), left open on dispose. */
  redis: Redis;
  /** Prefix of every key; keys are `<prefix>typing:calls:<playerId>`. @default '' */
  prefix?: string;
  /** Where Redis failures go (then each instance decides alone until Redis answers). */
  onError(error: unknown): void;
  /** Longest a decision may wait for Redis before the instance decides alone. @default 500 // ms */
  timeoutMs?: number;
}

/**
 * A sliding window of call times per player, in a sorted set: drops the calls
 * older than the window, then admits (records the call, returns 0) or
 * returns how long until the oldest call leaves the window. Redis' clock.
 * ARGV: limit, windowMs, a unique member.
 */
const admitScript = /* lua */ `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit, window = tonumber(ARGV[1]), tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return math.max(1, tonumber(oldest[2]) + window - now)
end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], window)
return 0
`;

/**
 * The `setTyping` rate limit shared by every instance through Redis, so a
 * player whose calls land on different instances (HTTP behind a balancer)
 * gets one allowance, not one per instance. Fails open: while Redis does not
 * answer, it resolves `null` and each instance applies the limit alone.
 */
export function createRedisTypingLimit(options: RedisTypingLimitOptions): SharedTypingLimit {
  const { redis, prefix = '', onError, timeoutMs = 500 } = options;
  redis.defineCommand('realmcastTypingAdmit', { numberOfKeys: 1, lua: admitScript });
  const admit = (redis as unknown as { realmcastTypingAdmit(...args: (string | number)[]): Promise<number> }).realmcastTypingAdmit.bind(redis);
  let calls = 0;
  let failing = false;

  return {
    async admit(playerId, limit, windowMs) {
      try {
        const retryAfterMs = await bounded(admit(`${prefix}typing:calls:${playerId}`, limit, windowMs, `${process.pid}:${++calls}:${Math.random()}`), timeoutMs);
        failing = false;
        return Number(retryAfterMs);
      } catch (error) {
        if (!failing) onError(error);
        failing = true;
        return null;
      }
    },
  };
}
