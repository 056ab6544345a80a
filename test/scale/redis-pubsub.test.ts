import { describe, expect, it } from 'vitest';
import type { RealmPubSub } from '../../server/events/pubsub.js';
import { createRedisPubSub, deserializePayload, serializePayload } from '../../server/events/redis-pubsub.js';
import type { StreamEvent } from '../../server/events/topics.js';
import { eventually, onTeardown } from '../support/harness.js';
import { instanceRedis, randomSuffix, redisClient, redisUrl, servicesAvailable, startPrivateRedis, subscriberCount, testRedisPrefix } from '../support/scale.js';

const available = await servicesAvailable({ redis: true });

/** A Redis-backed pub/sub, like one app instance's; disposed after the file. */
async function instancePubSub(prefix: string, url = redisUrl) {
  const connectionName = `rc-test-${randomSuffix()}`;
  const pubsub = createRedisPubSub({ redis: await instanceRedis(url, connectionName), prefix });
  onTeardown(() => pubsub.dispose());
  return Object.assign(pubsub, { connectionName });
}

/** Subscribes to `stream`; once active, resolves with `received`, the next payload delivered there. */
async function nextEvent(pubsub: RealmPubSub, stream: string): Promise<{ received: Promise<StreamEvent> }> {
  let resolve!: (event: StreamEvent) => void;
  const received = new Promise<StreamEvent>((r) => (resolve = r));
  const stop = await pubsub.subscribe('streamEvent', stream, (event) => {
    stop();
    resolve(event);
  });
  return { received }; // wrapped: an async function would flatten a returned promise
}

const event = (stream: string, seq: number, message: string): StreamEvent => ({
  stream,
  seq,
  type: 'WorldEvent',
  payload: { kind: 'test', message, severity: 'INFO' },
  at: new Date().toISOString(),
});

describe.skipIf(!available)('Redis pub/sub engine', () => {
  it('should deliver a payload published by one instance to a listener on another, numbers and timestamps exact', async () => {
    const prefix = testRedisPrefix();
    const [a, b] = [await instancePubSub(prefix), await instancePubSub(prefix)];
    const received = new Promise<unknown>((resolve) => void a.subscribe('streamEvent', 'market', resolve));
    await eventually(async () => (await subscriberCount(redisClient(), `${prefix}streamEvent:market`)) === 1, 'SUBSCRIBE');
    const payload: StreamEvent = {
      stream: 'market',
      seq: 9_007_199_254_740_991,
      type: 'StockTicked',
      payload: { symbol: 'IRON', price: 0.1 + 0.2, change: -1e-7, changePercent: 123456789.98765433 },
      at: '2026-11-22T04:23:00.123Z',
    };
    await b.publish('streamEvent', 'market', payload);
    expect(await received).toStrictEqual(payload);
  });

  it('should round-trip what plain JSON would change: dates, non-finite numbers, -0 and bigints', () => {
    const value = {
      date: new Date('2026-11-22T04:23:00.123Z'),
      iso: '2026-11-22T04:23:00.123456Z',
      nan: Number.NaN,
      inf: Number.POSITIVE_INFINITY,
      negInf: Number.NEGATIVE_INFINITY,
      negZero: -0,
      big: 12345678901234567890n,
      tiny: 5e-324,
      max: Number.MAX_VALUE,
      nested: [{ at: new Date(0), n: 1.5 }],
    };
    expect(deserializePayload(serializePayload(value))).toStrictEqual(value);
  });

  it('should hold one Redis subscription per channel per instance however many local listeners there are', async () => {
    const prefix = testRedisPrefix();
    const redis = redisClient();
    const channel = `${prefix}streamEvent:world`;
    const [a, b] = [await instancePubSub(prefix), await instancePubSub(prefix)];
    const stopA = await Promise.all(Array.from({ length: 5 }, () => a.subscribe('streamEvent', 'world', () => {})));
    const stopB = await Promise.all(Array.from({ length: 3 }, () => b.subscribe('streamEvent', 'world', () => {})));
    expect(a.listenerCount('streamEvent', 'world')).toBe(5);
    // Two instances, eight local listeners: two Redis subscriptions.
    expect(await subscriberCount(redis, channel)).toBe(2);
    const clients = (await redis.client('LIST')) as string;
    const subOf = (name: string) => clients.split('\n').find((line) => line.includes(` name=${name}-subscriber `))?.match(/ sub=(\d+)/)?.[1];
    expect(subOf(a.connectionName)).toBe('1');
    expect(subOf(b.connectionName)).toBe('1');

    for (const stop of stopA.slice(1)) stop();
    expect(await subscriberCount(redis, channel)).toBe(2);
    stopA[0]!();
    await eventually(async () => (await subscriberCount(redis, channel)) === 1, 'UNSUBSCRIBE of the last local listener');
    for (const stop of stopB) stop();
    await eventually(async () => (await subscriberCount(redis, channel)) === 0, 'UNSUBSCRIBE');
  });

  it('should resubscribe after its connection is killed and tell reconnect listeners', async () => {
    const prefix = testRedisPrefix();
    const redis = redisClient();
    const [a, b] = [await instancePubSub(prefix), await instancePubSub(prefix)];
    await a.subscribe('streamEvent', 'world', () => {});
    await a.ping();
    const reconnected = new Promise<void>((resolve) => a.onReconnect(resolve));
    const clients = (await redis.client('LIST')) as string;
    const id = clients.split('\n').find((line) => line.includes(` name=${a.connectionName}-subscriber `))?.match(/^id=(\d+)/)?.[1];
    expect(id).toBeDefined();
    await redis.client('KILL', 'ID', id!);
    await reconnected;
    // Resubscribed: a publish from the other instance arrives again.
    const { received } = await nextEvent(a, 'world');
    await b.publish('streamEvent', 'world', event('world', 1, 'after the reconnect'));
    expect((await received).payload).toMatchObject({ message: 'after the reconnect' });
    await a.ping();
  });

  it('should fail a publish at once instead of queueing it while Redis is away, and publish again once it is back', async () => {
    const privateRedis = await startPrivateRedis(); // stopped and started: never the shared one
    const a = await instancePubSub('outage:', privateRedis.url);
    await privateRedis.stop();
    await eventually(() => a.ping().then(() => false, () => true), '/ready-style ping to fail');
    const started = Date.now();
    await expect(a.publish('streamEvent', 'world', event('world', 1, 'lost'))).rejects.toThrow(/writeable/);
    expect(Date.now() - started).toBeLessThan(200);

    const reconnected = new Promise<void>((resolve) => a.onReconnect(resolve));
    await privateRedis.start();
    await reconnected; // the first of its two connections is back…
    await eventually(() => a.ping().then(() => true), 'both connections back');
    const { received } = await nextEvent(a, 'world');
    await a.publish('streamEvent', 'world', event('world', 2, 'delivered'));
    expect((await received).payload).toMatchObject({ message: 'delivered' });
  });
});
