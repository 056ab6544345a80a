import { describe, expect, it } from 'vitest';
import { errorCode, gql, listening, startServer, subscribe, wsClient } from '../support/harness.js';

const portfolioQuery = '{ portfolio { cash realizedPnl unrealizedPnl totalValue positions { symbol quantity averageCost marketValue unrealizedPnl } } }';
const order = 'mutation ($symbol: String!, $side: OrderSide!, $quantity: Int!) { placeOrder(symbol: $symbol, side: $side, quantity: $quantity) { id symbol side quantity price at } }';

describe('portfolio', () => {
  it('should start with 10,000 cash and show null to anonymous callers', async () => {
    const app = await startServer();
    const player = await app.token();
    expect((await gql(app.url, portfolioQuery, {}, player)).data!.portfolio).toEqual({
      cash: 10_000, realizedPnl: 0, unrealizedPnl: 0, totalValue: 10_000, positions: [],
    });
    expect((await gql(app.url, portfolioQuery)).data).toEqual({ portfolio: null });
  });

  it('should fill buys and sells at the current price with average cost and realized P&L', async () => {
    const app = await startServer();
    const [player, gm] = [await app.token(), await app.token('GAME_MASTER')];
    const buy = await gql(app.url, order, { symbol: 'iron', side: 'BUY', quantity: 10 }, player);
    expect(buy.data!.placeOrder).toMatchObject({ symbol: 'IRON', side: 'BUY', quantity: 10, price: 42.5 });
    await gql(app.url, 'mutation { setStockPrice(symbol: "IRON", price: 50) { price } }', {}, gm);
    await gql(app.url, order, { symbol: 'IRON', side: 'BUY', quantity: 10 }, player);
    // 10 @ 42.5 + 10 @ 50 → 20 @ 46.25
    await gql(app.url, order, { symbol: 'IRON', side: 'SELL', quantity: 5 }, player);
    const { portfolio } = (await gql(app.url, portfolioQuery, {}, player)).data!;
    expect(portfolio).toEqual({
      cash: 10_000 - 425 - 500 + 250,
      realizedPnl: (50 - 46.25) * 5,
      unrealizedPnl: 15 * (50 - 46.25),
      totalValue: 10_000 - 425 - 500 + 250 + 750,
      positions: [{ symbol: 'IRON', quantity: 15, averageCost: 46.25, marketValue: 750, unrealizedPnl: 56.25 }],
    });
    expect((await gql(app.url, '{ stock(symbol: "IRON") { volume } }')).data!.stock.volume).toBe(25);
  });

  it.each([
    ['not enough cash', { symbol: 'GOLD', side: 'BUY', quantity: 11 }, 'BAD_USER_INPUT', 'quantity'],
    ['not enough shares', { symbol: 'IRON', side: 'SELL', quantity: 1 }, 'BAD_USER_INPUT', 'quantity'],
    ['a zero quantity', { symbol: 'IRON', side: 'BUY', quantity: 0 }, 'BAD_USER_INPUT', 'quantity'],
    ['a negative quantity', { symbol: 'IRON', side: 'BUY', quantity: -3 }, 'BAD_USER_INPUT', 'quantity'],
    ['an unknown symbol', { symbol: 'NOPE', side: 'BUY', quantity: 1 }, 'NOT_FOUND', 'symbol'],
  ])('should reject an order with %s and change nothing', async (_label, variables, code, field) => {
    const app = await startServer();
    const player = await app.token();
    const before = (await gql(app.url, portfolioQuery, {}, player)).data;
    const result = await gql(app.url, order, variables, player);
    expect(errorCode(result)).toBe(code);
    expect(result.errors![0]!.extensions!.field).toBe(field);
    expect((await gql(app.url, portfolioQuery, {}, player)).data).toEqual(before);
    expect((await gql(app.url, '{ stocks { volume } }')).data!.stocks.every((s: { volume: number }) => s.volume === 0)).toBe(true);
  });

  it('should refuse orders from anonymous callers', async () => {
    const app = await startServer();
    expect(errorCode(await gql(app.url, order, { symbol: 'IRON', side: 'BUY', quantity: 1 }))).toBe('UNAUTHENTICATED');
  });

  it('should send portfolioChanged after a trade and when a held price moves, only to the owner', async () => {
    const app = await startServer();
    const [player, other, gm] = [await app.token(), await app.token(), await app.token('GAME_MASTER')];
    const mine = subscribe(wsClient(app.url, player), 'subscription { portfolioChanged { cash totalValue positions { symbol quantity marketValue } } }');
    const theirs = subscribe(wsClient(app.url, other), 'subscription { portfolioChanged { cash } }');
    await listening(app, 'portfolioChanged', (await gql(app.url, '{ me { id } }', {}, player)).data!.me.id);
    await gql(app.url, order, { symbol: 'IRON', side: 'BUY', quantity: 2 }, player);
    expect(await mine.next()).toEqual({
      portfolioChanged: { cash: 9915, totalValue: 10_000, positions: [{ symbol: 'IRON', quantity: 2, marketValue: 85 }] },
    });
    await gql(app.url, 'mutation { setStockPrice(symbol: "GOLD", price: 900) { price } }', {}, gm);
    await gql(app.url, 'mutation { setStockPrice(symbol: "IRON", price: 45) { price } }', {}, gm);
    expect(await mine.next()).toEqual({
      portfolioChanged: { cash: 9915, totalValue: 10_005, positions: [{ symbol: 'IRON', quantity: 2, marketValue: 90 }] },
    });
    await gql(app.url, order, { symbol: 'GRAIN', side: 'BUY', quantity: 1 }, other);
    expect(await theirs.next()).toEqual({ portfolioChanged: { cash: 10_000 - 12.4 } });
  });

  it('should coalesce a burst of price moves into few updates', async () => {
    const app = await startServer({ portfolioCoalesceMs: 200 });
    const [player, gm] = [await app.token(), await app.token('GAME_MASTER')];
    const updates = subscribe(wsClient(app.url, player), 'subscription { portfolioChanged { positions { marketValue } } }');
    const me = (await gql(app.url, '{ me { id } }', {}, player)).data!.me.id;
    await listening(app, 'portfolioChanged', me);
    await gql(app.url, order, { symbol: 'IRON', side: 'BUY', quantity: 1 }, player);
    await updates.next();
    const started = Date.now();
    for (let price = 43; price <= 52; price++) {
      await gql(app.url, 'mutation ($p: Float!) { setStockPrice(symbol: "IRON", price: $p) { price } }', { p: price }, gm);
    }
    // Ten ticks: the last update carries the final price, and there is at most one update per 200 ms window
    // (a bound that holds however slow the machine, unlike a fixed count).
    const seen: number[] = [];
    while (seen.at(-1) !== 52) seen.push((await updates.next()).portfolioChanged.positions[0].marketValue);
    expect(seen.length).toBeLessThanOrEqual(Math.ceil((Date.now() - started) / 200) + 1);
  });
});
