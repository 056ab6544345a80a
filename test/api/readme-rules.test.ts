/**
 * The rules the docs state (README.md and docs/), each tested on its
 * boundary: the 10 % / 10 point thresholds, the history caps and `last`
 * bounds, event retention, the query limits, and what a shutdown does to
 * presence.
 */
import { describe, expect, it } from 'vitest';
import { Streams } from '../../server/events/topics.js';
import { createGame, gameEvents } from '../support/games.js';
import { errorCode, gql, startServer, wsClient } from '../support/harness.js';

const setPrice = 'mutation ($s: String!, $p: Float!) { setStockPrice(symbol: $s, price: $p) { price } }';
const shift = 'mutation ($f: ID!, $d: Float!) { shiftFactionInfluence(factionId: $f, delta: $d, reason: "rule") { influence } }';
const latestKinds = async (url: string, last: number) =>
  ((await gql(url, 'query ($n: Int) { worldEvents(last: $n) { kind severity } }', { n: last })).data!.worldEvents as Array<{ kind: string; severity: string }>);

describe('README rules on their boundaries', () => {
  it('should post market.surge/market.crash for a move of exactly 10 %, nothing just below, CRITICAL from exactly 25 %', async () => {
    const app = await startServer();
    const gm = await app.token('GAME_MASTER');
    const move = async (price: number) => {
      expect((await gql(app.url, setPrice, { s: 'SHIP', p: price }, gm)).errors).toBeUndefined();
      return (await latestKinds(app.url, 1))[0];
    };
    await move(100); // from 67: a surge, sets a round base
    expect(await move(109.99)).toEqual({ kind: 'market.surge', severity: 'CRITICAL' }); // +9.99 %: nothing new
    await gql(app.url, 'mutation { announceWorldEvent(message: "marker") { id } }', {}, gm);
    const marker = { kind: 'announcement', severity: 'INFO' };
    expect(await move(100)).toEqual(marker); // −9.08 %
    expect(await move(110)).toEqual({ kind: 'market.surge', severity: 'WARNING' }); // exactly +10 %
    await gql(app.url, 'mutation { announceWorldEvent(message: "marker") { id } }', {}, gm);
    expect(await move(100)).toEqual(marker); // −9.09 %
    expect(await move(90)).toEqual({ kind: 'market.crash', severity: 'WARNING' }); // exactly −10 %
    expect(await move(100)).toEqual({ kind: 'market.surge', severity: 'WARNING' }); // +11.1 %
    expect(await move(125)).toEqual({ kind: 'market.surge', severity: 'CRITICAL' }); // exactly +25 %
    expect(await move(100)).toEqual({ kind: 'market.crash', severity: 'WARNING' }); // −20 %
    expect(await move(124.99)).toEqual({ kind: 'market.surge', severity: 'WARNING' }); // +24.99 %
  });

  it('should post faction.shift for a shift of exactly 10 points and not for 9.99', async () => {
    const app = await startServer();
    const gm = await app.token('GAME_MASTER');
    const before = (await latestKinds(app.url, 200)).length;
    expect((await gql(app.url, shift, { f: 'crown', d: 9.99 }, gm)).errors).toBeUndefined();
    expect((await latestKinds(app.url, 200)).length).toBe(before);
    expect((await gql(app.url, shift, { f: 'crown', d: -10 }, gm)).errors).toBeUndefined();
    expect(await latestKinds(app.url, 200)).toHaveLength(before + 1);
    expect((await latestKinds(app.url, 1))[0]!.kind).toBe('faction.shift');
    expect((await gql(app.url, shift, { f: 'guild', d: 10 }, gm)).errors).toBeUndefined();
    const messages = (await gql(app.url, '{ worldEvents(last: 2) { message severity } }')).data!.worldEvents;
    expect(messages).toEqual([
      { message: 'Merchant Guild gains 10 influence: rule', severity: 'WARNING' },
      { message: 'The Crown loses 10 influence: rule', severity: 'WARNING' },
    ]);
  });

  it('should keep the newest 500 price points per stock and bound history(last) to 1–500', async () => {
    const app = await startServer();
    // 505 moves: with the seed point, 506 points before pruning.
    for (let i = 1; i <= 505; i++) await app.services.market.setStockPrice('GRAIN', 10 + i / 100);
    await app.services.market.pruneHistory();
    const history = 'query ($n: Int) { stock(symbol: "GRAIN") { history(last: $n) { price } } }';
    const all = (await gql(app.url, history, { n: 500 })).data!.stock.history.map((p: { price: number }) => p.price);
    expect(all).toHaveLength(500);
    expect(all[0]).toBe(10.06); // the 6 oldest points are gone
    expect(all.at(-1)).toBe(15.05);
    expect(await app.services.store.db.selectFrom('priceHistory').select('id').where('symbol', '=', 'GRAIN').execute()).toHaveLength(500);
    // Other stocks keep their short history.
    expect((await gql(app.url, 'query { stock(symbol: "IRON") { history(last: 500) { price } } }')).data!.stock.history).toEqual([{ price: 42.5 }]);
    for (const n of [0, 501]) {
      const refused = await gql(app.url, history, { n });
      expect(errorCode(refused)).toBe('BAD_USER_INPUT');
      expect(refused.errors![0]!.extensions!.field).toBe('last');
    }
    expect((await gql(app.url, history, { n: 1 })).data!.stock.history).toEqual([{ price: 15.05 }]);
    expect((await gql(app.url, history, {})).data!.stock.history).toHaveLength(50);
  });

  it('should bound worldEvents(last) to 1–200, 20 by default', async () => {
    const app = await startServer();
    const gm = await app.token('GAME_MASTER');
    for (let i = 0; i < 205; i++) await app.services.world.announce(`news ${i}`);
    expect(await latestKinds(app.url, 200)).toHaveLength(200);
    expect((await gql(app.url, '{ worldEvents { id } }')).data!.worldEvents).toHaveLength(20);
    for (const n of [0, 201]) {
      const refused = await gql(app.url, 'query ($n: Int) { worldEvents(last: $n) { id } }', { n }, gm);
      expect(errorCode(refused)).toBe('BAD_USER_INPUT');
      expect(refused.errors![0]!.extensions!.field).toBe('last');
    }
  });

  it('should prune entries older than the retention age but always keep the newest of each stream', async () => {
    const app = await startServer({ eventRetentionMs: 60_000, eventRetentionMinimum: 3 });
    for (let i = 0; i < 5; i++) await app.services.world.announce(`old ${i}`);
    const now = Date.now();
    // Younger than the retention age: nothing goes, whatever the count.
    expect(await app.services.events.prune(new Date(now + 30_000))).toBe(0);
    // Older: all but the newest 3 of the world stream (welcome + 5 announcements = 6) and of the others (≤ 3 each).
    expect(await app.services.events.prune(new Date(now + 120_000))).toBe(3);
    const kept = await app.services.events.read(Streams.world, 0);
    expect(kept.map((e) => (e.payload as { message: string }).message)).toEqual(['old 2', 'old 3', 'old 4']);
    expect(await app.services.events.prune(new Date(now + 120_000))).toBe(0);
  });

  it('should refuse more than 30 aliases and a query cost over 20,000 (graphql-armor), and allow exactly 30 aliases', async () => {
    const app = await startServer();
    // Introspection and __typename are not counted, so real fields are aliased.
    const aliases = (n: number, selection = 'stocks { symbol }') => `{ ${Array.from({ length: n }, (_, i) => `a${i}: ${selection}`).join(' ')} }`;
    expect((await gql(app.url, aliases(30))).errors).toBeUndefined();
    expect((await gql(app.url, aliases(31))).errors?.[0]?.message).toMatch(/Aliases limit of 30 exceeded/);
    expect((await gql(app.url, aliases(2, 'stocks { symbol history(last: 500) { price at } }'))).errors).toBeUndefined();
    expect((await gql(app.url, aliases(30, 'stocks { symbol history(last: 500) { price at } }'))).errors?.[0]?.message).toMatch(/Cost limit of 20000 exceeded/);
  });
});

