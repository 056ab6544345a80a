import { beforeAll, describe, expect, it } from 'vitest';
import { createGame, gameEventsQuery, joinGame } from '../support/games.js';
import { errorCode, gql, subscribe, wsClient, type Subscription } from '../support/harness.js';
import { createTestDatabase, redisClient, redisUrl, servicesAvailable, signToken, spawnInstance, testRedisPrefix, type Instance } from '../support/scale.js';

const available = await servicesAvailable();

/** Short presence timings, so a crash is noticed in seconds. */
const timings = { graceMs: 1_000, ttlMs: 4_000, sweepMs: 100 };
/** The longest a killed instance's players stay online (docs/scaling-out.md, "Presence across instances"). */
const crashBoundMs = timings.ttlMs + timings.graceMs + timings.sweepMs;

const presenceQuery = /* GraphQL */ `
  subscription Presence($code: String!) {
    presence(code: $code) { onlineCount players { player { name } online lastSeenAt } }
  }
`;
type PresenceSnapshot = { onlineCount: number; players: { player: { name: string }; online: boolean; lastSeenAt: string | null }[] };

/** Takes snapshots until one satisfies `predicate`. */
async function snapshotWhere(sub: Subscription<{ presence: PresenceSnapshot }>, predicate: (p: PresenceSnapshot) => boolean, timeoutMs?: number) {
  for (;;) {
    const { presence } = await sub.next(timeoutMs);
    if (predicate(presence)) return presence;
  }
}
const isOnline = (p: PresenceSnapshot, name: string) => p.players.find((e) => e.player.name === name)?.online;

