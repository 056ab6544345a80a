import { describe, expect, it } from 'vitest';
import { PlaceOrderDocument } from '../../client/generated/graphql.js';
import { realmcastClient } from '../support/client-harness.js';
import { errorCode, gql, startServer } from '../support/harness.js';

const order = /* GraphQL */ `
  mutation ($symbol: String!, $side: OrderSide!, $quantity: Int!, $key: String) {
    placeOrder(symbol: $symbol, side: $side, quantity: $quantity, idempotencyKey: $key) { id quantity price }
  }
`;
const cashAndTrades = '{ portfolio { cash trades(last: 50) { id } } }';

describe('safe order retries (idempotencyKey)', () => {
  it('should trade once for a key and return the first trade to every retry, even concurrent ones', async () => {
    const app = await startServer();
    const token = await app.token('PLAYER', 'Ada');
    const first = await gql(app.url, order, { symbol: 'IRON', side: 'BUY', quantity: 3, key: 'order-1' }, token);
    const retries = await Promise.all(
      Array.from({ length: 8 }, () => gql(app.url, order, { symbol: 'IRON', side: 'BUY', quantity: 3, key: 'order-1' }, token)),
    );
    for (const retry of retries) expect(retry.data).toEqual(first.data);
    const { portfolio } = (await gql(app.url, cashAndTrades, {}, token)).data!;
    expect(portfolio.trades).toEqual([{ id: first.data!.placeOrder.id }]);
    expect(portfolio.cash).toBeCloseTo(10_000 - 3 * first.data!.placeOrder.price, 2);

    // Concurrent first attempts with a fresh key: still one trade.
    const racing = await Promise.all(
      Array.from({ length: 8 }, () => gql(app.url, order, { symbol: 'GOLD', side: 'BUY', quantity: 1, key: 'order-2' }, token)),
    );
    expect(new Set(racing.map((r) => r.data!.placeOrder.id)).size).toBe(1);
    expect((await gql(app.url, cashAndTrades, {}, token)).data!.portfolio.trades).toHaveLength(2);
  });

  it('should refuse a key reused for a different order, a malformed key, and keep keys per player', async () => {
    const app = await startServer();
    const [ada, bob] = await Promise.all([app.token('PLAYER', 'Ada'), app.token('PLAYER', 'Bob')]);
    await gql(app.url, order, { symbol: 'IRON', side: 'BUY', quantity: 1, key: 'k' }, ada);
    const changed = await gql(app.url, order, { symbol: 'IRON', side: 'BUY', quantity: 2, key: 'k' }, ada);
    expect(changed.errors![0]!.extensions).toMatchObject({ code: 'CONFLICT', field: 'idempotencyKey' });
    expect(errorCode(await gql(app.url, order, { symbol: 'IRON', side: 'BUY', quantity: 1, key: 'no spaces please' }, ada))).toBe('BAD_USER_INPUT');
    // Bob's "k" is his own.
    expect((await gql(app.url, order, { symbol: 'IRON', side: 'BUY', quantity: 2, key: 'k' }, bob)).errors).toBeUndefined();
    // A failed order does not use its key up.
    expect(errorCode(await gql(app.url, order, { symbol: 'IRON', side: 'SELL', quantity: 99, key: 'later' }, ada))).toBe('BAD_USER_INPUT');
    expect((await gql(app.url, order, { symbol: 'IRON', side: 'BUY', quantity: 1, key: 'later' }, ada)).errors).toBeUndefined();
  });

  it('should let the typed client retry an order whose answer was lost without buying twice', async () => {
    const app = await startServer();
    const token = await app.token('PLAYER', 'Ada');
    const sentKeys: string[] = [];
    let lost = 0;
    // The first order reaches the server and commits, then its answer is lost (a crash or a cut connection).
    const flakyFetch: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      const body = typeof init?.body === 'string' ? (JSON.parse(init.body) as { operationName?: string; variables?: Record<string, unknown> }) : {};
      if (body.operationName !== 'PlaceOrder') return response;
      sentKeys.push(String(body.variables?.idempotencyKey));
      if (lost++ === 0) {
        await response.arrayBuffer();
        throw new TypeError('fetch failed: connection reset');
      }
      return response;
    };
    const realm = realmcastClient(app.url, { token, fetch: flakyFetch });
    const { data } = await realm.client.mutate({ mutation: PlaceOrderDocument, variables: { symbol: 'IRON', side: 'BUY', quantity: 5 } });
    expect(data!.placeOrder.quantity).toBe(5);
    expect(sentKeys).toHaveLength(2);
    expect(sentKeys[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(sentKeys[1]).toBe(sentKeys[0]);
    const { portfolio } = (await gql(app.url, cashAndTrades, {}, token)).data!;
    expect(portfolio.trades).toEqual([{ id: data!.placeOrder.id }]);
  });
});
