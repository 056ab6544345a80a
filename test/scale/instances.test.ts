import { beforeAll, describe, expect, it } from 'vitest';
import { eventually, gql, subscribe, wsClient } from '../support/harness.js';
import {
  createTestDatabase,
  cursorSeq,
  headCursor,
  redisClient,
  redisUrl,
  servicesAvailable,
  signToken,
  spawnInstance,
  subscriberCount,
  testRedisPrefix,
  type Instance,
} from '../support/scale.js';

const available = await servicesAvailable();

const announce = (instance: Instance, message: string, token: string) =>
  gql(instance.url, 'mutation ($message: String!) { announceWorldEvent(message: $message) { cursor message } }', { message }, token);

const worldFeed = /* GraphQL */ `subscription ($after: String) { worldEvents(after: $after) { cursor kind message } }`;

describe.skipIf(!available)('three instances on one Redis and one PostgreSQL', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let prefix: string;
  let a: Instance, b: Instance, c: Instance;
  let gm: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    prefix = testRedisPrefix();
    // Started together on a fresh database: they race to migrate and seed.
    const env = { DATABASE_URL: db.url, REDIS_URL: redisUrl, REDIS_PREFIX: prefix };
    [a, b, c] = await Promise.all([spawnInstance('A', env), spawnInstance('B', env), spawnInstance('C', env)]);
    gm = (await signToken('GAME_MASTER')).token;
  });

  it('should deliver mutations made on one instance to subscribers on another', async () => {
    const player = await signToken('PLAYER');
    const client = wsClient(a.url, player.token);
    const ticks = subscribe(client, 'subscription ($after: String) { stockTicked(symbols: ["GOLD"], after: $after) { symbol price change } }', {
      after: await headCursor(db, 'market'),
    });
    const shifts = subscribe(client, 'subscription ($after: String) { factionInfluenceChanged(after: $after) { faction { id influence } delta reason } }', {
      after: await headCursor(db, 'factions'),
    });
    const world = subscribe(client, 'subscription ($after: String) { worldEvents(kinds: ["announcement"], after: $after) { kind message } }', {
      after: await headCursor(db, 'world'),
    });
    const portfolio = subscribe(client, 'subscription { portfolioChanged { cash positions { symbol quantity } } }');
    const redis = redisClient();
    // Live on A through Redis: one channel subscription however many local listeners (ticks and the portfolio share `market`).
    await eventually(async () => (await subscriberCount(redis, `${prefix}portfolioChanged:${player.id}`)) === 1, 'A subscribed to the portfolio');
    // `market` also has the P&L recorder's subscription on whichever instance holds its lease: at most one per instance.
    await eventually(async () => (await subscriberCount(redis, `${prefix}streamEvent:market`)) >= 1, 'A subscribed to the market');
    expect(await subscriberCount(redis, `${prefix}streamEvent:market`)).toBeLessThanOrEqual(2);

    expect((await gql(b.url, 'mutation { setStockPrice(symbol: "GOLD", price: 1000) { price } }', {}, gm)).errors).toBeUndefined();
    expect(await ticks.next()).toEqual({ stockTicked: { symbol: 'GOLD', price: 1000, change: 45 } });

    await gql(b.url, 'mutation { shiftFactionInfluence(factionId: "guild", delta: 3, reason: "a trade deal") { influence } }', {}, gm);
    expect(await shifts.next()).toEqual({
      factionInfluenceChanged: { faction: { id: 'guild', influence: 33 }, delta: 3, reason: 'a trade deal' },
    });

    await announce(c, 'hello from C', gm);
    expect(await world.next()).toEqual({ worldEvents: { kind: 'announcement', message: 'hello from C' } });

    const order = await gql(c.url, 'mutation { placeOrder(symbol: "IRON", side: BUY, quantity: 3) { price } }', {}, player.token);
    expect(order.errors).toBeUndefined();
    expect(await portfolio.next()).toEqual({
      portfolioChanged: { cash: 10_000 - 3 * order.data!.placeOrder.price, positions: [{ symbol: 'IRON', quantity: 3 }] },
    });
  });

  it('should resume a subscription on another instance with after: and miss nothing', async () => {
    const first = subscribe(wsClient(a.url), worldFeed, { after: await headCursor(db, 'world') });
    await announce(b, 'resume 1', gm);
    await announce(b, 'resume 2', gm);
    const seen = await first.take(2);
    expect(seen.map((e: any) => e.worldEvents.message)).toEqual(['resume 1', 'resume 2']);
    first.unsubscribe();

    for (const n of [3, 4, 5]) await announce(c, `resume ${n}`, gm);
    const resumed = subscribe(wsClient(b.url), worldFeed, { after: seen[1]!.worldEvents.cursor });
    const replayed = await resumed.take(3);
    expect(replayed.map((e: any) => e.worldEvents.message)).toEqual(['resume 3', 'resume 4', 'resume 5']);
    await announce(a, 'resume 6', gm);
    const live = await resumed.next();
    expect(live.worldEvents.message).toBe('resume 6');
    const seqs = [...seen, ...replayed, live].map((e: any) => cursorSeq(e.worldEvents.cursor));
    expect(seqs).toEqual(seqs.map((_, i) => seqs[0]! + i));
  });

  it('should keep each stream gapless and in order under concurrent mutations on all instances', async () => {
    const perInstance = 20;
    const [factions, world, market] = [
      subscribe(wsClient(a.url), 'subscription ($after: String) { factionInfluenceChanged(after: $after) { cursor delta } }', {
        after: await headCursor(db, 'factions'),
      }),
      subscribe(wsClient(c.url), worldFeed, { after: await headCursor(db, 'world') }),
      subscribe(wsClient(b.url), 'subscription ($after: String) { stockTicked(symbols: ["IRON"], after: $after) { cursor price } }', {
        after: await headCursor(db, 'market'),
      }),
    ];
    const [{ influence: before }] = await db.query('select influence from factions where id = $1', ['crown']);
    const deltas: number[] = [];
    const results = await Promise.all(
      [a, b, c].flatMap((instance, i) =>
        Array.from({ length: perInstance }, (_, k) => {
          const n = i * perInstance + k;
          const delta = n % 2 ? -0.25 : 0.5;
          deltas.push(delta);
          return [
            gql(instance.url, 'mutation ($d: Float!) { shiftFactionInfluence(factionId: "crown", delta: $d, reason: "load") { id } }', { d: delta }, gm),
            announce(instance, `load ${n}`, gm),
            gql(instance.url, 'mutation ($p: Float!) { setStockPrice(symbol: "IRON", price: $p) { price } }', { p: 40 + n / 100 }, gm),
          ];
        }).flat(),
      ),
    );
    expect(results.filter((r) => r.errors)).toEqual([]);
    const total = 3 * perInstance;

    // Every subscriber gets every event once, in cursor order, with no hole.
    for (const [feed, field] of [[factions, 'factionInfluenceChanged'], [world, 'worldEvents'], [market, 'stockTicked']] as const) {
      const seqs = (await feed.take(total, 15_000)).map((e: any) => cursorSeq(e[field].cursor));
      expect(seqs, field).toEqual(seqs.map((_, i) => seqs[0]! + i));
    }
    // The log itself: gapless per stream, and no update lost on the contended rows.
    const streams = await db.query(
      `select stream, count(*)::int as count, min(seq) as min, max(seq) as max, (select last_seq from streams s where s.stream = e.stream) as head
       from events e group by stream order by stream`,
    );
    for (const row of streams) expect(row, row.stream).toMatchObject({ count: row.max, min: 1, head: row.max });
    const [{ influence: after }] = await db.query('select influence from factions where id = $1', ['crown']);
    expect(after).toBeCloseTo(before + deltas.reduce((sum, d) => sum + d, 0), 6);
  });
});
