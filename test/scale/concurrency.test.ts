/**
 * The concurrency races of `support/concurrency-scenarios.ts` on three server
 * processes sharing one PostgreSQL database and one Redis: requests of one
 * race land on different instances at the same moment.
 */
import { beforeAll, describe, it } from 'vitest';
import { chooseResolveAndLeaveAtOnce, everyoneChoosesAtOnce, ordersNeverOverspend, type Deployment } from '../support/concurrency-scenarios.js';
import { createTestDatabase, redisUrl, servicesAvailable, signToken, spawnInstance, testRedisPrefix } from '../support/scale.js';

const available = await servicesAvailable();

describe.skipIf(!available)('races across three instances on PostgreSQL and Redis', () => {
  let deployment: Deployment;

  beforeAll(async () => {
    const db = await createTestDatabase();
    const env = { DATABASE_URL: db.url, REDIS_URL: redisUrl, REDIS_PREFIX: testRedisPrefix() };
    const instances = await Promise.all(['A', 'B', 'C'].map((name) => spawnInstance(name, env)));
    deployment = {
      urls: instances.map((instance) => instance.url),
      token: async (role, name) => (await signToken(role, name)).token,
      log: async (stream) =>
        (await db.query<{ type: string; payload: string }>('select type, payload from events where stream = $1 order by seq', [stream])).map((row) => ({
          type: row.type,
          payload: JSON.parse(row.payload),
        })),
    };
  });

  it('should resolve each turn exactly once, with every vote, when players on different instances choose at the same moment', () =>
    everyoneChoosesAtOnce(deployment, { players: 9, rounds: 3 }));

  it('should resolve a turn exactly once with the right votes when the last choices, a forced resolution and a leave race across instances', () =>
    chooseResolveAndLeaveAtOnce(deployment, { games: 6 }));

  it('should never spend more cash or sell more shares than held when orders race across instances', () => ordersNeverOverspend(deployment, { orders: 30 }));
});
