import { describe, expect, it } from 'vitest';
import { randomWalkStep } from '../../server/domain/market.js';
import { errorCode, gql, listening, startServer, subscribe, wsClient } from '../support/harness.js';

describe('market', () => {
  it('should list seeded stocks with prices, change and history', async () => {
    const app = await startServer();
    const { data } = await gql(app.url, '{ stocks { symbol name price change changePercent volume updatedAt history(last: 5) { price at } } }');
    expect(data!.stocks.length).toBeGreaterThanOrEqual(5);
    const iron = data!.stocks.find((s: any) => s.symbol === 'IRON');
    expect(iron).toMatchObject({ name: 'Ironforge Mining Company', price: 42.5, change: 0, changePercent: 0 });
    expect(iron.history).toEqual([{ price: 42.5, at: expect.any(String) }]);
  });

  it('should find one stock case-insensitively and return null for an unknown symbol', async () => {
    const app = await startServer();
    expect((await gql(app.url, '{ stock(symbol: "iron") { symbol } }')).data).toEqual({ stock: { symbol: 'IRON' } });
    expect((await gql(app.url, '{ stock(symbol: "NOPE") { symbol } }')).data).toEqual({ stock: null });
  });

  it('should let a game master set a price and publish stockTicked only for the wanted symbols', async () => {
    const app = await startServer();
    const gm = await app.token('GAME_MASTER');
    const ticks = subscribe(wsClient(app.url), 'subscription { stockTicked(symbols: ["gold"]) { cursor symbol price change changePercent at } }');
    await listening(app, 'streamEvent', 'market');
    await gql(app.url, 'mutation { setStockPrice(symbol: "IRON", price: 50) { price } }', {}, gm);
    const set = await gql(app.url, 'mutation { setStockPrice(symbol: "GOLD", price: 1000) { symbol price change history(last: 2) { price } } }', {}, gm);
    expect(set.data!.setStockPrice).toMatchObject({ symbol: 'GOLD', price: 1000, change: 45, history: [{ price: 955 }, { price: 1000 }] });
    expect(await ticks.next()).toEqual({
      stockTicked: { cursor: expect.any(String), symbol: 'GOLD', price: 1000, change: 45, changePercent: 4.71, at: expect.any(String) },
    });
  });

  it('should refuse setStockPrice to anonymous callers and players, changing nothing', async () => {
    const app = await startServer();
    const player = await app.token('PLAYER');
    const anonymous = await gql(app.url, 'mutation { setStockPrice(symbol: "IRON", price: 50) { price } }');
    expect(errorCode(anonymous)).toBe('UNAUTHENTICATED');
    const refused = await gql(app.url, 'mutation { setStockPrice(symbol: "IRON", price: 50) { price } }', {}, player);
    expect(errorCode(refused)).toBe('FORBIDDEN');
    expect((await gql(app.url, '{ stock(symbol: "IRON") { price } }')).data).toEqual({ stock: { price: 42.5 } });
  });

  it.each([
    ['a negative price', -1],
    ['a zero price', 0],
    ['a price above the bound', 2_000_000],
  ])('should reject %s naming the field and change nothing', async (_label, price) => {
    const app = await startServer();
    const gm = await app.token('GAME_MASTER');
    const result = await gql(app.url, 'mutation ($price: Float!) { setStockPrice(symbol: "IRON", price: $price) { price } }', { price }, gm);
    expect(errorCode(result)).toBe('BAD_USER_INPUT');
    expect(result.errors![0]!.extensions!.field).toBe('price');
    expect((await gql(app.url, '{ stock(symbol: "IRON") { price history { price } } }')).data).toEqual({
      stock: { price: 42.5, history: [{ price: 42.5 }] },
    });
  });

  it('should reject an unknown symbol with NOT_FOUND', async () => {
    const app = await startServer();
    const gm = await app.token('GAME_MASTER');
    const result = await gql(app.url, 'mutation { setStockPrice(symbol: "NOPE", price: 5) { price } }', {}, gm);
    expect(errorCode(result)).toBe('NOT_FOUND');
  });

  it('should post a world event when a price moves by 10% or more', async () => {
    const app = await startServer();
    const gm = await app.token('GAME_MASTER');
    const feed = subscribe(wsClient(app.url), 'subscription { worldEvents(kinds: ["market.crash"]) { kind message severity } }');
    await listening(app, 'streamEvent', 'world');
    await gql(app.url, 'mutation { setStockPrice(symbol: "SHIP", price: 30) { price } }', {}, gm);
    expect(await feed.next()).toEqual({
      worldEvents: { kind: 'market.crash', message: expect.stringContaining('SHIP'), severity: 'CRITICAL' },
    });
  });

  it('should walk a price a game master set far from the open instead of snapping it back', () => {
    const steps = [0.1, 0.5, 0.9].map((r) => randomWalkStep({ price: 1000, openPrice: 42.5 }, () => r));
    for (const next of steps) expect(Math.abs(next / 1000 - 1)).toBeLessThan(0.05);
  });
  it('should read the history of every listed stock in one batch, each with its own last', async () => {
    const app = await startServer();
    const gm = await app.token('GAME_MASTER');
    for (const [symbol, price] of [['GOLD', 960], ['GOLD', 970], ['IRON', 43], ['GOLD', 980]] as const) {
      await gql(app.url, 'mutation ($s: String!, $p: Float!) { setStockPrice(symbol: $s, price: $p) { price } }', { s: symbol, p: price }, gm);
    }
    const { data } = await gql(app.url, '{ stocks { symbol recent: history(last: 2) { price } all: history(last: 10) { price } } }');
    const bySymbol = Object.fromEntries(data!.stocks.map((s: { symbol: string }) => [s.symbol, s]));
    expect(bySymbol.GOLD).toEqual({ symbol: 'GOLD', recent: [{ price: 970 }, { price: 980 }], all: [{ price: 955 }, { price: 960 }, { price: 970 }, { price: 980 }] });
    expect(bySymbol.IRON).toEqual({ symbol: 'IRON', recent: [{ price: 42.5 }, { price: 43 }], all: [{ price: 42.5 }, { price: 43 }] });
    expect(data!.stocks.every((s: { all: unknown[] }) => s.all.length >= 1)).toBe(true);
  });
});
