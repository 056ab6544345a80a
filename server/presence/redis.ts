import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { ChainableCommander, Redis } from 'ioredis';
import { bounded } from '../events/redis-connections.js';
import type { PlayerRef } from '../events/topics.js';
import type { Release } from '../release.js';
import { createHookRunner, type OnlinePlayer, type PresenceHooks, type PresenceTracker } from './tracker.js';

/** The hooks of {@link PresenceHooks}, where presence lives in Redis, and its timings. */
export interface RedisPresenceOptions extends PresenceHooks {
  /**
   * Redis holding presence: the instance's command connection
   * (`RedisConnections.commands`), shared and left open on dispose. Each
   * command gives up after `max(1 s, ttlMs / 3)`.
   */
  redis: Redis;
  /** Prefix of every key, so worlds can share one Redis; keys are `<prefix>presence:…`. @default '' */
  prefix?: string;
  /** Identifies this instance inside hold entries. @default `${hostname}:${pid}:${random}` */
  instanceId?: string;
  /** How long a player stays online after their last connection ends (on any instance). @default 5_000 // 5 seconds */
  graceMs?: number;
  /**
   * How long a connection's hold lives in Redis without renewal: the longest
   * a crashed instance's connections still count. The holding instance
   * renews its holds every third of this. @default 10_000 // 10 seconds
   */
  ttlMs?: number;
  /**
   * How often this instance looks for games with expired holds or ended
   * grace periods (any instance's). A player whose instance crashed goes
   * offline at most `ttlMs + graceMs + sweepIntervalMs` after the crash.
   * @default 1_000 // 1 second
   */
  sweepIntervalMs?: number;
}

/**
 * Key layout, per game `<code>` (all under `<prefix>presence:`):
 *
 * - `<code>:holds` sorted set of `playerId|instanceId|holdId`, one per live
 *   connection, scored by its expiry (ms, Redis clock);
 * - `<code>:online` hash playerId → player JSON: the players online right
 *   now, connected or in their grace period. `HSETNX` on it decides the
 *   online transition and `HDEL` the offline one, each inside a script, so
 *   exactly one instance emits each;
 * - `<code>:seen` hash playerId → when one of their connections last opened
 *   or closed (ms);
 * - `<code>:grace` sorted set of playerId scored by when they go offline
 *   unless a connection comes back;
 *
 * and `due`, a sorted set of game codes scored by each game's next deadline
 * (earliest hold expiry or grace end): the index sweepers read to find the
 * games that need settling, including those whose holders died.
 */
const keyNames = ['holds', 'online', 'seen', 'grace', 'due'] as const;

/** Lua shared by every script. Times come from Redis (`TIME`), so instances' clocks never disagree. */
const luaCommon = /* lua */ `
local K = { holds = KEYS[1], online = KEYS[2], seen = KEYS[3], grace = KEYS[4], due = KEYS[5] }
local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function playerOf(member)
  return string.sub(member, 1, string.find(member, '|', 1, true) - 1)
end
local function holdsLive(player, now)
  local prefix = player .. '|'
  for _, member in ipairs(redis.call('ZRANGEBYSCORE', K.holds, '(' .. now, '+inf')) do
    if string.sub(member, 1, #prefix) == prefix then return true end
  end
  return false
end
-- Files the game under its next deadline in the due index, or takes it out when nothing is left to settle.
local function reschedule(code, now)
  local nextAt = nil
  local hold = redis.call('ZRANGE', K.holds, 0, 0, 'WITHSCORES')
  if hold[2] then nextAt = tonumber(hold[2]) end
  local grace = redis.call('ZRANGE', K.grace, 0, 0, 'WITHSCORES')
  if grace[2] and (not nextAt or tonumber(grace[2]) < nextAt) then nextAt = tonumber(grace[2]) end
  -- Online without a hold or a deadline (keys lost): a sweep settles it.
  if not nextAt and redis.call('HLEN', K.online) > 0 then nextAt = now end
  if nextAt then redis.call('ZADD', K.due, nextAt, code) else redis.call('ZREM', K.due, code) end
end
`;

/**
 * Adds or renews holds: ARGV code, ttlMs, fresh (1: new connections, 0: a
 * renewal), then member, playerId, playerJson for each hold. A renewal puts
 * back a hold that a sweeper already expired (this instance was cut off but
 * its connections lived on). Returns now, changed (0/1), then the JSON of
 * every player who went online.
 */
