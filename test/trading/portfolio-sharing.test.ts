/**
 * Per-viewer subscriptions share their work: however many `portfolioChanged`
 * or `pnlTicked` subscriptions a player holds on an instance, their portfolio
 * is listened for and valued once per change.
 */
import { describe, expect, it } from 'vitest';
import { Streams } from '../../server/events/topics.js';
import { gql, listening, startServer, subscribe, wsClient, type TestServer } from '../support/harness.js';

const order = 'mutation ($s: String!, $q: Int!) { placeOrder(symbol: $s, side: BUY, quantity: $q) { id } }';
const setPrice = 'mutation ($s: String!, $p: Float!) { setStockPrice(symbol: $s, price: $p) { price } }';

/** Resolves once `check()` holds, re-checked whenever the player's portfolio subscriptions or a pub/sub channel's listeners change. */
function until(app: TestServer, check: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const offs: Array<() => void> = [];
    const test = () => {
      if (!check()) return;
      for (const off of offs) off();
      resolve();
    };
    offs.push(app.services.live.portfolio.subscribers.onCountChanged(test), app.services.pubsub.onListenersChanged(test));
    test();
  });
}

describe('per-viewer sharing', () => {
  it('should listen for and value a player’s portfolio once per change, however many of their subscriptions are open', async () => {
    const app = await startServer();
    const [player, other, gm] = [await app.token(), await app.token(), await app.token('GAME_MASTER')];
    const idOf = async (token: string): Promise<string> => (await gql(app.url, '{ me { id } }', {}, token)).data!.me.id;
    const [me, them] = [await idOf(player), await idOf(other)];
    const { pubsub } = app.services;
    const portfolios = app.services.live.portfolio;
    const marketListenersBefore = pubsub.listenerCount('streamEvent', Streams.market);

    // Twenty subscriptions of one player over four connections, with two different selections; one of another player.
    const clients = Array.from({ length: 4 }, () => wsClient(app.url, player));
    const values = Array.from({ length: 10 }, (_, i) => subscribe(clients[i % 4]!, 'subscription { portfolioChanged { totalValue todayPnl } }'));
    const holdings = Array.from({ length: 10 }, (_, i) => subscribe(clients[i % 4]!, 'subscription { portfolioChanged { cash positions { symbol quantity marketValue } } }'));
    const theirs = subscribe(wsClient(app.url, other), 'subscription { portfolioChanged { cash } }');
    await listening(app, 'portfolioChanged', me, 20);
    await listening(app, 'portfolioChanged', them);
    expect(portfolios.stats()).toMatchObject({ players: 2, subscribers: 21, marketListeners: 1 });
    expect(pubsub.listenerCount('portfolioChanged', me)).toBe(1);
    // One market listener for the whole portfolio domain, not one per subscriber.
    expect(pubsub.listenerCount('streamEvent', Streams.market)).toBe(marketListenersBefore + 1);

    // A trade: one valuation, every subscription of the player gets it through its own selection.
    let before = portfolios.stats().valuations;
    await gql(app.url, order, { s: 'IRON', q: 2 }, player);
    for (const sub of values) expect(await sub.next()).toEqual({ portfolioChanged: { totalValue: 10_000, todayPnl: 0 } });
    for (const sub of holdings) {
      expect(await sub.next()).toEqual({ portfolioChanged: { cash: 9_915, positions: [{ symbol: 'IRON', quantity: 2, marketValue: 85 }] } });
    }
    expect(portfolios.stats().valuations - before).toBe(1);

    // A move of a held stock: one coalesced valuation of the holder; the other player (holding nothing) is not valued.
    before = portfolios.stats().valuations;
    await gql(app.url, setPrice, { s: 'IRON', p: 45 }, gm);
    for (const sub of values) expect(await sub.next()).toEqual({ portfolioChanged: { totalValue: 10_005, todayPnl: 5 } });
    for (const sub of holdings) expect((await sub.next()).portfolioChanged.positions).toEqual([{ symbol: 'IRON', quantity: 2, marketValue: 90 }]);
    expect(portfolios.stats().valuations - before).toBe(1);

    // The other player's trade reaches only them: their sentinel, with nothing of ours before it.
    await gql(app.url, order, { s: 'GRAIN', q: 1 }, other);
    expect(await theirs.next()).toEqual({ portfolioChanged: { cash: 10_000 - 12.4 } });

    // Half of the player's subscriptions end: the rest keep receiving from the same watcher.
    for (const sub of values) sub.unsubscribe();
    await until(app, () => portfolios.subscribers.count(me) === 10);
    expect(pubsub.listenerCount('portfolioChanged', me)).toBe(1);
    await gql(app.url, order, { s: 'IRON', q: 1 }, player);
    for (const sub of holdings) expect((await sub.next()).portfolioChanged.positions).toEqual([{ symbol: 'IRON', quantity: 3, marketValue: 135 }]);

    // The last ones end: the player's watcher stops; the market listener stays while the other player is watched.
    for (const sub of holdings) sub.unsubscribe();
    await until(app, () => pubsub.listenerCount('portfolioChanged', me) === 0);
    expect(portfolios.stats()).toMatchObject({ players: 1, subscribers: 1 });
    expect(pubsub.listenerCount('streamEvent', Streams.market)).toBe(marketListenersBefore + 1);
    theirs.unsubscribe();
    await until(app, () => pubsub.listenerCount('streamEvent', Streams.market) === marketListenersBefore);
    expect(portfolios.stats()).toMatchObject({ players: 0, subscribers: 0, marketListeners: 0 });
  });

  it('should hand a market tick only to the watchers of players holding that stock', async () => {
    const app = await startServer();
    const gm = await app.token('GAME_MASTER');
    const traders = await Promise.all(
      ['IRON', 'GOLD', 'GRAIN'].map(async (symbol) => {
        const token = await app.token();
        const id = (await gql(app.url, '{ me { id } }', {}, token)).data!.me.id as string;
        const subs = Array.from({ length: 3 }, () => subscribe(wsClient(app.url, token), 'subscription { portfolioChanged { positions { symbol marketValue } } }'));
        await listening(app, 'portfolioChanged', id, 3);
        await gql(app.url, order, { s: symbol, q: 1 }, token);
        for (const sub of subs) await sub.next();
        return { symbol, token, subs };
      }),
    );
    const before = app.services.live.portfolio.stats().valuations;
    await gql(app.url, setPrice, { s: 'GOLD', p: 900 }, gm);
    const gold = traders[1]!;
    for (const sub of gold.subs) expect((await sub.next()).portfolioChanged.positions).toEqual([{ symbol: 'GOLD', marketValue: 900 }]);
    // Only the GOLD holder was valued; the sentinel trades of the others show they got nothing in between.
    expect(app.services.live.portfolio.stats().valuations - before).toBe(1);
    for (const { token, subs, symbol } of [traders[0]!, traders[2]!]) {
      await gql(app.url, order, { s: 'SHIP', q: 1 }, token);
      for (const sub of subs) expect((await sub.next()).portfolioChanged.positions.map((p: { symbol: string }) => p.symbol)).toEqual([symbol, 'SHIP']);
    }
  });

  it('should share one pnlTicked listener per player and hand every subscription the same tick', async () => {
    const app = await startServer({ pnlRecordMs: 0 });
    const [player, gm] = [await app.token(), await app.token('GAME_MASTER')];
    const me = (await gql(app.url, '{ me { id } }', {}, player)).data!.me.id as string;
    const { pubsub, analytics } = app.services;
    const clients = Array.from({ length: 4 }, () => wsClient(app.url, player));
    const query = 'subscription { pnlTicked { at totalValue totalPnl strategies { strategy totalPnl } } }';
    const subs = Array.from({ length: 20 }, (_, i) => subscribe(clients[i % 4]!, query));
    for (const sub of subs) expect((await sub.next()).pnlTicked).toMatchObject({ totalValue: 10_000, totalPnl: 0, strategies: [] });
    await listening(app, 'pnlTicked', me, 20);
    expect(pubsub.listenerCount('pnlTicked', me)).toBe(1);
    expect(app.services.live.pnl.stats()).toMatchObject({ players: 1, subscribers: 20 });

    await gql(app.url, order, { s: 'IRON', q: 10 }, player);
    await gql(app.url, setPrice, { s: 'IRON', p: 40 }, gm);
    await analytics.flush();
    const ticks = await Promise.all(subs.map(async (sub) => (await sub.next()).pnlTicked));
    expect(ticks[0]).toMatchObject({ totalValue: 9_975, totalPnl: -25, strategies: [{ strategy: 'manual', totalPnl: -25 }] });
    for (const tick of ticks) expect(tick).toEqual(ticks[0]);

    for (const sub of subs) sub.unsubscribe();
    await until(app, () => pubsub.listenerCount('pnlTicked', me) === 0);
    expect(app.services.live.pnl.stats()).toMatchObject({ players: 0, subscribers: 0 });
  });
});
