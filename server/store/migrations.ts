import { sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';

/** The SQL dialects the store runs on. */
export type Dialect = 'sqlite' | 'postgres';

/**
 * Schema migrations, applied in name order at start by Kysely's Migrator
 * (which takes a lock on PostgreSQL so instances starting together do not
 * race). Column types are chosen to mean the same on SQLite and PostgreSQL:
 * `double precision` (SQLite gives it REAL affinity), `integer`, `bigint`
 * (money in cents; INTEGER affinity on SQLite), `text`.
 * Never edit a released migration: add the next one.
 */
const migrations = (dialect: Dialect): Record<string, Migration> => ({
  '0001_initial': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('players')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('stocks')
        .addColumn('symbol', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('price', 'double precision', (c) => c.notNull())
        .addColumn('open_price', 'double precision', (c) => c.notNull())
        .addColumn('volume', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('price_history')
        // SQLite's INTEGER PRIMARY KEY is its rowid alias; PostgreSQL needs a serial.
        .addColumn('id', dialect === 'postgres' ? 'serial' : 'integer', (c) =>
          dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement(),
        )
        .addColumn('symbol', 'text', (c) => c.notNull())
        .addColumn('price', 'double precision', (c) => c.notNull())
        .addColumn('at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('price_history_symbol_id').on('price_history').columns(['symbol', 'id']).execute();
      await db.schema
        .createTable('accounts')
        .addColumn('player_id', 'text', (c) => c.primaryKey())
        .addColumn('cash', 'double precision', (c) => c.notNull())
        .addColumn('realized_pnl', 'double precision', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema
        .createTable('positions')
        .addColumn('player_id', 'text', (c) => c.notNull())
        .addColumn('symbol', 'text', (c) => c.notNull())
        .addColumn('quantity', 'integer', (c) => c.notNull())
        .addColumn('average_cost', 'double precision', (c) => c.notNull())
        .addPrimaryKeyConstraint('positions_pk', ['player_id', 'symbol'])
        .execute();
      await db.schema
        .createTable('trades')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('player_id', 'text', (c) => c.notNull())
        .addColumn('symbol', 'text', (c) => c.notNull())
        .addColumn('side', 'text', (c) => c.notNull())
        .addColumn('quantity', 'integer', (c) => c.notNull())
        .addColumn('price', 'double precision', (c) => c.notNull())
        .addColumn('at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('factions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('influence', 'double precision', (c) => c.notNull())
        .addColumn('last_change', 'double precision', (c) => c.notNull().defaultTo(0))
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('games')
        .addColumn('code', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('max_players', 'integer', (c) => c.notNull())
        .addColumn('turn_number', 'integer', (c) => c.notNull())
        .addColumn('host_id', 'text', (c) => c.notNull())
        .addColumn('scenario_id', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('game_players')
        .addColumn('code', 'text', (c) => c.notNull())
        .addColumn('player_id', 'text', (c) => c.notNull())
        .addColumn('joined_at', 'text', (c) => c.notNull())
        .addColumn('last_seen_at', 'text')
        .addPrimaryKeyConstraint('game_players_pk', ['code', 'player_id'])
        .execute();
      await db.schema.createIndex('game_players_player').on('game_players').column('player_id').execute();
      await db.schema
        .createTable('choices')
        .addColumn('code', 'text', (c) => c.notNull())
        .addColumn('turn_number', 'integer', (c) => c.notNull())
        .addColumn('player_id', 'text', (c) => c.notNull())
        .addColumn('choice_id', 'text', (c) => c.notNull())
        .addColumn('at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('choices_pk', ['code', 'turn_number', 'player_id'])
        .execute();
      await db.schema
        .createTable('turns')
        .addColumn('code', 'text', (c) => c.notNull())
        .addColumn('turn_number', 'integer', (c) => c.notNull())
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('resolved_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('turns_pk', ['code', 'turn_number'])
        .execute();
      await db.schema
        .createTable('streams')
        .addColumn('stream', 'text', (c) => c.primaryKey())
        .addColumn('last_seq', 'integer', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('events')
        .addColumn('stream', 'text', (c) => c.notNull())
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('events_pk', ['stream', 'seq'])
        .execute();
    },
  },
  '0002_money_in_cents_strategies_pnl': {
    // Money becomes exact: integer cents (`bigint`) instead of floating point,
    // positions are kept per strategy, trades carry their strategy, realized
    // P&L and their position in the player's trade stream, and the P&L series
    // gets its table. Existing data is converted, nothing is lost: cash and
    // prices round to the cent they already were, positions and trades go to
    // the "manual" strategy, and every old trade gets its log entry so
    // `tradeExecuted(after:)` can replay it.
    async up(db: Kysely<unknown>) {
      const cents = (column: string) => sql.raw(`cast(round(${column} * 100) as bigint)`);

      await db.schema.alterTable('accounts').addColumn('cash_cents', 'bigint', (c) => c.notNull().defaultTo(0)).execute();
      await sql`update accounts set cash_cents = ${cents('cash')}`.execute(db);

      await db.schema
        .createTable('strategies')
        .addColumn('player_id', 'text', (c) => c.notNull())
        .addColumn('strategy', 'text', (c) => c.notNull())
        .addColumn('realized_cents', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('trades', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('wins', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('losses', 'integer', (c) => c.notNull().defaultTo(0))
        .addPrimaryKeyConstraint('strategies_pk', ['player_id', 'strategy'])
        .execute();
      // Old trades did not record their realized P&L: the account's total goes to "manual", wins/losses start at 0.
      await sql`insert into strategies (player_id, strategy, realized_cents, trades, wins, losses)
        select a.player_id, 'manual', ${cents('a.realized_pnl')}, (select count(*) from trades t where t.player_id = a.player_id), 0, 0
        from accounts a`.execute(db);
      await db.schema.alterTable('accounts').dropColumn('cash').execute();
      await db.schema.alterTable('accounts').dropColumn('realized_pnl').execute();

      // SQLite cannot change a primary key in place: copy into a new table.
      await db.schema
        .createTable('strategy_positions')
        .addColumn('player_id', 'text', (c) => c.notNull())
        .addColumn('strategy', 'text', (c) => c.notNull())
        .addColumn('symbol', 'text', (c) => c.notNull())
        .addColumn('quantity', 'integer', (c) => c.notNull())
        .addColumn('cost_cents', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('strategy_positions_pk', ['player_id', 'strategy', 'symbol'])
        .execute();
      await sql`insert into strategy_positions (player_id, strategy, symbol, quantity, cost_cents)
        select player_id, 'manual', symbol, quantity, ${cents('quantity * average_cost')} from positions`.execute(db);
      await db.schema.dropTable('positions').execute();
      await db.schema.alterTable('strategy_positions').renameTo('positions').execute();
      await db.schema.createIndex('positions_symbol').on('positions').column('symbol').execute();

      await db.schema.alterTable('trades').addColumn('strategy', 'text', (c) => c.notNull().defaultTo('manual')).execute();
      await db.schema.alterTable('trades').addColumn('price_cents', 'bigint', (c) => c.notNull().defaultTo(0)).execute();
      await db.schema.alterTable('trades').addColumn('realized_cents', 'bigint', (c) => c.notNull().defaultTo(0)).execute();
      await db.schema.alterTable('trades').addColumn('seq', 'integer', (c) => c.notNull().defaultTo(0)).execute();
      await sql`update trades set price_cents = ${cents('price')}`.execute(db);
      await db.schema.alterTable('trades').dropColumn('price').execute();
      // Each player's old trades become the start of their trade stream, in time order.
      // One-word aliases: the app's CamelCasePlugin renames snake_case result keys.
      const old = await sql<{ id: string; owner: string; symbol: string; side: string; quantity: number; cents: number | string; at: string }>`
        select id, player_id as owner, symbol, side, quantity, price_cents as cents, at from trades order by player_id, at, id`.execute(db);
      const seqs = new Map<string, number>();
      for (const trade of old.rows) {
        const seq = (seqs.get(trade.owner) ?? 0) + 1;
        seqs.set(trade.owner, seq);
        const payload = {
          id: trade.id, playerId: trade.owner, symbol: trade.symbol, side: trade.side, quantity: trade.quantity,
          priceCents: Number(trade.cents), strategy: 'manual', realizedCents: 0, at: trade.at,
        };
        await sql`update trades set seq = ${seq} where id = ${trade.id}`.execute(db);
        await sql`insert into events (stream, seq, type, payload, at)
          values (${`trades:${trade.owner}`}, ${seq}, 'TradeExecuted', ${JSON.stringify(payload)}, ${trade.at})`.execute(db);
      }
      for (const [playerId, lastSeq] of seqs) {
        await sql`insert into streams (stream, last_seq) values (${`trades:${playerId}`}, ${lastSeq})`.execute(db);
      }
      await db.schema.createIndex('trades_player_seq').on('trades').columns(['player_id', 'seq']).unique().execute();
      await db.schema.createIndex('trades_player_at').on('trades').columns(['player_id', 'at']).execute();

      // The P&L series: one row per (player, strategy, resolution, bucket);
      // the key is what makes recording idempotent (an upsert per bucket).
      await db.schema
        .createTable('pnl_series')
        .addColumn('player_id', 'text', (c) => c.notNull())
        .addColumn('strategy', 'text', (c) => c.notNull())
        .addColumn('resolution', 'text', (c) => c.notNull())
        .addColumn('bucket', 'bigint', (c) => c.notNull())
        .addColumn('open_cents', 'bigint', (c) => c.notNull())
        .addColumn('high_cents', 'bigint', (c) => c.notNull())
        .addColumn('low_cents', 'bigint', (c) => c.notNull())
        .addColumn('close_cents', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('pnl_series_pk', ['player_id', 'strategy', 'resolution', 'bucket'])
        .execute();
    },
  },
  '0003_abuse_limits': {
    async up(db: Kysely<unknown>) {
      // What turns moved each stock or faction, for the budget per window (server/domain/economy.ts).
      await db.schema
        .createTable('turn_effects')
        .addColumn('target', 'text', (c) => c.notNull())
        .addColumn('amount', 'double precision', (c) => c.notNull())
        .addColumn('at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('turn_effects_target_at').on('turn_effects').columns(['target', 'at']).execute();
      // The trade each idempotency key of a player produced, so a retried order returns it instead of trading again.
      await db.schema
        .createTable('order_keys')
        .addColumn('player_id', 'text', (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('trade_id', 'text', (c) => c.notNull())
        .addColumn('at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('order_keys_pk', ['player_id', 'key'])
        .execute();
    },
  },
  '0004_stock_prices_in_cents': {
    // Stock prices become integer cents too (they were cent-rounded doubles),
    // so every amount in the store is exact. New columns, filled from the old
    // ones, which are then dropped (SQLite cannot change a column's type).
    async up(db: Kysely<unknown>) {
      const cents = (column: string) => sql.raw(`cast(round(${column} * 100) as bigint)`);
      await db.schema.alterTable('stocks').addColumn('price_cents', 'bigint', (c) => c.notNull().defaultTo(0)).execute();
      await db.schema.alterTable('stocks').addColumn('open_price_cents', 'bigint', (c) => c.notNull().defaultTo(0)).execute();
      await sql`update stocks set price_cents = ${cents('price')}, open_price_cents = ${cents('open_price')}`.execute(db);
      await db.schema.alterTable('stocks').dropColumn('price').execute();
      await db.schema.alterTable('stocks').dropColumn('open_price').execute();
      await db.schema.alterTable('price_history').addColumn('price_cents', 'bigint', (c) => c.notNull().defaultTo(0)).execute();
      await sql`update price_history set price_cents = ${cents('price')}`.execute(db);
      await db.schema.alterTable('price_history').dropColumn('price').execute();
    },
  },
});

/** Serves the migrations above to Kysely's Migrator. */
export function migrationProvider(dialect: Dialect): MigrationProvider {
  return { getMigrations: async () => migrations(dialect) };
}
