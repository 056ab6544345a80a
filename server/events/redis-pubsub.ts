import { hostname } from 'node:os';
import { RedisPubSub } from 'graphql-redis-subscriptions';
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../logger.js';
import { withTimeout } from '../timeout.js';
import { createRealmPubSub, type RealmPubSub } from './pubsub.js';

export interface RedisPubSubOptions {
  /** `redis://[:password@]host:port[/db]` (or `rediss://`). */
  url: string;
  /** Prefix of every channel, so worlds can share one Redis. @default '' */
  prefix?: string;
  logger: Logger;
  /**
   * Names the two connections `<name>-publisher` and `<name>-subscriber`, so
   * operators (and tests) can find them in `CLIENT LIST`. @default `realmcast-${hostname}-${pid}`
   */
  connectionName?: string;
  /** How long start waits for Redis to answer before it fails. @default 10_000 // 10 seconds */
  connectTimeoutMs?: number;
  /**
   * Longest a publish may wait for Redis. A publish never queues while Redis
   * is away: it fails at once (or after this long when the connection drops
   * mid-command), the caller logs it, and subscribers fill the gap from the
   * event log. @default 2_000 // 2 seconds
   */
  publishTimeoutMs?: number;
}

/**
 * Delay before the n-th reconnect attempt: 100 ms more each time, at most
 * 2 seconds, forever. A Redis restart is survived without operator action.
 */
export const reconnectDelay = (attempt: number) => Math.min(attempt * 100, 2_000);

/**
 * A Redis connection for short commands that must fail fast, never late
 * (leases, presence, rate limits): no offline queue and no resending after a
 * reconnect, because a command that waited out an outage would decide
 * something nobody is listening for any more. Named
 * `realmcast-<host>-<pid>-<role>` in `CLIENT LIST`.
 */
export function createFailFastRedis(url: string, role: string, commandTimeoutMs: number): Redis {
  return new Redis(url, {
    connectionName: `realmcast-${hostname()}-${process.pid}-${role}`,
    retryStrategy: reconnectDelay,
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    commandTimeout: commandTimeoutMs,
  });
}

/**
 * The Redis engine behind {@link RealmPubSub}: graphql-redis-subscriptions'
 * `RedisPubSub` over two ioredis connections.
 *
 * - **subscriber**: holds one Redis SUBSCRIBE per channel per instance however
 *   many local subscribers listen (`RedisPubSub` refcounts and fans out
 *   in-process). Commands issued while Redis is away wait for it, and on
 *   reconnect ioredis resubscribes every channel.
 * - **publisher**: no offline queue, so a mutation never hangs on a publish
 *   while Redis is away; the event log catches and logs the failure.
 *
 * Either connection coming back after a loss calls the
 * {@link RealmPubSub.onReconnect} listeners; the event log then re-reads the
 * streams it follows and re-publishes what it could not publish, so no
 * subscriber is left behind.
 *
 * Resolves once both connections are ready; rejects when Redis does not
 * answer within `connectTimeoutMs`.
 */
