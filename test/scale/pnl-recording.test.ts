import { beforeAll, describe, expect, it } from 'vitest';
import { gql, subscribe, wsClient } from '../support/harness.js';
import { createTestDatabase, redisUrl, servicesAvailable, signToken, spawnInstance, testRedisPrefix, type Instance } from '../support/scale.js';

const available = await servicesAvailable();

describe.skipIf(!available)('P&L recording on three instances (PostgreSQL + Redis)', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let instances: Instance[];

  beforeAll(async () => {
    db = await createTestDatabase();
    const env = { DATABASE_URL: db.url, REDIS_URL: redisUrl, REDIS_PREFIX: testRedisPrefix() };
    instances = await Promise.all(['A', 'B', 'C'].map((name) => spawnInstance(name, env)));
    await Promise.any(instances.map((i) => i.waitForLog((line) => line.msg === 'P&L recorder: leadership acquired')));
  });

  it('should record once per second at most, on one instance, and tick the owner wherever they subscribe', async () => {
    const [a, b, c] = instances as [Instance, Instance, Instance];
    const player = await signToken('PLAYER');
    const gm = (await signToken('GAME_MASTER')).token;
    const ticks = subscribe(wsClient(a.url, player.token), 'subscription { pnlTicked { at totalPnl strategies { strategy trades } } }');
    expect((await ticks.next(20_000)).pnlTicked).toMatchObject({ totalPnl: 0, strategies: [] });

    expect((await gql(b.url, 'mutation { placeOrder(symbol: "IRON", side: BUY, quantity: 10, strategy: "mm") { price } }', {}, player.token)).errors).toBeUndefined();
    // Keep the price moving from every instance until three more ticks arrived.
    const received: Array<{ at: string; totalPnl: number }> = [];
    const waiting = (async () => {
      while (received.length < 3) received.push((await ticks.next(20_000)).pnlTicked);
    })();
    let done = false;
    void waiting.finally(() => (done = true));
    for (let i = 0; !done; i++) {
      const on = [a, b, c][i % 3]!;
      await gql(on.url, 'mutation ($price: Float!) { setStockPrice(symbol: "IRON", price: $price) { price } }', { price: 40 + (i % 7) }, gm);
    }
    await waiting;

    // One recorder: exactly one instance holds the lease.
    const leaders = instances.filter((i) => i.logs.some((line) => line.msg === 'P&L recorder: leadership acquired'));
    expect(leaders).toHaveLength(1);
    // At most once a second: ticks are a period apart, and the series has at most one row per second.
    for (let i = 1; i < received.length; i++) expect(Date.parse(received[i]!.at) - Date.parse(received[i - 1]!.at)).toBeGreaterThanOrEqual(900);
    const rows = await db.query<{ bucket: string; close_cents: string }>(
      `select bucket, close_cents from pnl_series where player_id = $1 and strategy = '*' and resolution = 's' order by bucket`,
      [player.id],
    );
    const seconds = rows.map((r) => Number(r.bucket));
    expect(new Set(seconds).size).toBe(seconds.length);
    // Every tick that moved the value is the row of its second, to the cent.
    const bySecond = new Map(rows.map((r) => [Number(r.bucket), Number(r.close_cents)]));
    for (const tick of received) {
      const second = Math.floor(Date.parse(tick.at) / 1000);
      if (bySecond.has(second)) expect(bySecond.get(second)).toBe(Math.round(tick.totalPnl * 100));
    }
    expect(rows.length).toBeLessThanOrEqual(received.length + 1);
  });
});
