/**
 * The shared per-viewer watchers (portfolio, presence) read again once Redis
 * is back after an outage: what was published meanwhile is lost, and their
 * subscribers would otherwise keep a stale view until the next change.
 */
import { describe, expect, it } from 'vitest';
import { createGame, joinGame } from '../support/games.js';
import { eventually, gql, listening, startServer, subscribe, wsClient } from '../support/harness.js';
import { readyStatus, servicesAvailable, startPrivateRedis } from '../support/scale.js';

const available = await servicesAvailable({ redis: true });

describe.skipIf(!available)('per-viewer watchers across a Redis restart', () => {
  it('should send the current portfolio and presence once Redis is back, after changes published while it was away', { timeout: 60_000 }, async () => {
    // A redis-server of this test's own: the shared one is never restarted.
    const redis = await startPrivateRedis();
    const app = await startServer({ redisUrl: redis.url, redisPrefix: 'viewer-resync:', jwtSecret: 'viewer-resync-secret-of-at-least-32-chars' });
    const origin = new URL(app.url).origin;
    const [trader, host, guest] = [await app.token(), await app.token('PLAYER', 'Host'), await app.token('PLAYER', 'Guest')];
    const me = (await gql(app.url, '{ me { id } }', {}, trader)).data!.me.id as string;
    const portfolio = subscribe(wsClient(app.url, trader), 'subscription { portfolioChanged { positions { symbol quantity } } }');
    await listening(app, 'portfolioChanged', me);
    const game = await createGame(app.url, host);
    const presence = subscribe(wsClient(app.url, host), 'subscription ($code: String!) { presence(code: $code) { totalPlayers } }', { code: game.code });
    expect((await presence.next()).presence.totalPlayers).toBe(1);

    await redis.stop();
    await eventually(async () => (await readyStatus(origin)) === 503, '/ready 503');
    // Committed while Redis is away: their notices are lost.
    expect((await gql(app.url, 'mutation { placeOrder(symbol: "IRON", side: BUY, quantity: 3) { id } }', {}, trader)).errors).toBeUndefined();
    await joinGame(app.url, guest, game.code);

    await redis.start();
    await eventually(async () => (await readyStatus(origin)) === 200, '/ready 200', 15_000);
    expect((await portfolio.next(10_000)).portfolioChanged.positions).toEqual([{ symbol: 'IRON', quantity: 3 }]);
    let players = 1;
    while (players !== 2) players = (await presence.next(10_000)).presence.totalPlayers;
  });
});