export async function createRedisPubSub(options: RedisPubSubOptions): Promise<RealmPubSub> {
  const {
    url,
    prefix = '',
    logger,
    connectionName = `realmcast-${hostname()}-${process.pid}`,
    connectTimeoutMs = 10_000,
    publishTimeoutMs = 2_000,
  } = options;
  const common: RedisOptions = { retryStrategy: reconnectDelay, lazyConnect: true };
  const publisher = new Redis(url, {
    ...common,
    connectionName: `${connectionName}-publisher`,
    enableOfflineQueue: false,
    commandTimeout: publishTimeoutMs,
  });
  const subscriber = new Redis(url, {
    ...common,
    connectionName: `${connectionName}-subscriber`,
    // Keep (un)subscribes queued across any outage: RedisPubSub does not
    // handle their rejections, and they must reach Redis once it is back.
    maxRetriesPerRequest: null,
  });

  const reconnectListeners = new Set<() => void>();
  const restored = () => {
    for (const listener of reconnectListeners) listener();
  };
  watchConnection(publisher, 'publisher', redactUrl(url), logger, async () => restored());
  // Commands on one connection are answered in order, and ioredis writes the
  // resubscriptions before it emits 'ready': the PING reply means every
  // channel is subscribed again, so a re-read of the log now misses nothing.
  watchConnection(subscriber, 'subscriber', redactUrl(url), logger, async () => {
    await subscriber.ping();
    restored();
  });

  try {
    // connect() rejects on the first refused attempt, but ioredis keeps
    // retrying: wait for 'ready' instead, so Redis may come up a little later.
    const ready = [publisher, subscriber].map((client) => new Promise((resolve) => client.once('ready', resolve)));
    for (const client of [publisher, subscriber]) client.connect().catch(() => {});
    await withTimeout(Promise.all(ready), connectTimeoutMs, () =>
      new Error(`Redis at ${redactUrl(url)} did not answer within ${connectTimeoutMs} ms`),
    );
  } catch (error) {
    publisher.disconnect();
    subscriber.disconnect();
    throw error;
  }

  const engine = new RedisPubSub({
    publisher,
    subscriber,
    serializer: serializePayload,
    deserializer: (source) => deserializePayload(source.toString()),
  });

  return createRealmPubSub({
    engine,
    prefix,
    onReconnect(listener) {
      reconnectListeners.add(listener);
      return () => reconnectListeners.delete(listener);
    },
    async ping() {
      if (publisher.status !== 'ready' || subscriber.status !== 'ready') {
        throw new Error(`Redis unreachable (publisher ${publisher.status}, subscriber ${subscriber.status})`);
      }
      await publisher.ping();
    },
    async closeEngine() {
      reconnectListeners.clear();
      await Promise.all(
        [publisher, subscriber].map(async (client) => {
          // QUIT lets queued commands finish; when Redis is away, just drop the socket.
          await withTimeout(client.quit(), 1_000, () => new Error('quit timed out')).catch(() => client.disconnect());
        }),
      );
    },
  });
}

/**
 * Logs a connection's losses and recoveries once each (not on every retry)
 * and runs `onRestored` when it is ready again after a loss.
 */
function watchConnection(client: Redis, role: string, where: string, logger: Logger, onRestored: () => Promise<void>) {
  let connected = false;
  let lost = false;
  let lastError: string | undefined;
  client.on('ready', () => {
    const wasLost = lost;
    connected = true;
    lost = false;
    lastError = undefined;
    if (!wasLost) return;
    onRestored().then(
      () => logger.info({ redis: where, connection: role }, 'redis reconnected'),
      (error) => logger.warn({ err: error, redis: where, connection: role }, 'redis reconnect check failed'),
    );
  });
  client.on('close', () => {
    if (!connected) return;
    connected = false;
    lost = true;
    logger.warn({ redis: where, connection: role }, 'redis connection lost; reconnecting');
  });
  client.on('error', (error: Error) => {
    // ioredis reports every failed attempt; one line per distinct cause is enough.
    if (error.message === lastError) return;
    lastError = error.message;
    logger.warn({ redis: where, connection: role, error: error.message }, 'redis connection error');
  });
}

const typeTag = '$realmcastType';

/**
 * Payloads cross Redis as JSON. Plain JSON keeps every finite number exact
 * (JavaScript prints the shortest text that parses back to the same double)
 * and every string as is (ISO timestamps included); this also carries what
 * JSON would silently change: `Date` objects (not turned into strings),
 * `NaN`/`±Infinity` (not `null`), `-0` and bigints. So a payload a
 * subscriber receives from Redis equals the one published in-process.
 */
export function serializePayload(payload: unknown): string {
  return JSON.stringify(payload, function (this: Record<string, unknown>, key, value: unknown) {
    const raw = this[key];
    if (raw instanceof Date) return { [typeTag]: 'Date', value: raw.toISOString() };
    if (typeof raw === 'bigint') return { [typeTag]: 'BigInt', value: raw.toString() };
    if (typeof raw === 'number' && (!Number.isFinite(raw) || Object.is(raw, -0))) {
      return { [typeTag]: 'Number', value: Object.is(raw, -0) ? '-0' : String(raw) };
    }
    return value;
  });
}

/** The inverse of {@link serializePayload}. */
export function deserializePayload(text: string): unknown {
  return JSON.parse(text, (_key, value: unknown) => {
    if (value === null || typeof value !== 'object' || !(typeTag in value)) return value;
    const { [typeTag]: type, value: raw } = value as { [typeTag]: string; value: string };
    if (type === 'Date') return new Date(raw);
    if (type === 'BigInt') return BigInt(raw);
    if (type === 'Number') return Number(raw);
    return value;
  });
}

/** The URL without its password, for logs and errors. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'redis://(unparsable URL)';
  }
}
