import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { errorCode, eventually, gql, onTeardown, subscribe, wsClient } from '../support/harness.js';
import {
  adminPostgresUrl,
  createTestDatabase,
  cursorSeq,
  headCursor,
  readyStatus,
  redisUrl,
  servicesAvailable,
  signToken,
  spawnInstance,
  startPrivateRedis,
  startTcpProxy,
  subscriberCount,
  testRedisPrefix,
  redisClient,
  type Instance,
} from '../support/scale.js';

const available = await servicesAvailable();

const worldFeed = /* GraphQL */ `subscription ($after: String) { worldEvents(after: $after) { cursor message } }`;
const announce = (instance: Instance, message: string, token: string) =>
  gql(instance.url, 'mutation ($message: String!) { announceWorldEvent(message: $message) { cursor } }', { message }, token);
const messages = (events: any[]) => events.map((e) => e.worldEvents.message);
const seqsOf = (events: any[]) => events.map((e) => cursorSeq(e.worldEvents.cursor));

describe.skipIf(!available)('failure behaviour', () => {
  it('should keep serving through a Redis restart and fill every subscriber gap from the log', { timeout: 60_000 }, async () => {
    // A redis-server of this test's own: the shared one is never restarted.
    const redis = await startPrivateRedis();
    const db = await createTestDatabase();
    const env = { DATABASE_URL: db.url, REDIS_URL: redis.url, REDIS_PREFIX: 'outage:' };
    const [a, b] = await Promise.all([spawnInstance('A', env), spawnInstance('B', env)]);
    const { token: gm } = await signToken('GAME_MASTER');
    const after = await headCursor(db, 'world');
    const feeds = [subscribe(wsClient(a.url), worldFeed, { after }), subscribe(wsClient(b.url), worldFeed, { after })];
    const probe = redisClient(redis.url);
    await eventually(async () => (await subscriberCount(probe, 'outage:streamEvent:world')) === 2, 'both instances subscribed');

    const announceAll = async (label: string, on: Instance) => {
      for (let n = 1; n <= 5; n++) expect((await announce(on, `${label} ${n}`, gm)).errors).toBeUndefined();
    };
    await announceAll('before', b);
    for (const feed of feeds) expect(messages(await feed.take(5))).toEqual([1, 2, 3, 4, 5].map((n) => `before ${n}`));

    await redis.stop();
    await eventually(async () => (await readyStatus(a.origin)) === 503 && (await readyStatus(b.origin)) === 503, '/ready 503 on both');
    // Queries and mutations go on; their publishes fail and are logged.
    await announceAll('during', b);
    expect((await gql(a.url, '{ worldEvents(last: 1) { message } }')).data).toEqual({ worldEvents: [{ message: 'during 5' }] });
    await b.waitForLog((line) => line.msg === 'publish failed');
    // A subscription that starts during the outage waits for Redis.
    const late = subscribe(wsClient(a.url), worldFeed, { after });

    await redis.start();
    await eventually(async () => (await readyStatus(a.origin)) === 200 && (await readyStatus(b.origin)) === 200, '/ready 200 on both', 15_000);
    await a.waitForLog((line) => line.msg === 'redis reconnected' && line.connection === 'subscriber');
    expect(a.logs.some((line) => line.msg === 'redis connection lost; reconnecting')).toBe(true);
    // Nothing was published after the restart: the missed events still arrive, read from the log.
    for (const feed of feeds) expect(messages(await feed.take(5, 10_000))).toEqual([1, 2, 3, 4, 5].map((n) => `during ${n}`));

    await announceAll('after', a);
    for (const feed of [...feeds, late]) {
      const rest = await feed.take(feed === late ? 15 : 5, 10_000);
      expect(messages(rest).slice(-5)).toEqual([1, 2, 3, 4, 5].map((n) => `after ${n}`));
    }
    // In order, none missing, none twice: the whole stream, 15 consecutive cursors per subscriber.
    const all = await Promise.all(
      [a, b].map(async (instance) => {
        const feed = subscribe(wsClient(instance.url), worldFeed, { after });
        return seqsOf(await feed.take(15));
      }),
    );
    for (const seqs of all) expect(seqs).toEqual(seqs.map((_, i) => seqs[0]! + i));
  });

  it('should fail mutations masked and write nothing while PostgreSQL is unreachable, then recover by itself', { timeout: 60_000 }, async () => {
    const db = await createTestDatabase();
    const target = new URL(adminPostgresUrl);
    const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
    const proxied = new URL(db.url);
    proxied.port = String(proxy.port);
    const app = await spawnInstance('A', { DATABASE_URL: proxied.toString(), REDIS_URL: redisUrl, REDIS_PREFIX: testRedisPrefix() });
    const { token: gm } = await signToken('GAME_MASTER');
    const setPrice = (price: number) => gql(app.url, 'mutation ($p: Float!) { setStockPrice(symbol: "IRON", price: $p) { price } }', { p: price }, gm);
    expect((await setPrice(44)).data).toEqual({ setStockPrice: { price: 44 } });
    const snapshot = async (client: pg.Client) =>
      (
        await client.query(`select (select price_cents::int / 100.0 from stocks where symbol = 'IRON')::float8 as price,
          (select count(*)::int from price_history) as history, (select last_seq from streams where stream = 'market') as seq`)
      ).rows[0];

    // Hold the market stream's row, so the next price change stops half-way: stock updated, history
    // inserted, waiting to append its event. Then the network to PostgreSQL goes away.
    const direct = new pg.Client({ connectionString: db.url });
    await direct.connect();
    onTeardown(() => direct.end());
    const before = await snapshot(direct);
    await direct.query('begin');
    await direct.query(`select * from streams where stream = 'market' for update`);
    const halfway = setPrice(45);
    await eventually(
      async () => (await db.query(`select 1 from pg_stat_activity where datname = $1 and wait_event_type = 'Lock'`, [db.name])).length === 1,
      'the price change to wait on the stream lock',
    );
    await proxy.cut();

    const failed = await halfway;
    expect(errorCode(failed)).toBe('INTERNAL_SERVER_ERROR');
    expect(failed.errors![0]!.message).toBe('Unexpected error.');
    expect(JSON.stringify(failed)).not.toMatch(/ECONN|terminated|postgres|5432/i);
    expect(errorCode(await setPrice(46))).toBe('INTERNAL_SERVER_ERROR');
    expect((await fetch(`${app.origin}/ready`).then(async (r) => [r.status, await r.text()]))).toEqual([503, 'not ready: store unreachable']);

    // Let the abandoned transaction run on: it finds its client gone and is rolled back whole.
    await direct.query('rollback');
    await direct.query('begin');
    await direct.query(`select * from stocks where symbol = 'IRON' for update`); // waits for that transaction to end
    expect(await snapshot(direct)).toEqual(before);
    await direct.query('commit');

    await proxy.restore();
    await eventually(async () => (await readyStatus(app.origin)) === 200, '/ready 200 again');
    expect((await setPrice(47)).data).toEqual({ setStockPrice: { price: 47 } });
    expect(await snapshot(direct)).toEqual({ price: 47, history: before.history + 1, seq: before.seq + 1 });
    expect(app.logs.some((line) => line.msg === 'internal error (masked)')).toBe(true);
  });
});