const holdScript = /* lua */ `${luaCommon}
local now = nowMs()
local code, ttl, fresh = ARGV[1], tonumber(ARGV[2]), ARGV[3] == '1'
local changed = 0
local result = { now, 0 }
for i = 4, #ARGV, 3 do
  local member, player, json = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local added = redis.call('ZADD', K.holds, now + ttl, member)
  redis.call('ZREM', K.grace, player)
  local wentOnline = redis.call('HSETNX', K.online, player, json)
  if fresh or wentOnline == 1 then redis.call('HSET', K.seen, player, now) end
  if fresh or added == 1 or wentOnline == 1 then changed = 1 end
  if wentOnline == 1 then table.insert(result, json) end
end
reschedule(code, now)
result[2] = changed
return result
`;

/**
 * Ends one hold: ARGV code, graceMs, member, playerId. When it was the
 * player's last live hold anywhere, their grace period starts. Returns now
 * and the grace deadline (-1 when another connection still holds them).
 */
const releaseScript = /* lua */ `${luaCommon}
local now = nowMs()
local code, grace, member, player = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
redis.call('ZREM', K.holds, member)
local graceUntil = -1
if redis.call('HEXISTS', K.online, player) == 1 then
  redis.call('HSET', K.seen, player, now)
  if not holdsLive(player, now) then
    graceUntil = now + grace
    redis.call('ZADD', K.grace, graceUntil, player)
  end
end
reschedule(code, now)
return { now, graceUntil }
`;

/**
 * Settles a game: ARGV code, graceMs, ttlMs. Expired holds (their instance
 * stopped renewing them) are removed, and their player's grace runs from the
 * expiry; players whose grace ended without a live hold go offline (HDEL:
 * whichever instance runs this first emits it). Returns now, changed (0/1),
 * the delay until the next grace deadline (-1: none), then player JSON and
 * last-seen ms of each player who went offline, earliest deadline first.
 */
const sweepScript = /* lua */ `${luaCommon}
local now = nowMs()
local code, grace, ttl = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local changed = 0
local expired = redis.call('ZRANGEBYSCORE', K.holds, '-inf', now, 'WITHSCORES')
for i = 1, #expired, 2 do
  local member, expiry = expired[i], tonumber(expired[i + 1])
  redis.call('ZREM', K.holds, member)
  changed = 1
  local player = playerOf(member)
  if redis.call('HEXISTS', K.online, player) == 1 and not holdsLive(player, now) then
    local deadline = tonumber(redis.call('ZSCORE', K.grace, player) or 0)
    if expiry + grace > deadline then redis.call('ZADD', K.grace, expiry + grace, player) end
    -- Last seen: the dead instance's last renewal.
    local seen = tonumber(redis.call('HGET', K.seen, player) or 0)
    if expiry - ttl > seen then redis.call('HSET', K.seen, player, expiry - ttl) end
  end
end
local live = {}
for _, member in ipairs(redis.call('ZRANGE', K.holds, 0, -1)) do live[playerOf(member)] = true end
local offline = {}
for _, player in ipairs(redis.call('ZRANGEBYSCORE', K.grace, '-inf', now)) do
  redis.call('ZREM', K.grace, player)
  local json = redis.call('HGET', K.online, player)
  if json and not live[player] then
    table.insert(offline, json)
    table.insert(offline, redis.call('HGET', K.seen, player) or tostring(now))
    redis.call('HDEL', K.online, player)
    redis.call('HDEL', K.seen, player)
    changed = 1
  end
end
for _, player in ipairs(redis.call('HKEYS', K.online)) do
  if not live[player] and not redis.call('ZSCORE', K.grace, player) then
    redis.call('ZADD', K.grace, now + grace, player)
  end
end
reschedule(code, now)
local nextGrace = redis.call('ZRANGE', K.grace, 0, 0, 'WITHSCORES')
local result = { now, changed, nextGrace[2] and (tonumber(nextGrace[2]) - now) or -1 }
for _, value in ipairs(offline) do table.insert(result, value) end
return result
`;

/** Reads a game's presence: now, online hash, seen hash, live hold members. */
const snapshotScript = /* lua */ `${luaCommon}
local now = nowMs()
return { now, redis.call('HGETALL', K.online), redis.call('HGETALL', K.seen), redis.call('ZRANGEBYSCORE', K.holds, '(' .. now, '+inf') }
`;

