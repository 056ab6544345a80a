import path from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { migrationProvider, type Dialect } from '../../server/store/migrations.js';
import { gql, startServer, subscribe, tempDataDir, wsClient } from '../support/harness.js';
import { createTestDatabase, servicesAvailable } from '../support/scale.js';

const postgres = await servicesAvailable({ postgres: true });

/** A store as version one left it: only the first migration, money in floating point, one position per symbol. */
async function versionOneStore(dialect: Dialect, target: { dataDir: string } | { url: string }) {
  const db = new Kysely<any>({
    dialect:
      'url' in target
        ? new PostgresDialect({ pool: new pg.Pool({ connectionString: target.url, max: 1 }) })
        : new SqliteDialect({ database: new SQLite(path.join(target.dataDir, 'realmcast.sqlite')) }),
  });
  const all = await migrationProvider(dialect).getMigrations();
  const { error } = await new Migrator({ db, provider: { getMigrations: async () => ({ '0001_initial': all['0001_initial']! }) } }).migrateToLatest();
  if (error) throw error;
  await sql`insert into stocks (symbol, name, price, open_price, volume, updated_at) values ('IRON', 'Ironforge Mining Company', 42.5, 40.1, 7, '2026-10-02T10:00:00.000Z')`.execute(db);
  await sql`insert into price_history (symbol, price, at) values ('IRON', 40.1, '2026-10-01T09:00:00.000Z'), ('IRON', 42.5, '2026-10-02T10:00:00.000Z')`.execute(db);
  await sql`insert into accounts (player_id, cash, realized_pnl) values ('veteran', 9872.35, 12.5)`.execute(db);
  await sql`insert into positions (player_id, symbol, quantity, average_cost) values ('veteran', 'IRON', 3, 42.5)`.execute(db);
  await sql`insert into trades (id, player_id, symbol, side, quantity, price, at) values
    ('t1', 'veteran', 'IRON', 'BUY', 5, 42.5, '2026-10-01T10:00:00.000Z'),
    ('t2', 'veteran', 'IRON', 'SELL', 2, 48.75, '2026-10-02T10:00:00.000Z')`.execute(db);
  await db.destroy();
}

describe.each([
  ['SQLite', 'sqlite' as const],
  ['PostgreSQL', 'postgres' as const],
])('migrating version one money on %s', (_name, dialect) => {
  it.skipIf(dialect === 'postgres' && !postgres)('should convert cash, prices, positions and trades to exact cents under "manual", with a replayable trade log', async () => {
    const dataDir = tempDataDir();
    let databaseUrl: string | undefined;
    if (dialect === 'postgres') databaseUrl = (await createTestDatabase()).url;
    await versionOneStore(dialect, databaseUrl ? { url: databaseUrl } : { dataDir });

    const app = await startServer({ dataDir, databaseUrl });
    const token = await app.tokens.sign({ id: 'veteran', name: 'Veteran', role: 'PLAYER', scopes: [] });
    const { data, errors } = await gql(
      app.url,
      '{ portfolio { cash realizedPnl totalValue positions { symbol quantity averageCost } strategies { strategy realizedPnl trades } trades { cursor id side price strategy realizedPnl } } }',
      {},
      token,
    );
    expect(errors).toBeUndefined();
    expect(data!.portfolio).toMatchObject({
      cash: 9872.35,
      realizedPnl: 12.5,
      totalValue: 9872.35 + 3 * 42.5,
      positions: [{ symbol: 'IRON', quantity: 3, averageCost: 42.5 }],
      strategies: [{ strategy: 'manual', realizedPnl: 12.5, trades: 2 }],
    });
    const trades = data!.portfolio.trades;
    // Stock prices, open price and history are integer cents now, the same values.
    const iron = await gql(app.url, '{ stock(symbol: "IRON") { price openPrice change volume history(last: 5) { price } } }');
    expect(iron.data!.stock).toEqual({ price: 42.5, openPrice: 40.1, change: 2.4, volume: 7, history: [{ price: 40.1 }, { price: 42.5 }] });
    expect(await app.services.store.db.selectFrom('stocks').select(['priceCents', 'openPriceCents']).where('symbol', '=', 'IRON').executeTakeFirst()).toEqual({
      priceCents: 4_250,
      openPriceCents: 4_010,
    });
    expect(trades.map((t: any) => [t.id, t.side, t.price, t.strategy])).toEqual([
      ['t2', 'SELL', 48.75, 'manual'],
      ['t1', 'BUY', 42.5, 'manual'],
    ]);

    // The old trades are the start of the trade log: resuming after the first replays the second, then the next live one.
    const log = subscribe(wsClient(app.url, token), 'subscription ($after: String) { tradeExecuted(after: $after) { id quantity price } }', { after: trades[1].cursor });
    expect((await log.next()).tradeExecuted).toEqual({ id: 't2', quantity: 2, price: 48.75 });
    const fresh = await gql(app.url, 'mutation { placeOrder(symbol: "IRON", side: SELL, quantity: 3) { id realizedPnl } }', {}, token);
    expect(fresh.data!.placeOrder.realizedPnl).toBe(0);
    expect((await log.next()).tradeExecuted).toMatchObject({ id: fresh.data!.placeOrder.id, quantity: 3, price: 42.5 });
  });
});