describe.skipIf(!available)('presence across instances', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let prefix: string;
  let a: Instance, b: Instance, c: Instance;
  let gm: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    prefix = testRedisPrefix();
    const env = {
      DATABASE_URL: db.url,
      REDIS_URL: redisUrl,
      REDIS_PREFIX: prefix,
      PRESENCE_GRACE_MS: String(timings.graceMs),
      PRESENCE_TTL_MS: String(timings.ttlMs),
      PRESENCE_SWEEP_MS: String(timings.sweepMs),
    };
    [a, b, c] = await Promise.all([spawnInstance('A', env), spawnInstance('B', env), spawnInstance('C', env)]);
    gm = (await signToken('GAME_MASTER')).token;
  });

  /** A game hosted by a fresh player with `names` joined, and a game master watching its events and presence on B. */
  async function gameWatchedOnB(names: string[]) {
    const host = await signToken('PLAYER', 'Host');
    const game = await createGame(b.url, host.token);
    const players: Record<string, { id: string; token: string }> = {};
    for (const name of names) {
      players[name] = await signToken('PLAYER', name);
      await joinGame(b.url, players[name]!.token, game.code);
    }
    const gmOnB = wsClient(b.url, gm);
    const events = subscribe<{ gameEvents: any }>(gmOnB, gameEventsQuery, { code: game.code, after: game.cursor, types: ['PlayerConnected', 'PlayerDisconnected'] });
    const presence = subscribe<{ presence: PresenceSnapshot }>(gmOnB, presenceQuery, { code: game.code });
    expect((await presence.next()).presence.onlineCount).toBe(0);
    const presenceLog = async () =>
      (await db.query(`select type, payload from events where stream = $1 and type in ('PlayerConnected', 'PlayerDisconnected') order by seq`, [`game:${game.code}`])).map(
        (row) => `${row.type}:${JSON.parse(row.payload).player.name}`,
      );
    return { code: game.code, players, events, presence, presenceLog };
  }

  it('should count the setTyping rate limit across instances', async () => {
    const { code, players } = await gameWatchedOnB(['Fay']);
    const setTyping = (instance: Instance) =>
      gql(instance.url, 'mutation ($code: String!) { setTyping(code: $code, typing: false) }', { code }, players.Fay!.token);
    for (const instance of [a, b, c, a, b]) expect((await setTyping(instance)).errors).toBeUndefined();
    const limited = await setTyping(c);
    expect(errorCode(limited)).toBe('RATE_LIMITED');
    expect(limited.errors![0]!.extensions!.retryAfterMs).toBeGreaterThan(0);
    expect(limited.errors![0]!.extensions!.retryAfterMs).toBeLessThanOrEqual(5_000);
  });

  it('should show a player connected to one instance as online on another, and offline within ttl + grace + sweep after that instance is killed', async () => {
    const { code, players, events, presence, presenceLog } = await gameWatchedOnB(['Bob', 'Carol']);
    subscribe(wsClient(a.url, players.Bob!.token), gameEventsQuery, { code });
    // Carol is connected to A and C: the kill leaves her online.
    subscribe(wsClient(a.url, players.Carol!.token), presenceQuery, { code });
    subscribe(wsClient(c.url, players.Carol!.token), gameEventsQuery, { code });

    const connected = await events.take(2);
    expect(connected.map((e) => `${e.gameEvents.__typename}:${e.gameEvents.player.name}`).sort()).toEqual(['PlayerConnected:Bob', 'PlayerConnected:Carol']);
    const online = await snapshotWhere(presence, (p) => p.onlineCount === 2);
    expect(online.players.find((e) => e.player.name === 'Bob')).toMatchObject({ online: true, lastSeenAt: expect.any(String) });

    const killedAt = Date.now();
    a.kill('SIGKILL');
    await a.exited;
    expect((await events.next(crashBoundMs + 5_000)).gameEvents).toMatchObject({ __typename: 'PlayerDisconnected', player: { name: 'Bob' } });
    const noticedAfterMs = Date.now() - killedAt;
    expect(noticedAfterMs).toBeLessThan(crashBoundMs + 1_500);
    const offline = await snapshotWhere(presence, (p) => isOnline(p, 'Bob') === false);
    expect(offline).toMatchObject({ onlineCount: 1 });
    expect(isOnline(offline, 'Carol')).toBe(true);

    // Exactly one of each, whichever instance decided it.
    expect((await presenceLog()).filter((e) => e.endsWith(':Bob'))).toEqual(['PlayerConnected:Bob', 'PlayerDisconnected:Bob']);
    expect((await presenceLog()).filter((e) => e.endsWith(':Carol'))).toEqual(['PlayerConnected:Carol']);
  });

  it('should take the players of an instance shutting down offline a grace period later, not a TTL later, and keep those who reconnect elsewhere', async () => {
    const { code, players, events, presence, presenceLog } = await gameWatchedOnB(['Dave', 'Eve']);
    subscribe(wsClient(c.url, players.Dave!.token), gameEventsQuery, { code });
    const eveOnC = wsClient(c.url, players.Eve!.token);
    subscribe(eveOnC, gameEventsQuery, { code });
    await events.take(2);
    await snapshotWhere(presence, (p) => p.onlineCount === 2);

    // Eve's client moves to B the moment C closes its socket, as a reconnecting client does; Dave's does not come back.
    const eveMoved = new Promise<void>((resolve) => {
      const off = eveOnC.on('closed', () => {
        off();
        subscribe(wsClient(b.url, players.Eve!.token), gameEventsQuery, { code });
        resolve();
      });
    });
    const stoppedAt = Date.now();
    await c.stop();
    await eveMoved;

    expect((await events.next(5_000)).gameEvents).toMatchObject({ __typename: 'PlayerDisconnected', player: { name: 'Dave' } });
    expect(Date.now() - stoppedAt).toBeLessThan(timings.ttlMs);
    const after = await snapshotWhere(presence, (p) => isOnline(p, 'Dave') === false);
    expect(isOnline(after, 'Eve')).toBe(true);
    // Eve's grace period was cancelled by her hold on B (none pending): she cannot go offline while it lives.
    const redis = redisClient();
    expect(await redis.zscore(`${prefix}presence:${code}:grace`, players.Eve!.id)).toBeNull();
    expect(await redis.hexists(`${prefix}presence:${code}:online`, players.Eve!.id)).toBe(1);
    expect(await presenceLog()).toEqual(expect.arrayContaining(['PlayerConnected:Dave', 'PlayerConnected:Eve', 'PlayerDisconnected:Dave']));
    expect((await presenceLog()).filter((e) => e.endsWith(':Eve'))).toEqual(['PlayerConnected:Eve']);
  });
});