/** Games due for a sweep: ARGV limit; KEYS[1] the due index. */
const dueScript = /* lua */ `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
`;

/** Games settled per sweep round at most (the rest wait for the next round). */
const sweepBatch = 100;

const scriptNames = ['realmcastPresenceHold', 'realmcastPresenceRelease', 'realmcastPresenceSweep', 'realmcastPresenceSnapshot', 'realmcastPresenceDue'] as const;
type ScriptName = (typeof scriptNames)[number];
type Scripted = Record<ScriptName, (...args: (string | number)[]) => Promise<unknown>>;

const iso = (ms: number | string) => new Date(Number(ms)).toISOString();

/**
 * Presence shared by every instance through Redis, with the behaviour of the
 * in-memory tracker: each live connection is a hold, renewed by its instance
 * every `ttlMs / 3`, so the holds of a crashed instance expire instead of
 * keeping players online forever. Transitions are decided by Lua scripts
 * (HSETNX to go online, a check-and-HDEL to go offline), so each is emitted
 * by exactly one instance, whichever instance the connections were on; a
 * reconnect within the grace period, to any instance, emits nothing.
 *
 * Offline is emitted by the instance that released the last hold (a timer at
 * the grace deadline) or by any instance's periodic sweep of the games that
 * are due; a crashed instance's players go offline within `ttlMs + graceMs +
 * sweepIntervalMs` of the crash.
 *
 * Redis failures never fail a subscription or a query: holds are kept
 * locally and put back (players brought back online) by the renewal once
 * Redis answers again, and meanwhile a snapshot shows this instance's own
 * connections. Failures go to `onError`, each distinct one once until Redis
 * answers again.
 */
