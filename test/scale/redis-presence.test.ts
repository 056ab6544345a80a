import { describe, expect, it } from 'vitest';
import type { PlayerRef } from '../../server/events/topics.js';
import { createRedisPresenceTracker, type RedisPresenceOptions } from '../../server/presence/redis.js';
import type { PresenceTracker } from '../../server/presence/tracker.js';
import { onTeardown } from '../support/harness.js';
import { instanceRedis, randomSuffix, redisUrl, servicesAvailable, startTcpProxy, testRedisPrefix } from '../support/scale.js';

const available = await servicesAvailable({ redis: true });

interface Transition {
  code: string;
  player: string;
  online: boolean;
  at: string;
  /** Which tracker emitted it. */
  by: string;
  /** When it reached the hook (ms). */
  receivedAt: number;
}

/**
 * A cluster of trackers on one Redis under a prefix of its own, recording
 * every transition any of them emits into one list.
 */
function cluster(defaults: Partial<RedisPresenceOptions> = {}) {
  const prefix = testRedisPrefix();
  const transitions: Transition[] = [];
  const changes: string[] = [];
  const errors: { by: string; error: unknown }[] = [];
  const listeners = new Set<() => void>();
  const trackers: Record<string, PresenceTracker> = {};

  /** A tracker on connections of its own, as one instance has (through Redis at `url`). */
  const tracker = async (name: string, { url = redisUrl, ...options }: Partial<RedisPresenceOptions> & { url?: string } = {}) => {
    const redis = await instanceRedis(url);
    const created = createRedisPresenceTracker({
      redis: redis.commands,
      prefix,
      instanceId: `${name}-${randomSuffix()}`,
      graceMs: 300,
      ttlMs: 900,
      sweepIntervalMs: 100,
      ...defaults,
      ...options,
      async onTransition(code, player, online, at) {
        transitions.push({ code, player: player.name, online, at, by: name, receivedAt: Date.now() });
        for (const listener of listeners) listener();
      },
      onChange: (code) => void changes.push(`${name}:${code}`),
      onError: (error) => void errors.push({ by: name, error }),
    });
    onTeardown(() => created.dispose());
    return (trackers[name] = created);
  };

  /** Resolves with the first transition (past or future) matching `predicate`. */
  const transition = (predicate: (t: Transition) => boolean, what: string, timeoutMs = 5_000) =>
    new Promise<Transition>((resolve, reject) => {
      const check = () => {
        const found = transitions.find(predicate);
        if (!found) return;
        cleanup();
        resolve(found);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`no transition "${what}" within ${timeoutMs} ms; saw ${JSON.stringify(transitions)}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        listeners.delete(check);
      };
      listeners.add(check);
      check();
    });

  const of = (player: string) => transitions.filter((t) => t.player === player).map((t) => (t.online ? 'online' : 'offline'));
  return { tracker, transition, transitions, changes, errors, of, trackers };
}

const player = (name: string): PlayerRef => ({ id: `${name.toLowerCase()}-${randomSuffix()}`, name, role: 'PLAYER' });
const gameCode = () => `G${randomSuffix().toUpperCase()}`;

describe.skipIf(!available)('Redis presence tracker', () => {
  it('should show a player held on one instance as online in another instance’s snapshot', async () => {
    const { tracker, transition, changes } = cluster();
    const a = await tracker('A');
    const b = await tracker('B');
    const code = gameCode();
    const ada = player('Ada');

    expect(await b.snapshot(code)).toEqual([]);
    const before = Date.now();
    await a.hold(code, ada);
    expect(await transition((t) => t.player === 'Ada', 'Ada online')).toMatchObject({ code, online: true, by: 'A' });
    const [seen] = await b.snapshot(code);
    expect(seen).toEqual({ playerId: ada.id, connections: 1, lastSeenAt: expect.any(String) });
    expect(Date.parse(seen!.lastSeenAt)).toBeGreaterThanOrEqual(before - 1_000);
    expect(changes).toContain(`A:${code}`);

    await b.hold(code, ada);
    expect(await a.snapshot(code)).toEqual([{ playerId: ada.id, connections: 2, lastSeenAt: expect.any(String) }]);
  });

  it('should emit online and offline exactly once for concurrent holds on two instances', async () => {
    const { tracker, transition, transitions, of, errors } = cluster();
    const [a, b] = await Promise.all([tracker('A'), tracker('B')]);
    const code = gameCode();
    const ada = player('Ada');

    const releases = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).hold(code, ada)));
    expect(of('Ada')).toEqual(['online']);
    expect((await a.snapshot(code))[0]).toMatchObject({ connections: 10 });

    // All but one released: still online, no event.
    await Promise.all(releases.slice(1).map((release) => release()));
    expect((await b.snapshot(code))[0]).toMatchObject({ playerId: ada.id, connections: 1 });
    const lastReleasedAt = Date.now();
    await releases[0]!();
    expect((await b.snapshot(code))[0]).toMatchObject({ playerId: ada.id, connections: 0 });

    const offline = await transition((t) => !t.online, 'Ada offline');
    expect(offline.receivedAt - lastReleasedAt).toBeGreaterThanOrEqual(290);
    expect(await a.snapshot(code)).toEqual([]);
    expect(of('Ada')).toEqual(['online', 'offline']);
    expect(transitions.every((t) => t.code === code)).toBe(true);
    expect(errors).toEqual([]);
  });

  it('should not flap a player who reconnects to another instance within the grace period', async () => {
    const { tracker, transition, of } = cluster({ graceMs: 600 });
    const [a, b] = await Promise.all([tracker('A'), tracker('B')]);
    const code = gameCode();
    const [ada, bob] = [player('Ada'), player('Bob')];
    const releaseAda = await a.hold(code, ada);
    const releaseBob = await a.hold(code, bob);

    // Ada drops first, then Bob: were Ada's offline not cancelled by her
    // reconnect to B, it would come before Bob's (same game, earlier deadline).
    await releaseAda();
    await b.hold(code, ada);
    await releaseBob();
    await transition((t) => t.player === 'Bob' && !t.online, 'Bob offline');

    expect(of('Ada')).toEqual(['online']);
    expect(of('Bob')).toEqual(['online', 'offline']);
    expect(await a.snapshot(code)).toEqual([{ playerId: ada.id, connections: 1, lastSeenAt: expect.any(String) }]);
  });

  it('should start the grace period at once when an instance shuts down, and let another instance emit the offline', async () => {
    // A long TTL: the offline can only come from the released holds, not from expiry.
    const { tracker, transition, of } = cluster({ ttlMs: 30_000 });
    const [a] = await Promise.all([tracker('A'), tracker('B')]);
    const code = gameCode();
    const ada = player('Ada');
    await a.hold(code, ada);
    await a.hold(code, ada);

    const stoppedAt = Date.now();
    await a.dispose();
    const offline = await transition((t) => !t.online, 'Ada offline');
    expect(offline.by).toBe('B');
    expect(offline.receivedAt - stoppedAt).toBeGreaterThanOrEqual(290);
    expect(offline.receivedAt - stoppedAt).toBeLessThan(300 + 100 + 1_000);
    expect(of('Ada')).toEqual(['online', 'offline']);
  });

  it('should expire the holds of an instance that stops renewing them, and emit one offline within ttl + grace + sweep', async () => {
    const [host, port] = new URL(redisUrl).host.split(':');
    const proxy = await startTcpProxy({ host: host!, port: Number(port ?? 6379) });
    const { tracker, transition, of, trackers, errors } = cluster();
    const a = await tracker('A', { url: `redis://127.0.0.1:${proxy.port}` });
    await tracker('B');
    await tracker('C');
    const code = gameCode();
    const ada = player('Ada');
    await a.hold(code, ada);
    await transition((t) => t.online, 'Ada online');

    // A is cut off from Redis as by a crash: its connections live on, but nobody renews their holds.
    const cutAt = Date.now();
    await proxy.cut();
    // Meanwhile A answers from what it knows: its own connections.
    expect(await a.snapshot(code)).toEqual([{ playerId: ada.id, connections: 1, lastSeenAt: expect.any(String) }]);
    const offline = await transition((t) => !t.online, 'Ada offline', 5_000);
    const boundMs = 900 + 300 + 100;
    expect(offline.receivedAt - cutAt).toBeLessThan(boundMs + 1_000);
    expect(offline.by).not.toBe('A');
    // Last seen: A's last renewal, before the cut.
    expect(Date.parse(offline.at)).toBeLessThanOrEqual(cutAt + 50);
    expect(await trackers.B!.snapshot(code)).toEqual([]);

    // A reaches Redis again with Ada still connected: its next renewal brings her back, once.
    await proxy.restore();
    const back = await transition((t) => t.online && t.receivedAt > offline.receivedAt, 'Ada back online');
    expect(back.by).toBe('A');
    expect(await trackers.C!.snapshot(code)).toEqual([{ playerId: ada.id, connections: 1, lastSeenAt: expect.any(String) }]);
    expect(of('Ada')).toEqual(['online', 'offline', 'online']);
    // Only the cut-off instance had anything to complain about.
    expect(errors.filter((e) => e.by !== 'A')).toEqual([]);
  });

  it('should keep games apart and report players in several games independently', async () => {
    const { tracker, transition, of } = cluster();
    const [a, b] = await Promise.all([tracker('A'), tracker('B')]);
    const [one, two] = [gameCode(), gameCode()];
    const ada = player('Ada');
    const releaseOne = await a.hold(one, ada);
    await b.hold(two, ada);
    await releaseOne();
    const offline = await transition((t) => !t.online, 'Ada offline in one game');
    expect(offline.code).toBe(one);
    expect(await a.snapshot(one)).toEqual([]);
    expect(await a.snapshot(two)).toEqual([{ playerId: ada.id, connections: 1, lastSeenAt: expect.any(String) }]);
    expect(of('Ada')).toEqual(['online', 'online', 'offline']);
  });
});
