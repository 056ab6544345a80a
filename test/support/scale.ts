/**
 * Real services for the scale-out tests: the machine's Redis and PostgreSQL,
 * a fresh PostgreSQL database and Redis key prefix per test file, real server
 * processes, a private `redis-server` to restart, and a TCP proxy to cut.
 * Nothing here is mocked.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import pg from 'pg';
import { createTokenIssuer, type Role } from '../../server/auth.js';
import { encodeCursor } from '../../server/events/event-log.js';
import { connectRedis, type RedisConnections } from '../../server/events/redis-connections.js';
import { createLogger } from '../../server/logger.js';
import { eventually, onTeardown, tempDataDir } from './harness.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The machine's Redis (override with `REALMCAST_TEST_REDIS_URL`). */
export const redisUrl = process.env.REALMCAST_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
/** A database to connect to for creating test databases (override with `REALMCAST_TEST_POSTGRES_URL`). */
export const adminPostgresUrl = process.env.REALMCAST_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A random lowercase hex suffix. */
export const randomSuffix = () => randomBytes(4).toString('hex');

/**
 * Whether Redis and PostgreSQL answer. Under `CI=true` a missing service is
 * an error (the test file fails); elsewhere the caller skips, and this says
 * why on stderr.
 */
export async function servicesAvailable(needs: { redis?: boolean; postgres?: boolean } = { redis: true, postgres: true }): Promise<boolean> {
  const problems: string[] = [];
  if (needs.redis) {
    const redis = new Redis(redisUrl, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, connectTimeout: 2_000 });
    redis.on('error', () => {});
    try {
      await redis.connect();
      await redis.ping();
    } catch (error) {
      problems.push(`Redis at ${redisUrl}: ${(error as Error).message}`);
    } finally {
      redis.disconnect();
    }
  }
  if (needs.postgres) {
    const client = new pg.Client({ connectionString: adminPostgresUrl, connectionTimeoutMillis: 2_000 });
    try {
      await client.connect();
      await client.query('select 1');
    } catch (error) {
      problems.push(`PostgreSQL at ${adminPostgresUrl}: ${(error as Error).message}`);
    } finally {
      await client.end().catch(() => {});
    }
  }
  if (problems.length === 0) return true;
  const message = `scale-out tests need real services (run scripts/services.sh):\n  ${problems.join('\n  ')}`;
  if (process.env.CI === 'true') throw new Error(message);
  console.warn(`SKIPPING: ${message}`);
  return false;
}

/** Runs one query on the admin database. */
async function adminQuery(sql: string) {
  const client = new pg.Client({ connectionString: adminPostgresUrl });
  await client.connect();
  try {
    return await client.query(sql);
  } finally {
    await client.end();
  }
}

/** A fresh, empty database `realmcast_test_<random>`, dropped after the file's tests. */
export async function createTestDatabase(): Promise<{ url: string; name: string; query: <R extends pg.QueryResultRow = any>(sql: string, params?: unknown[]) => Promise<R[]> }> {
  const name = `realmcast_test_${randomSuffix()}`;
  await adminQuery(`create database ${name}`);
  const url = new URL(adminPostgresUrl);
  url.pathname = `/${name}`;
  const pool = new pg.Pool({ connectionString: url.toString(), max: 3 });
  pool.on('error', () => {});
  onTeardown(async () => {
    await pool.end();
    await adminQuery(`drop database if exists ${name} with (force)`);
  });
  return {
    url: url.toString(),
    name,
    query: async (sql, params) => (await pool.query(sql, params as unknown[])).rows,
  };
}

/** A Redis key prefix of its own, whose keys are deleted after the file's tests. */
export function testRedisPrefix(url = redisUrl): string {
  const prefix = `realmcast-test-${randomSuffix()}:`;
  onTeardown(async () => {
    const redis = new Redis(url, { lazyConnect: true, retryStrategy: () => null });
    redis.on('error', () => {});
    try {
      await redis.connect();
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length) await redis.del(...keys);
    } catch {
      // a private redis-server may be gone already
    } finally {
      redis.disconnect();
    }
  });
  return prefix;
}

