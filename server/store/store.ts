import { mkdirSync } from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { CamelCasePlugin, Kysely, Migrator, PostgresDialect, SqliteDialect, sql, type LogEvent, type Transaction } from 'kysely';
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
   * PostgreSQL they run concurrently and use {@link Store.lockForUpdate}, and
   * one aborted as a deadlock victim runs again (up to 3 times in all), so
   * `work` must have no effects outside `tx`.
   */
  transaction<T>(work: (tx: Tx) => Promise<T>): Promise<T>;
  /** Adds `FOR UPDATE` where the dialect has row locks (SQLite serializes writers). */
  lockForUpdate<Q extends { forUpdate(): Q }>(query: Q): Q;
  /**
   * Takes a named lock held until `tx` ends, so only one transaction at a
   * time (across every instance) runs the work that follows; used where two
   * instances could otherwise both decide a table is empty (seeding). A
   * PostgreSQL transaction-scoped advisory lock; a no-op on SQLite, whose
   * write transactions are serialized anyway.
   */
  lockExclusive(tx: Tx, name: string): Promise<void>;
  /** Resolves when the database answers a trivial query. */
  ping(): Promise<void>;
  /** Closes every connection. */
  dispose(): Promise<void>;
}

/** Where the store keeps its data, and where connection errors are reported. */
export type StoreOptions = ({ databaseUrl: string } | { dataDir: string }) & {
  /** Receives errors of idle PostgreSQL connections (server restart, network). @default ignore them */
  onConnectionError?: (error: Error) => void;
  /**
   * Called with the SQL of every statement the store runs, before its result
   * is used; tests count statements with it (a list must not cost one read per
   * row). @default nothing is called
   */
  onQuery?: (sql: string) => void;
};

/** PostgreSQL error codes after which a whole transaction may simply run again. */
const retryableCodes = new Set(['40P01' /* deadlock_detected */, '40001' /* serialization_failure */]);
/** How many times a transaction runs at most when PostgreSQL aborts it as a deadlock victim. */
const maxTransactionAttempts = 3;

/**
 * Type parsers of the pool: `bigint` (`count(*)`, `sum` of integers) and
 * `numeric` come back from pg as strings; the domain works with numbers, so
 * they are parsed here once (values stay well inside 2^53). `integer` and
 * `double precision` are numbers already.
 */
const pgTypes = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === pg.types.builtins.INT8 || oid === pg.types.builtins.NUMERIC) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format as 'text');
  }) as typeof pg.types.getTypeParser,
};

/** Opens the store and applies pending migrations before resolving. */
export async function createStore(options: StoreOptions): Promise<Store> {
  const dialect: Dialect = 'databaseUrl' in options ? 'postgres' : 'sqlite';
  const db = new Kysely<Database>({
    dialect:
      'databaseUrl' in options
        ? new PostgresDialect({ pool: openPostgresPool(options.databaseUrl, options.onConnectionError) })
        : new SqliteDialect({ database: openSqliteFile(options.dataDir) }),
    plugins: [new CamelCasePlugin()],
    // Kysely calls `log` for every statement, failed ones included.
    ...(options.onQuery ? { log: (event: LogEvent) => options.onQuery!(event.query.sql) } : {}),
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
    async transaction(work) {
      // A deadlock victim (two transactions locking the same rows or streams
      // in opposite orders) is rolled back whole, so running it again is safe.
      for (let attempt = 1; ; attempt++) {
        try {
          return await db.transaction().execute(work);
        } catch (error) {
          const code = (error as { code?: unknown }).code;
          if (attempt >= maxTransactionAttempts || typeof code !== 'string' || !retryableCodes.has(code)) throw error;
        }
      }
    },
    lockForUpdate: (query) => (dialect === 'postgres' ? query.forUpdate() : query),
    async lockExclusive(tx, name) {
      if (dialect === 'postgres') await sql`select pg_advisory_xact_lock(hashtext(${`realmcast:${name}`}))`.execute(tx);
    },
    ping: async () => {
      await sql`select 1`.execute(db);
    },
    dispose: () => db.destroy(),
  };
}

function openPostgresPool(connectionString: string, onConnectionError: (error: Error) => void = () => {}) {
  const pool = new pg.Pool({
    connectionString,
    max: 10,
    // Give up on a connection (new, or waiting for a free one) after 10 s
    // instead of hanging on a server that does not answer; the request fails
    // masked. (A refused connection fails at once anyway.)
    connectionTimeoutMillis: 10_000,
    types: pgTypes,
  });
  // A connection that dies (server restart, network) emits 'error' on its
  // client, whether idle in the pool or inside a transaction; without a
  // listener that would crash the process. The query in flight fails on its
  // own (the transaction is rolled back by the server), and the pool drops the
  // broken client and opens a new one on next use.
  pool.on('connect', (client) => client.on('error', onConnectionError));
  pool.on('error', () => {}); // the same error, re-emitted for idle clients: reported above
  return pool;
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
