import { hostname } from 'node:os';
import { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import { withTimeout } from '../timeout.js';

/**
 * The Redis connections of one instance, opened once by {@link connectRedis}
 * and handed to every user (pub/sub, presence, leases, rate limits), as
 * Socket.IO's Redis adapter takes its clients from the caller. Users never
 * close them; {@link RedisConnections.dispose} does, after them.
 */
export interface RedisConnections {
  /**
   * Every command (publishes, lease and presence scripts, rate-limit counts,
   * readiness pings). Fails fast, never late: no offline queue and no
   * resending after a reconnect, because a command that waited out an
   * outage would decide something nobody is listening for any more. It has
   * no timeout of its own: each user bounds its commands with
   * {@link bounded} by its own limit.
   */
  commands: Redis;
  /**
   * The SUBSCRIBE connection of the pub/sub engine. Its own connection
   * because a connection in subscriber mode can send nothing but
   * (un)subscribes; they stay queued across any outage (the engine does not
   * handle their rejections, and they must reach Redis once it is back), and
   * ioredis resubscribes every channel on reconnect.
   */
  subscriber: Redis;
  /** The URL without its password, for logs and errors. */
  readonly location: string;
  /**
   * Calls `listener` each time a connection is ready again after a loss;
   * for the subscriber once its resubscriptions are acknowledged. Returns
   * the remover.
   */
  onRestored(listener: () => void): () => void;
  /** Closes both connections (QUIT, or a plain disconnect while Redis is away). */
  dispose(): Promise<void>;
}

export interface RedisConnectionsOptions {
  /** `redis://[:password@]host:port[/db]` (or `rediss://`). */
  url: string;
  /** Where connection losses, recoveries and errors are logged (once each, not on every retry). */
  logger: Logger;
  /**
   * Names the connections `<name>-commands` and `<name>-subscriber`, so
   * operators (and tests) can find them in `CLIENT LIST`. @default `realmcast-${hostname}-${pid}`
   */
  connectionName?: string;
  /** How long start waits for Redis to answer before it fails. @default 10_000 // 10 seconds */
  connectTimeoutMs?: number;
}

/**
 * Delay before the n-th reconnect attempt: 100 ms more each time, at most
 * 2 seconds, forever. A Redis restart is survived without operator action.
 */
export const reconnectDelay = (attempt: number) => Math.min(attempt * 100, 2_000);

/**
 * Opens the instance's two Redis connections. Resolves once both are ready;
 * rejects (with nothing left open) when Redis does not answer within
 * `connectTimeoutMs`.
 */
export async function connectRedis(options: RedisConnectionsOptions): Promise<RedisConnections> {
  const { url, logger, connectionName = `realmcast-${hostname()}-${process.pid}`, connectTimeoutMs = 10_000 } = options;
  const location = redactUrl(url);
  const commands = new Redis(url, {
    connectionName: `${connectionName}-commands`,
    retryStrategy: reconnectDelay,
    lazyConnect: true,
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
  });
  const subscriber = new Redis(url, {
    connectionName: `${connectionName}-subscriber`,
    retryStrategy: reconnectDelay,
    lazyConnect: true,
    maxRetriesPerRequest: null,
  });

  const restoredListeners = new Set<() => void>();
  const restored = () => {
    for (const listener of restoredListeners) listener();
  };
  watchConnection(commands, 'commands', location, logger, async () => restored());
  // Commands on one connection are answered in order, and ioredis writes the
  // resubscriptions before it emits 'ready': the PING reply means every
  // channel is subscribed again, so a re-read of the log now misses nothing.
  watchConnection(subscriber, 'subscriber', location, logger, async () => {
    await subscriber.ping();
    restored();
  });

  try {
    // connect() rejects on the first refused attempt, but ioredis keeps
    // retrying: wait for 'ready' instead, so Redis may come up a little later.
    const ready = [commands, subscriber].map((client) => new Promise((resolve) => client.once('ready', resolve)));
    for (const client of [commands, subscriber]) client.connect().catch(() => {});
    await withTimeout(Promise.all(ready), connectTimeoutMs, () => new Error(`Redis at ${location} did not answer within ${connectTimeoutMs} ms`));
  } catch (error) {
    commands.disconnect();
    subscriber.disconnect();
    throw error;
  }

  return {
    commands,
    subscriber,
    location,
    onRestored(listener) {
      restoredListeners.add(listener);
      return () => restoredListeners.delete(listener);
    },
    async dispose() {
      restoredListeners.clear();
      await Promise.all(
        [commands, subscriber].map(async (client) => {
          // QUIT lets queued commands finish; when Redis is away, just drop the socket.
          await withTimeout(client.quit(), 1_000, () => new Error('quit timed out')).catch(() => client.disconnect());
        }),
      );
    },
  };
}

/**
 * Bounds one command (or pipeline) on {@link RedisConnections.commands}: it
 * rejects with ioredis' own "Command timed out" after `ms`, as a
 * connection's `commandTimeout` would, so users sharing the connection each
 * keep their own limit. The reply, if it ever comes, is dropped.
 */
export function bounded<T>(command: Promise<T>, ms: number): Promise<T> {
  return withTimeout(command, ms, () => new Error('Command timed out'));
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
