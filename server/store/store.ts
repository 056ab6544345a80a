import { mkdirSync } from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { CamelCasePlugin, Kysely, Migrator, PostgresDialect, SqliteDialect, sql, type Transaction } from 'kysely';
import type { Database } from './database.js';
import { migrationProvider, type Dialect } from './migrations.js';

export type { Database, Dialect };
export type Tx = Transaction<Database>;
export type Db = Kysely<Database>;

/**
 * The one storage interface Realmcast's domain code talks to. Both
 * implementations are Kysely over the same tables; what differs between
 * SQLite and PostgreSQL (row locks, connection handling) stays in here.
 */
export interface Store {
  readonly dialect: Dialect;
  /** Query builder for reads outside a transaction. */
  readonly db: Db;
  /**
   * Runs `work` in one transaction: all of it commits or none of it does.
   * On SQLite all transactions are serialized by the single connection; on
   * PostgreSQL they run concurrently and use {@link Store.lockForUpdate}.
   */
  transaction<T>(work: (tx: Tx) => Promise<T>): Promise<T>;
  /** Adds `FOR UPDATE` where the dialect has row locks (SQLite serializes writers). */
  lockForUpdate<Q extends { forUpdate(): Q }>(query: Q): Q;
  /** Resolves when the database answers a trivial query. */
  ping(): Promise<void>;
  /** Closes every connection. */
  dispose(): Promise<void>;
}

/** Where the store keeps its data. */
export type StoreOptions = { databaseUrl: string } | { dataDir: string };

/** Opens the store and applies pending migrations before resolving. */
export async function createStore(options: StoreOptions): Promise<Store> {
  const dialect: Dialect = 'databaseUrl' in options ? 'postgres' : 'sqlite';
  const db = new Kysely<Database>({
    dialect:
      'databaseUrl' in options
        ? new PostgresDialect({ pool: new pg.Pool({ connectionString: options.databaseUrl, max: 10 }) })
        : new SqliteDialect({ database: openSqliteFile(options.dataDir) }),
    plugins: [new CamelCasePlugin()],
  });
  try {
    const { error } = await new Migrator({ db, provider: migrationProvider(dialect) }).migrateToLatest();
    if (error) throw error;
  } catch (error) {
    await db.destroy();
    throw error;
  }
  return {
    dialect,
    db,
    transaction: (work) => db.transaction().execute(work),
    lockForUpdate: (query) => (dialect === 'postgres' ? query.forUpdate() : query),
    ping: async () => {
      await sql`select 1`.execute(db);
    },
    dispose: () => db.destroy(),
  };
}

function openSqliteFile(dataDir: string) {
  mkdirSync(dataDir, { recursive: true });
  const database = new SQLite(path.join(dataDir, 'realmcast.sqlite'));
  // WAL lets readers of other processes (the token CLI) in while the server writes.
  database.pragma('journal_mode = WAL');
  database.pragma('busy_timeout = 5000');
  database.pragma('foreign_keys = ON');
  return database;
}