/** A Redis client for assertions (PUBSUB NUMSUB, GET…), closed after the file's tests. */
export function redisClient(url = redisUrl): Redis {
  const redis = new Redis(url, { retryStrategy: (attempt) => Math.min(attempt * 100, 1_000) });
  redis.on('error', () => {});
  onTeardown(() => redis.quit().catch(() => redis.disconnect()));
  return redis;
}

/**
 * Redis connections as one app instance opens them (`connectRedis`), for
 * tests that build pub/sub, presence or leases directly; closed after the
 * file's tests, after whatever was registered for teardown later (their users).
 */
export async function instanceRedis(url = redisUrl, connectionName?: string): Promise<RedisConnections> {
  const redis = await connectRedis({ url, logger: createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'), connectionName });
  onTeardown(() => redis.dispose());
  return redis;
}

/** How many connections subscribe to `channel` in Redis. */
export async function subscriberCount(redis: Redis, channel: string): Promise<number> {
  const [, count] = (await redis.pubsub('NUMSUB', channel)) as [string, number];
  return Number(count);
}

/** The shared secret of spawned instances, so tests can sign tokens they accept. */
export const jwtSecret = `test-secret-${randomBytes(24).toString('hex')}`;
const issuer = createTokenIssuer(jwtSecret);

/** Signs a token for a new player id with `role`. */
export async function signToken(role: Role = 'PLAYER', name = `${role.toLowerCase()}-${randomSuffix()}`) {
  const id = randomUUID();
  return { id, token: await issuer.sign({ id, name, role, scopes: [] }) };
}

/** A cursor pointing at the current head of `stream`, read from the database (subscribe `after:` it to miss nothing). */
export async function headCursor(db: { query: (sql: string, params?: unknown[]) => Promise<any[]> }, stream: string) {
  const [row] = await db.query('select last_seq from streams where stream = $1', [stream]);
  return encodeCursor(stream, Number(row?.last_seq ?? 0));
}

/** Decodes a cursor to its sequence number (tests only: cursors are opaque to clients). */
export const cursorSeq = (cursor: string) => Number(Buffer.from(cursor, 'base64url').toString('utf8').split(':').pop());

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

/** A real `server/main.ts` process. */
export interface Instance {
  name: string;
  pid: number;
  /** GraphQL endpoint, e.g. `http://127.0.0.1:41234/graphql`. */
  url: string;
  /** `http://127.0.0.1:41234` */
  origin: string;
  /** Every JSON log line so far. */
  logs: LogLine[];
  /** Resolves with the first log line (past or future) matching `predicate`. */
  waitForLog(predicate: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  /** Resolves when the process has exited. */
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): void;
  /** SIGTERM, then wait for the exit (SIGKILL after 10 s). */
  stop(): Promise<void>;
}

/**
 * Spawns `node --import tsx server/main.ts` with `env` on a free port
 * (`PORT=0`) and resolves once it logs that it listens. Stopped after the
 * file's tests.
 */
export async function spawnInstance(name: string, env: Record<string, string>): Promise<Instance> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
    cwd: repoRoot,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      PORT: '0',
      HOST: '127.0.0.1',
      DATA_DIR: tempDataDir(),
      JWT_SECRET: jwtSecret,
      MARKET_TICK_MS: '0',
      PORTFOLIO_COALESCE_MS: '20',
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: LogLine[] = [];
  const lines = new EventEmitter();
  let stderr = '';
  let buffered = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const text = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      try {
        const line = JSON.parse(text) as LogLine;
        logs.push(line);
        lines.emit('line', line);
      } catch {
        // not a log line
      }
      if (process.env.TEST_LOG_LEVEL) process.stdout.write(`[${name}] ${text}\n`);
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    if (process.env.TEST_LOG_LEVEL) process.stderr.write(`[${name}:stderr] ${chunk}`);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  onTeardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
  });

  const waitForLog = (predicate: (line: LogLine) => boolean, timeoutMs = 15_000) => {
    const past = logs.find(predicate);
    if (past) return Promise.resolve(past);
    return new Promise<LogLine>((resolve, reject) => {
      const onLine = (line: LogLine) => {
        if (!predicate(line)) return;
        cleanup();
        resolve(line);
      };
      const onExit = () => {
        cleanup();
        reject(new Error(`${name} exited while waiting for a log line\n${stderr}`));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`${name}: no matching log line within ${timeoutMs} ms`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        lines.off('line', onLine);
        child.off('exit', onExit);
      };
      lines.on('line', onLine);
      child.once('exit', onExit);
    });
  };

  // A bound on a hang: three instances starting on a busy two-core machine take most of a minute.
  const listening = await waitForLog((line) => line.msg === 'Realmcast listening', 120_000);
  const url = String(listening.url);
  return {
    name,
    pid: child.pid!,
    url,
    origin: new URL(url).origin,
    logs,
    waitForLog,
    exited,
    kill: (signal = 'SIGTERM') => child.kill(signal),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** The HTTP status of `/ready`. */
export async function readyStatus(origin: string): Promise<number> {
  const response = await fetch(`${origin}/ready`);
  await response.arrayBuffer();
  return response.status;
}

/** A free TCP port on 127.0.0.1 (bound, read, released). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A `redis-server` of this test's own, which it may stop and start at will. */
export interface PrivateRedis {
  url: string;
  port: number;
  start(): Promise<void>;
  /** Stops the server (SIGTERM, nothing saved) and waits for its exit. */
  stop(): Promise<void>;
}

/**
 * Starts a private `redis-server` on a free port (never the machine's shared
 * one, which other tests use). Stopped after the file's tests.
 */
export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), 'realmcast-redis-'));
  let child: ChildProcess | undefined;
  let exited: Promise<unknown> = Promise.resolve();
  const url = `redis://127.0.0.1:${port}`;
  const stop = async () => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    await exited;
    child = undefined;
  };
  const start = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], {
      stdio: 'ignore',
    });
    const current = child;
    exited = new Promise((resolve) => current.once('exit', resolve));
    const probe = new Redis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    probe.on('error', () => {});
    await eventually(
      async () => {
        if (current.exitCode !== null) throw new Error('redis-server exited');
        if (probe.status !== 'ready') await probe.connect().catch(() => undefined);
        return (await probe.ping()) === 'PONG';
      },
      `redis-server on port ${port}`,
    ).finally(() => probe.disconnect());
  };
  onTeardown(async () => {
    await stop();
    rmSync(dir, { recursive: true, force: true });
  });
  await start();
  return { url, port, start, stop };
}

/** A TCP proxy to `target` that a test can cut (a network partition) and restore. */
export interface TcpProxy {
  port: number;
  /** Refuses new connections and resets every open one. */
  cut(): Promise<void>;
  /** Accepts connections again, on the same port. */
  restore(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const port = await freePort();
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  const listen = async () => {
    server = createServer((client) => {
      const upstream = connect(target.port, target.host);
      sockets.add(client).add(upstream);
      const close = () => {
        client.destroy();
        upstream.destroy();
        sockets.delete(client);
        sockets.delete(upstream);
      };
      client.on('error', close).on('close', close);
      upstream.on('error', close).on('close', close);
      client.pipe(upstream).pipe(client);
    });
    server.listen(port, '127.0.0.1');
    await once(server, 'listening');
  };
  const cut = async () => {
    const closing = server ? new Promise((resolve) => server!.close(resolve)) : Promise.resolve();
    server = undefined;
    for (const socket of sockets) socket.resetAndDestroy();
    sockets.clear();
    await closing;
  };
  onTeardown(cut);
  await listen();
  return { port, cut, restore: listen };
}
