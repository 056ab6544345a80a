import { describe, expect, it } from 'vitest';
import { createLeaderLease, type LeaderLease } from '../../server/events/leadership.js';
import { createLogger } from '../../server/logger.js';
import { eventually, subscribe, onTeardown, wsClient } from '../support/harness.js';
import {
  createTestDatabase,
  instanceRedis,
  randomSuffix,
  redisClient,
  redisUrl,
  servicesAvailable,
  spawnInstance,
  startPrivateRedis,
  testRedisPrefix,
  type Instance,
  type LogLine,
} from '../support/scale.js';

const available = await servicesAvailable();
const logger = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');

/**
 * Leases on one key whose work records how many leaders run at once; any
 * moment with two is recorded as an overlap.
 */
async function contenders(count: number, options: { url?: string; ttlMs?: number } = {}) {
  const key = `${testRedisPrefix()}leader:test`;
  const state = { running: 0, overlaps: 0, started: 0 };
  // One instance's connections per contender, as if each ran in its own process.
  const connections = await Promise.all(Array.from({ length: count }, () => instanceRedis(options.url ?? redisUrl)));
  const leases: LeaderLease[] = connections.map((redis, i) => {
    const lease = createLeaderLease({
      redis: redis.commands,
      location: redis.location,
      key,
      name: 'test work',
      ttlMs: options.ttlMs ?? 600,
      instanceId: `contender-${i}-${randomSuffix()}`,
      logger,
      lead: () => {
        state.started++;
        if (++state.running > 1) state.overlaps++;
        return { dispose: async () => void state.running-- };
      },
    });
    onTeardown(() => lease.dispose());
    return lease;
  });
  const leaders = () => leases.filter((lease) => lease.isLeader());
  return { key, state, leases, leaders };
}

const acquired = (line: LogLine) => line.msg === 'market simulator: leadership acquired';

describe.skipIf(!available)('simulator leadership', () => {
  it('should let exactly one of three instances lead and hand over when the leader leaves', async () => {
    const { key, state, leaders } = await contenders(3);
    const redis = redisClient();
    const [first] = await eventually(() => leaders().length === 1 && leaders(), 'a leader');
    expect(await redis.get(key)).toBe(first!.instanceId);
    await first!.dispose();
    const [second] = await eventually(() => leaders().length === 1 && leaders(), 'a new leader');
    expect(second).not.toBe(first);
    expect(await redis.get(key)).toBe(second!.instanceId);
    expect(state).toMatchObject({ running: 1, overlaps: 0, started: 2 });
  });

  it('should step down when another holder overwrote the lease, and lead again once it is free', async () => {
    const { key, state, leaders } = await contenders(1);
    const redis = redisClient();
    await eventually(() => leaders().length === 1, 'leadership');
    await redis.set(key, 'someone-else', 'PX', 60_000);
    await eventually(() => leaders().length === 0, 'stepping down after a failed compare-and-set');
    expect(state.running).toBe(0);
    await redis.del(key);
    await eventually(() => leaders().length === 1, 'leadership again');
    expect(state).toMatchObject({ running: 1, overlaps: 0, started: 2 });
  });

  it('should stop leading before its lease can expire when Redis is unreachable, and lead again when it is back', async () => {
    const privateRedis = await startPrivateRedis();
    const { state, leaders } = await contenders(2, { url: privateRedis.url, ttlMs: 900 });
    await eventually(() => leaders().length === 1, 'a leader');
    await privateRedis.stop();
    const stoppedAt = Date.now();
    await eventually(() => state.running === 0, 'the leader to stop its work', 3_000, 10);
    expect(Date.now() - stoppedAt).toBeLessThan(900);
    await privateRedis.start(); // empty: the old lease is gone with it
    await eventually(() => leaders().length === 1, 'a leader after the restart', 10_000);
    expect(state.overlaps).toBe(0);
  });

  it('should run the simulator on exactly one of three processes and fail over when the leader is SIGKILLed', { timeout: 60_000 }, async () => {
    const db = await createTestDatabase();
    const prefix = testRedisPrefix();
    const ttlMs = 1_500;
    const env = { DATABASE_URL: db.url, REDIS_URL: redisUrl, REDIS_PREFIX: prefix, MARKET_TICK_MS: '200', LEADER_LEASE_MS: String(ttlMs) };
    const instances = await Promise.all(['A', 'B', 'C'].map((name) => spawnInstance(name, env)));
    const redis = redisClient();
    const key = `${prefix}leader:market-simulator`;
    const leadersOf = (pool: Instance[]) => pool.filter((i) => i.logs.some(acquired));

    const leader = await Promise.race(instances.map((i) => i.waitForLog(acquired).then(() => i)));
    const leaderId = (await leader.waitForLog(acquired)).instanceId;
    expect(await redis.get(key)).toBe(leaderId);
    const followers = instances.filter((i) => i !== leader);

    // A follower serves the leader's ticks.
    const ticks = subscribe(wsClient(followers[0]!.url), 'subscription { stockTicked(symbols: ["IRON"]) { price at } }');
    await ticks.next(5_000);
    expect(leadersOf(instances)).toEqual([leader]);

    leader.kill('SIGKILL');
    await leader.exited;
    const killedAt = Date.now();
    const successor = await Promise.race(followers.map((i) => i.waitForLog(acquired, 10_000).then(() => i)));
    expect(Date.now() - killedAt).toBeLessThan(2 * ttlMs + 1_000); // expiry (≤ ttl) + one try (ttl/3) + process scheduling
    expect(leadersOf(followers)).toEqual([successor]);
    expect(await redis.get(key)).toBe((await successor.waitForLog(acquired)).instanceId);
    // The market moves again, served by the follower that was subscribed all along.
    await eventually(async () => Date.parse((await ticks.next(5_000)).stockTicked.at) > killedAt, 'a tick after the failover');

    // A graceful stop releases the lease: the last one takes over without waiting for it to expire.
    const last = followers.find((i) => i !== successor)!;
    await successor.stop();
    const releasedAt = Date.now();
    await last.waitForLog(acquired, 5_000);
    expect(Date.now() - releasedAt).toBeLessThan(ttlMs);
  });
});
