import type { Kysely, Migration, MigrationProvider } from 'kysely';

/** The SQL dialects the store runs on. */
export type Dialect = 'sqlite' | 'postgres';

/**
 * Schema migrations, applied in name order at start by Kysely's Migrator
 * (which takes a lock on PostgreSQL so instances starting together do not
 * race). Column types are chosen to mean the same on SQLite and PostgreSQL:
 * `double precision` (SQLite gives it REAL affinity), `integer`, `text`.
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
});

/** Serves the migrations above to Kysely's Migrator. */
export function migrationProvider(dialect: Dialect): MigrationProvider {
  return { getMigrations: async () => migrations(dialect) };
}
