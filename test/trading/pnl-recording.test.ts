import { describe, expect, it } from 'vitest';
import { activeStrategyMs, idleRecordMs } from '../../server/domain/pnl-recorder.js';
import { gql, startServer, type TestServer } from '../support/harness.js';

const order = 'mutation ($side: OrderSide!, $strategy: String) { placeOrder(symbol: "GRAIN", side: $side, quantity: 1, strategy: $strategy) { id } }';
const setPrice = 'mutation ($price: Float!) { setStockPrice(symbol: "GRAIN", price: $price) { price } }';

/** The series a flush wrote, by strategy ("*": the whole account). */
async function flushWritten(app: TestServer, playerId?: string) {
  const before = await secondRows(app, playerId);
  await app.services.analytics.flush();
  const after = await secondRows(app, playerId);
  return after.filter((row) => !before.some((b) => b.strategy === row.strategy && b.bucket === row.bucket && b.closeCents === row.closeCents)).map((row) => row.strategy).sort();
}

async function secondRows(app: TestServer, playerId?: string) {
  let query = app.services.store.db.selectFrom('pnlSeries').select(['playerId', 'strategy', 'bucket', 'closeCents']).where('resolution', '=', 's');
  if (playerId) query = query.where('playerId', '=', playerId);
  return (await query.execute()).map((row) => ({ ...row, bucket: Number(row.bucket), closeCents: Number(row.closeCents) }));
}

const playerOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).sub as string;

describe('P&L recording sized by design', () => {
  it('should record a guest holding one share under each of 20 strategies every second only for the account and the strategy traded last, the others once a minute, and only the account once they are idle', async () => {
    const start = Date.parse('2026-11-05T08:00:00Z');
    let now = start;
    const app = await startServer({ clock: () => now, pnlRecordMs: 0 });
    const [guest, gm] = [await app.token(), await app.token('GAME_MASTER')];
    const strategies = Array.from({ length: 20 }, (_, i) => `s${String(i + 1).padStart(2, '0')}`);
    for (const strategy of strategies) {
      now += 1;
      expect((await gql(app.url, order, { side: 'BUY', strategy }, guest)).errors).toBeUndefined();
    }
    // Bought at the current price: every series is still at the 0 its first trade wrote.
    expect(await flushWritten(app)).toEqual([]);

    let price = 10;
    const tick = async (at: number) => {
      now = at;
      expect((await gql(app.url, setPrice, { price: (price += 1) }, gm)).errors).toBeUndefined();
      return flushWritten(app);
    };
    // The recorder's first point of each series, then every second only the account and the strategy traded last (PNL_SECOND_SERIES 2).
    expect(await tick(start + 1_000)).toEqual(['*', ...strategies].sort());
    expect(await tick(start + 2_000)).toEqual(['*', 's20']);
    expect(await tick(start + 3_000)).toEqual(['*', 's20']);
    // A minute after their last point the others are due once.
    expect(await tick(start + 1_000 + idleRecordMs)).toEqual(['*', ...strategies].sort());
    expect(await tick(start + 2_000 + idleRecordMs)).toEqual(['*', 's20']);
    // Idle (no trade for activeStrategyMs): one series a second, all of them once a minute.
    expect(await tick(start + activeStrategyMs + 1_000)).toEqual(['*', ...strategies].sort());
    expect(await tick(start + activeStrategyMs + 2_000)).toEqual(['*']);
    expect(await tick(start + activeStrategyMs + 3_000)).toEqual(['*']);
    // A trade makes its strategy active again at once.
    now = start + activeStrategyMs + 4_000;
    expect((await gql(app.url, order, { side: 'BUY', strategy: 's03' }, guest)).errors).toBeUndefined();
    expect(await tick(start + activeStrategyMs + 5_000)).toEqual(['*', 's03']);
  });

  it('should write nothing for strategies that hold nothing, however the market moves', async () => {
    let now = Date.parse('2026-11-05T09:00:00Z');
    const app = await startServer({ clock: () => now, pnlRecordMs: 0 });
    const [guest, gm] = [await app.token(), await app.token('GAME_MASTER')];
    for (let i = 1; i <= 20; i++) {
      expect((await gql(app.url, order, { side: 'BUY', strategy: `e${i}` }, guest)).errors).toBeUndefined();
      expect((await gql(app.url, order, { side: 'SELL', strategy: `e${i}` }, guest)).errors).toBeUndefined();
    }
    await app.services.analytics.flush();
    for (let second = 1; second <= 3; second++) {
      now += 1_000;
      expect((await gql(app.url, setPrice, { price: 10 + second }, gm)).errors).toBeUndefined();
      expect(await flushWritten(app, playerOf(guest))).toEqual([]);
    }
  });

  it('should stop recording a guest on price moves once every token it can hold has expired (created over TOKEN_MAX_TTL ago), and record it again when it trades', async () => {
    let now = Date.now();
    const app = await startServer({ clock: () => now, pnlRecordMs: 0, tokenMaxTtlSeconds: 60 });
    const [guest, fresh, gm] = [await app.token(), await app.token(), await app.token('GAME_MASTER')];
    for (const token of [guest, fresh]) expect((await gql(app.url, order, { side: 'BUY', strategy: 'hold' }, token)).errors).toBeUndefined();
    await app.services.analytics.flush();
    // Two minutes later (recorder's clock) the guest's tokens are past TOKEN_MAX_TTL: a move records nobody created before then.
    now += 120_000;
    expect((await gql(app.url, setPrice, { price: 77 }, gm)).errors).toBeUndefined();
    expect(await flushWritten(app)).toEqual([]);
    // A trade needs a valid token, so it is recorded (the server's own token check runs on real time here).
    expect((await gql(app.url, order, { side: 'BUY', strategy: 'hold' }, fresh)).errors).toBeUndefined();
    expect(await flushWritten(app, playerOf(fresh))).toEqual(['*', 'hold']);
  });
});
