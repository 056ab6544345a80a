import { RedisPubSub } from 'graphql-redis-subscriptions';
import { bounded, type RedisConnections } from './redis-connections.js';
import { createRealmPubSub, type RealmPubSub } from './pubsub.js';

export interface RedisPubSubOptions {
  /** The instance's Redis connections: publishes go on `commands`, SUBSCRIBEs on `subscriber`. */
  redis: Pick<RedisConnections, 'commands' | 'subscriber' | 'onRestored'>;
  /** Prefix of every channel, so worlds can share one Redis. @default '' */
  prefix?: string;
  /**
   * Longest a publish (or a readiness ping) may wait for Redis. A publish
   * never queues while Redis is away: it fails at once (or after this long
   * when the connection drops mid-command), the caller logs it, and
   * subscribers fill the gap from the event log. @default 2_000 // 2 seconds
   */
  publishTimeoutMs?: number;
}

/**
 * The Redis engine behind {@link RealmPubSub}: graphql-redis-subscriptions'
 * `RedisPubSub` over the instance's two connections.
 *
 * - **subscriber**: holds one Redis SUBSCRIBE per channel per instance however
 *   many local subscribers listen (`RedisPubSub` refcounts and fans out
 *   in-process). Commands issued while Redis is away wait for it, and on
 *   reconnect ioredis resubscribes every channel.
 * - **commands**: no offline queue, so a mutation never hangs on a publish
 *   while Redis is away; the event log catches and logs the failure.
 *
 * Either connection coming back after a loss calls the
 * {@link RealmPubSub.onReconnect} listeners; the event log then re-reads the
 * streams it follows and re-publishes what it could not publish, so no
 * subscriber is left behind. Dispose leaves the connections open: their
 * owner closes them after every user is done.
 */
export function createRedisPubSub(options: RedisPubSubOptions): RealmPubSub {
  const { redis, prefix = '', publishTimeoutMs = 2_000 } = options;
  const { commands: publisher, subscriber } = redis;
  const reconnectListeners = new Set<() => void>();
  const stopWatching = redis.onRestored(() => {
    for (const listener of reconnectListeners) listener();
  });

  const engine = new BoundedRedisPubSub(publishTimeoutMs, {
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
        throw new Error(`Redis unreachable (commands ${publisher.status}, subscriber ${subscriber.status})`);
      }
      await bounded(publisher.ping(), publishTimeoutMs);
    },
    async closeEngine() {
      stopWatching();
      reconnectListeners.clear();
    },
  });
}

/** `RedisPubSub` whose publishes give up after `publishTimeoutMs` (the connection is shared, so it has no timeout of its own). */
class BoundedRedisPubSub extends RedisPubSub {
  constructor(
    private readonly publishTimeoutMs: number,
    options: ConstructorParameters<typeof RedisPubSub>[0],
  ) {
    super(options);
  }

  override publish<T>(trigger: string, payload: T): Promise<void> {
    return bounded(super.publish(trigger, payload), this.publishTimeoutMs);
  }
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