describe('presence when a server shuts down', () => {
  it('should store PlayerDisconnected for everyone still online, connected or within their grace period, so no PlayerConnected stays unmatched', async () => {
    const first = await startServer({ presenceGraceMs: 60_000 });
    const alice = await first.token('PLAYER', 'Alice');
    const bob = await first.token('PLAYER', 'Bob');
    const game = await createGame(first.url, alice);
    await gql(first.url, 'mutation ($c: String!) { joinGame(code: $c) { code } }', { c: game.code }, bob);
    const aliceEvents = gameEvents(wsClient(first.url, alice), game.code, game.cursor, true);
    const bobClient = wsClient(first.url, bob);
    const bobEvents = gameEvents(bobClient, game.code, undefined, true);
    const seen = await aliceEvents.take(3);
    expect(seen.map((e) => e.__typename)).toEqual(['PlayerJoined', 'PlayerConnected', 'PlayerConnected']);
    // Bob's connection ends: he is within his (long) grace period when the server stops.
    bobEvents.unsubscribe();
    await bobClient.dispose();
    await first.dispose();

    const log = await (await startServer({ dataDir: first.dataDir })).services.events.read(Streams.game(game.code), 0);
    const presence = log.filter((e) => e.type === 'PlayerConnected' || e.type === 'PlayerDisconnected');
    expect(presence.map((e) => `${e.type} ${(e.payload as { player: { name: string } }).player.name}`).sort()).toEqual([
      'PlayerConnected Alice',
      'PlayerConnected Bob',
      'PlayerDisconnected Alice',
      'PlayerDisconnected Bob',
    ]);
    expect(log.at(-1)!.type).toBe('PlayerDisconnected');
  });
});