export function createRedisPresenceTracker(options: RedisPresenceOptions): PresenceTracker {
  const {
    redis,
    prefix = '',
    instanceId = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`,
    graceMs = 5_000,
    ttlMs = 10_000,
    sweepIntervalMs = 1_000,
    onError,
  } = options;
  const renewEveryMs = Math.max(50, Math.floor(ttlMs / 3));
  const commandTimeoutMs = Math.max(1_000, renewEveryMs);
  redis.defineCommand('realmcastPresenceHold', { numberOfKeys: keyNames.length, lua: holdScript });
  redis.defineCommand('realmcastPresenceRelease', { numberOfKeys: keyNames.length, lua: releaseScript });
  redis.defineCommand('realmcastPresenceSweep', { numberOfKeys: keyNames.length, lua: sweepScript });
  redis.defineCommand('realmcastPresenceSnapshot', { numberOfKeys: keyNames.length, lua: snapshotScript });
  redis.defineCommand('realmcastPresenceDue', { numberOfKeys: 1, lua: dueScript });
  // Fail fast, never late: whatever fails is repaired by the renewal when Redis is back.
  const scriptsOf = redis as unknown as Scripted;
  const scripts = Object.fromEntries(
    scriptNames.map((name) => [name, (...args: (string | number)[]) => bounded(scriptsOf[name](...args), commandTimeoutMs)]),
  ) as Scripted;
  const queued = (pipeline: ChainableCommander) => pipeline as unknown as Scripted;
  const run = (pipeline: ChainableCommander) => bounded(pipeline.exec(), commandTimeoutMs);

  const base = `${prefix}presence:`;
  const dueKey = `${base}due`;
  const keysOf = (code: string) => [`${base}${code}:holds`, `${base}${code}:online`, `${base}${code}:seen`, `${base}${code}:grace`, dueKey];

  /** This instance's live holds: game → member → player and when it opened. */
  const holds = new Map<string, Map<string, { player: PlayerRef; openedAt: string }>>();
  /** Per game, a timer at the earliest grace deadline this instance knows of. */
  const graceTimers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  /** Redis work under way, awaited by dispose. */
  const running = new Set<Promise<unknown>>();
  let holdCount = 0;
  let disposed = false;

  let everReady = redis.status === 'ready';
  /**
   * Waits a little for the first connection (right after start); once
   * connected, commands fail at once while Redis is away (they are never queued).
   */
  const connected = (): Promise<void> =>
    redis.status === 'ready' || everReady
      ? Promise.resolve()
      : new Promise((resolve, reject) => {
          const onReady = () => {
            clearTimeout(timer);
            resolve();
          };
          const timer = setTimeout(() => {
            redis.off('ready', onReady);
            reject(new Error(`presence: Redis not connected within ${commandTimeoutMs} ms`));
          }, commandTimeoutMs);
          redis.once('ready', onReady);
        });

  const track = <T>(work: Promise<T>): Promise<T> => {
    running.add(work);
    void work.finally(() => running.delete(work)).catch(() => {});
    return work;
  };

  const { transition, changed, settled } = createHookRunner(options);

  // Redis failures repeat while it is away (every renewal, sweep, hold): report each distinct one once.
  let lastBackgroundError: string | undefined;
  const backgroundFailed = (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    if (message !== lastBackgroundError) onError(error);
    lastBackgroundError = message;
  };

  /** Emits what a hold script decided. */
  const afterHold = async (code: string, result: unknown[]) => {
    const [now, didChange, ...wentOnline] = result as [number, number, ...string[]];
    for (const json of wentOnline) await transition(code, JSON.parse(json) as PlayerRef, true, iso(now));
    if (didChange) await changed(code);
  };

  /** Emits what a sweep script decided, and times the next grace deadline. */
  const afterSweep = async (code: string, result: unknown[]) => {
    const [now, didChange, nextGraceInMs, ...offline] = result as [number, number, number, ...string[]];
    if (nextGraceInMs >= 0) armGraceTimer(code, nextGraceInMs);
    for (let i = 0; i < offline.length; i += 2) {
      await transition(code, JSON.parse(offline[i]!) as PlayerRef, false, iso(offline[i + 1] ?? now));
    }
    if (didChange) await changed(code);
  };

  const sweep = (code: string) =>
    track(
      (async () => {
        if (disposed) return;
        await connected();
        const result = (await scripts.realmcastPresenceSweep(...keysOf(code), code, graceMs, ttlMs)) as unknown[];
        await afterSweep(code, result);
      })(),
    );

  function armGraceTimer(code: string, inMs: number) {
    if (disposed) return;
    const at = Date.now() + inMs;
    const armed = graceTimers.get(code);
    if (armed && armed.at <= at) return;
    clearTimeout(armed?.timer);
    // A few ms late on purpose: by then the deadline has passed on Redis' clock too.
    const timer = setTimeout(() => {
      graceTimers.delete(code);
      sweep(code).catch(backgroundFailed);
    }, inMs + 5);
    graceTimers.set(code, { at, timer });
  }

  /** Renews every hold of this instance, putting back any that a sweeper expired meanwhile. */
  const renew = () =>
    track(
      (async () => {
        // Not connected: the 'ready' listener renews as soon as it is.
        if (disposed || holds.size === 0 || redis.status !== 'ready') return;
        const codes = [...holds.keys()];
        const pipeline = redis.pipeline();
        for (const code of codes) {
          const args = [...holds.get(code)!].flatMap(([member, { player }]) => [member, player.id, JSON.stringify(player)]);
          queued(pipeline).realmcastPresenceHold(...keysOf(code), code, ttlMs, 0, ...args);
        }
        const results = (await run(pipeline)) ?? [];
        await Promise.all(
          results.map(([error, result], i) => (error ? Promise.reject(error) : afterHold(codes[i]!, result as unknown[]))),
        );
        lastBackgroundError = undefined;
      })(),
    );

  /** Settles every game that is due, whichever instance held its connections. */
  const sweepDue = () =>
    track(
      (async () => {
        if (disposed || redis.status !== 'ready') return;
        const codes = (await scripts.realmcastPresenceDue(dueKey, sweepBatch)) as string[];
        if (codes.length === 0) return;
        const pipeline = redis.pipeline();
        for (const code of codes) queued(pipeline).realmcastPresenceSweep(...keysOf(code), code, graceMs, ttlMs);
        const results = (await run(pipeline)) ?? [];
        await Promise.all(
          results.map(([error, result], i) => (error ? Promise.reject(error) : afterSweep(codes[i]!, result as unknown[]))),
        );
        lastBackgroundError = undefined;
      })(),
    );

  const renewTimer = setInterval(() => renew().catch(backgroundFailed), renewEveryMs);
  const sweepTimer = setInterval(() => sweepDue().catch(backgroundFailed), sweepIntervalMs);
  renewTimer.unref();
  sweepTimer.unref();
  // Back from an outage: put the holds back at once, not a period later.
  const onReady = () => {
    everReady = true;
    renew().catch(backgroundFailed);
  };
  redis.on('ready', onReady);

  /** This instance's own connections to `code`, as a snapshot. */
  const localSnapshot = (code: string): OnlinePlayer[] => {
    const players = new Map<string, OnlinePlayer>();
    for (const { player, openedAt } of holds.get(code)?.values() ?? []) {
      const known = players.get(player.id);
      if (known) {
        known.connections += 1;
        if (openedAt > known.lastSeenAt) known.lastSeenAt = openedAt;
      } else players.set(player.id, { playerId: player.id, connections: 1, lastSeenAt: openedAt });
    }
    return [...players.values()];
  };

  return {
    async hold(code, player) {
      if (disposed) return async () => {};
      const member = `${player.id}|${instanceId}|${(++holdCount).toString(36)}`;
      let players = holds.get(code);
      if (!players) holds.set(code, (players = new Map()));
      players.set(member, { player, openedAt: new Date().toISOString() });
      try {
        const result = (await track(
          connected().then(() => scripts.realmcastPresenceHold(...keysOf(code), code, ttlMs, 1, member, player.id, JSON.stringify(player))),
        )) as unknown[];
        await afterHold(code, result);
      } catch (error) {
        // Kept locally: the next renewal puts it into Redis.
        backgroundFailed(error);
      }

      let released = false;
      const release: Release = async () => {
        if (released) return;
        released = true;
        const mine = holds.get(code);
        // Gone already when dispose released it.
        if (!mine?.delete(member)) return;
        if (mine.size === 0) holds.delete(code);
        try {
          const [now, graceUntil] = (await track(
            connected().then(() => scripts.realmcastPresenceRelease(...keysOf(code), code, graceMs, member, player.id)),
          )) as [number, number];
          if (graceUntil >= 0) armGraceTimer(code, graceUntil - now);
          await changed(code);
        } catch (error) {
          // The hold expires within ttlMs instead.
          backgroundFailed(error);
        }
      };
      return release;
    },

    async snapshot(code): Promise<OnlinePlayer[]> {
      let reply: [number, string[], string[], string[]];
      try {
        await connected();
        reply = (await scripts.realmcastPresenceSnapshot(...keysOf(code), code)) as typeof reply;
      } catch (error) {
        // Redis away: what this instance knows (its own connections) beats failing every game query.
        backgroundFailed(error);
        return localSnapshot(code);
      }
      const [now, online, seen, live] = reply;
      const seenAt = new Map<string, string>();
      for (let i = 0; i < seen.length; i += 2) seenAt.set(seen[i]!, seen[i + 1]!);
      const connections = new Map<string, number>();
      for (const member of live) {
        const playerId = member.slice(0, member.indexOf('|'));
        connections.set(playerId, (connections.get(playerId) ?? 0) + 1);
      }
      const players: OnlinePlayer[] = [];
      for (let i = 0; i < online.length; i += 2) {
        const playerId = online[i]!;
        const lastSeen = seenAt.get(playerId);
        // (No last-seen time only if keys were lost: then "now" is the best guess.)
        players.push({ playerId, connections: connections.get(playerId) ?? 0, lastSeenAt: iso(lastSeen ?? now) });
      }
      return players;
    },

    async dispose() {
      // Releases this instance's holds so their grace periods start now, but
      // leaves the offline transitions to the other instances' sweeps: a
      // player reconnecting elsewhere within the grace period must not flap.
      if (disposed) return;
      disposed = true;
      clearInterval(renewTimer);
      clearInterval(sweepTimer);
      for (const { timer } of graceTimers.values()) clearTimeout(timer);
      graceTimers.clear();
      redis.off('ready', onReady);
      const mine = [...holds].flatMap(([code, players]) => [...players].map(([member, { player }]) => ({ code, member, player })));
      holds.clear();
      await Promise.allSettled(running);
      if (mine.length > 0) {
        try {
          const pipeline = redis.pipeline();
          for (const { code, member, player } of mine) {
            queued(pipeline).realmcastPresenceRelease(...keysOf(code), code, graceMs, member, player.id);
          }
          await run(pipeline);
          await Promise.all([...new Set(mine.map((hold) => hold.code))].map(changed));
        } catch (error) {
          // Unreachable: the holds expire within ttlMs instead.
          onError(error);
        }
      }
      await settled();
    },
  };
}
