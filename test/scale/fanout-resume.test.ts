import { describe, expect, it } from 'vitest';
import { gql, listening, startServer, subscribe, wsClient, type Subscription } from '../support/harness.js';
import { createTestDatabase, cursorSeq, jwtSecret, redisUrl, servicesAvailable, testRedisPrefix } from '../support/scale.js';

const available = await servicesAvailable();

const announce = 'mutation ($m: String!) { announceWorldEvent(message: $m) { cursor } }';
const feed = 'subscription ($after: String) { worldEvents(after: $after) { cursor message } }';

describe.skipIf(!available)('resuming into shared groups on several instances', () => {
  it('should give every resumer each event once, in order, while all instances keep publishing', async () => {
    const db = await createTestDatabase();
    const redisPrefix = testRedisPrefix();
    const instances = await Promise.all([0, 1, 2].map(() => startServer({ databaseUrl: db.url, redisUrl, redisPrefix, jwtSecret })));
    const gm = await instances[0]!.token('GAME_MASTER');

    // A live subscriber per instance: the shared groups the resumers join.
    const lives = instances.map((app) => subscribe(wsClient(app.url), feed));
    await Promise.all(instances.map((app) => listening(app, 'streamEvent', 'world')));

    const total = 150;
    let published = 0;
    const failures: unknown[] = [];
    const publishing = (async () => {
      // Three writers at a time, round-robin over the instances.
      while (published < total) {
        await Promise.all(
          [0, 1, 2].map(async (k) => {
            const n = published++;
            if (n >= total) return;
            const result = await gql(instances[(n + k) % 3]!.url, announce, { m: `hammer ${n}` }, gm);
            if (result.errors) failures.push(result.errors);
          }),
        );
      }
    })();

    // Resumers join at different points while events keep arriving, each on
    // an instance, from a cursor another instance's subscriber saw.
    const seen = await lives[0]!.take(10);
    const resumers: Array<{ from: number; feed: Subscription<any> }> = [];
    for (let i = 0; i < 9; i++) {
      const cursor = seen[i]!.worldEvents.cursor;
      resumers.push({ from: cursorSeq(cursor), feed: subscribe(wsClient(instances[i % 3]!.url), feed, { after: cursor }) });
      seen.push(...(await lives[0]!.take(8)));
    }
    await publishing;
    expect(failures).toEqual([]);
    const last = cursorSeq((await lives[0]!.take(total - seen.length, 20_000)).at(-1)!.worldEvents.cursor);

    for (const { from, feed: resumed } of resumers) {
      const seqs = (await resumed.take(last - from, 20_000)).map((e) => cursorSeq(e.worldEvents.cursor));
      expect(seqs).toEqual(Array.from({ length: last - from }, (_, i) => from + 1 + i));
      await expect(resumed.next(200)).rejects.toThrow(/no subscription event/);
    }
    for (const live of lives.slice(1)) expect(cursorSeq((await live.take(total, 20_000)).at(-1)!.worldEvents.cursor)).toBe(last);
    // The resumers share their instance's group instead of executing on their own.
    for (const app of instances) expect(app.fanout.stats().groups).toBe(1);
  });
});
