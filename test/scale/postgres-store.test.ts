import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { createEventLog, type EventLog } from '../../server/events/event-log.js';
import { createRealmPubSub } from '../../server/events/pubsub.js';
import { createLogger } from '../../server/logger.js';
import { migrationProvider } from '../../server/store/migrations.js';
import { createStore, type Store } from '../../server/store/store.js';
import { gql, onTeardown, startServer } from '../support/harness.js';
import { createTestDatabase, servicesAvailable } from '../support/scale.js';

const available = await servicesAvailable({ postgres: true });
const logger = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');

async function openStore(url: string): Promise<Store> {
  const store = await createStore({ databaseUrl: url });
  onTeardown(() => store.dispose());
  return store;
}

function eventLogOver(store: Store): EventLog {
  return createEventLog({ store, pubsub: createRealmPubSub(), logger, retention: { maxAgeMs: 86_400_000, keepNewest: 1_000 } });
}

/** Resolves once `parties` callers have arrived. */
function barrier(parties: number) {
  let arrived = 0;
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return () => {
    if (++arrived >= parties) open();
    return opened;
  };
}

describe.skipIf(!available)('PostgreSQL store', () => {
  it('should migrate once when three instances start together on a fresh database', async () => {
    const db = await createTestDatabase();
    const stores = await Promise.all([openStore(db.url), openStore(db.url), openStore(db.url)]);
    expect(stores.map((s) => s.dialect)).toEqual(['postgres', 'postgres', 'postgres']);
    const migrations = await db.query('select name from kysely_migration order by name');
    const expected = Object.keys(await migrationProvider('postgres').getMigrations()).sort();
    expect(expected.length).toBeGreaterThan(0);
    expect(migrations.map((m) => m.name)).toEqual(expected);
    const tables = await db.query(`select table_name from information_schema.tables where table_schema = 'public' order by 1`);
    expect(tables.map((t) => t.table_name)).toEqual(expect.arrayContaining(['events', 'factions', 'pnl_series', 'stocks', 'strategies', 'streams']));
  });

  it('should seed the world exactly once when three instances start together', async () => {
    const db = await createTestDatabase();
    await Promise.all([1, 2, 3].map(() => startServer({ databaseUrl: db.url })));
    const [counts] = await db.query(`select
      (select count(*) from stocks)::int as stocks,
      (select count(*) from price_history)::int as history,
      (select count(*) from factions)::int as factions,
      (select count(*) from events where stream = 'world')::int as world,
      (select last_seq from streams where stream = 'world') as world_seq`);
    expect(counts).toEqual({ stocks: 6, history: 6, factions: 4, world: 1, world_seq: 1 });
  });

  it('should serve every domain query with numbers, not strings, on PostgreSQL', async () => {
    const db = await createTestDatabase();
    const app = await startServer({ databaseUrl: db.url });
    const gm = await app.token('GAME_MASTER');
    const player = await app.token('PLAYER');
    await gql(app.url, 'mutation { setStockPrice(symbol: "IRON", price: 50.25) { price } }', {}, gm);
    await gql(app.url, 'mutation { placeOrder(symbol: "IRON", side: BUY, quantity: 7) { id } }', {}, player);
    await gql(app.url, 'mutation { placeOrder(symbol: "IRON", side: SELL, quantity: 2) { id } }', {}, player);
    await gql(app.url, 'mutation { shiftFactionInfluence(factionId: "crown", delta: 12.5, reason: "coronation") { influence } }', {}, gm);
    const { data, errors } = await gql(
      app.url,
      `{ stocks { symbol price change changePercent volume history(last: 3) { price } }
         factions { id influence lastChange }
         worldEvents(last: 5) { cursor kind }
         portfolio { cash realizedPnl unrealizedPnl totalValue positions { symbol quantity averageCost marketValue unrealizedPnl } } }`,
      {},
      player,
    );
    expect(errors).toBeUndefined();
    expect(data!.stocks.find((s: any) => s.symbol === 'IRON')).toEqual({
      symbol: 'IRON', price: 50.25, change: 7.75, changePercent: 18.24, volume: 9, history: [{ price: 42.5 }, { price: 50.25 }],
    });
    expect(data!.factions[0]).toEqual({ id: 'crown', influence: 52.5, lastChange: 12.5 });
    expect(data!.worldEvents.map((e: any) => e.kind)).toEqual(['faction.shift', 'market.surge', 'welcome']);
    expect(data!.portfolio).toEqual({
      cash: 10_000 - 7 * 50.25 + 2 * 50.25, realizedPnl: 0, unrealizedPnl: 0, totalValue: 10_000,
      positions: [{ symbol: 'IRON', quantity: 5, averageCost: 50.25, marketValue: 251.25, unrealizedPnl: 0 }],
    });

    // Straight from the store: integer, double precision, serial, bigint (count) and numeric are numbers.
    const { store } = app.services;
    const [stock] = await store.db.selectFrom('stocks').selectAll().where('symbol', '=', 'IRON').execute();
    const [point] = await store.db.selectFrom('priceHistory').selectAll().limit(1).execute();
    const aggregates = await store.db
      .selectFrom('events')
      .select((eb) => [eb.fn.countAll().as('count'), eb.fn.sum('seq').as('sum'), sql<number>`avg(seq)`.as('avg'), eb.fn.max('seq').as('max')])
      .executeTakeFirstOrThrow();
    for (const value of [stock!.priceCents, stock!.openPriceCents, stock!.volume, point!.id, point!.priceCents, ...Object.values(aggregates)]) {
      expect(typeof value).toBe('number');
    }
    expect(await app.services.events.prune(new Date(Date.now() + 2 * 86_400_000))).toBe(0);
    // Pruning runs on PostgreSQL too, and keeps a short history whole.
    await app.services.market.pruneHistory();
    expect((await app.services.market.history('IRON', 500)).map((p) => p.price)).toEqual([42.5, 50.25]);
  });

  it('should keep every stream gapless and commit-ordered while three instances append concurrently', async () => {
    const db = await createTestDatabase();
    const logs = (await Promise.all([1, 2, 3].map(() => openStore(db.url)))).map(eventLogOver);
    const streams = ['market', 'world', 'factions'];
    let writing = true;
    let reads = 0;
    // While the writers run, no reader may ever see seq N+1 without seq N.
    const reader = (async () => {
      while (writing) {
        const rows = await db.query<{ stream: string; seqs: number[] }>(
          'select stream, array_agg(seq order by seq) as seqs from events group by stream',
        );
        for (const { stream, seqs } of rows) expect(seqs, stream).toEqual(seqs.map((_, i) => i + 1));
        reads++;
      }
    })();
    const rolledBack = 'roll back';
    const write = (i: number) =>
      logs[i % 3]!.transact(async (_tx, append) => {
        // One lock order for all, as in the domain (a stream before `world`); opposite orders deadlock (next test).
        for (const stream of streams.slice(0, 1 + (i % 3))) {
          await append(stream, 'WorldEvent', { kind: 'test', message: `writer ${i}`, severity: 'INFO' });
        }
        if (i % 7 === 3) throw new Error(rolledBack); // its sequence numbers are handed out again
      });
    // 90 transactions by 30 concurrent writers, about ten per instance (its pool size).
    const total = 90;
    const failures: string[] = [];
    let next = 0;
    const writer = async () => {
      while (next < total) await write(next++).catch((error: Error) => failures.push(error.message));
    };
    await Promise.all(Array.from({ length: 30 }, writer));
    writing = false;
    await reader;
    expect(reads).toBeGreaterThan(0);
    expect(failures).toEqual(Array(Math.ceil((total - 3) / 7)).fill(rolledBack));
    const heads = await db.query<{ stream: string; last_seq: number; count: string }>(
      'select s.stream, s.last_seq, count(e.seq) as count from streams s join events e using (stream) group by 1, 2',
    );
    for (const { stream, last_seq, count } of heads) {
      expect(Number(count), stream).toBe(last_seq);
      expect((await logs[0]!.read(stream, 0, 1_000)).map((e) => e.seq)).toEqual(Array.from({ length: last_seq }, (_, i) => i + 1));
    }
    expect(heads.map((h) => h.stream).sort()).toEqual([...streams].sort());
  });

  it('should retry a transaction PostgreSQL aborted as a deadlock victim, so both writers succeed', async () => {
    const db = await createTestDatabase();
    const [a, b] = (await Promise.all([openStore(db.url), openStore(db.url)])).map(eventLogOver);
    const bothHoldOne = barrier(2);
    const cross = (log: EventLog, first: string, second: string) =>
      log.transact(async (_tx, append) => {
        await append(first, 'WorldEvent', { kind: 'test', message: first, severity: 'INFO' });
        await bothHoldOne(); // each holds one stream row and now asks for the other's
        await append(second, 'WorldEvent', { kind: 'test', message: second, severity: 'INFO' });
      });
    await Promise.all([cross(a!, 'left', 'right'), cross(b!, 'right', 'left')]);
    expect(await db.query('select stream, last_seq from streams order by stream')).toEqual([
      { stream: 'left', last_seq: 2 },
      { stream: 'right', last_seq: 2 },
    ]);
  });
});
