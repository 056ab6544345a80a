/**
 * The concurrency races of `support/concurrency-scenarios.ts` on one embedded
 * (SQLite) server, hit by parallel requests. The same races run on three
 * instances over PostgreSQL and Redis in `scale/concurrency.test.ts`.
 */
import { beforeAll, describe, it } from 'vitest';
import { chooseResolveAndLeaveAtOnce, everyoneChoosesAtOnce, ordersNeverOverspend, type Deployment } from '../support/concurrency-scenarios.js';
import { startServer } from '../support/harness.js';

describe('parallel requests on one SQLite server', () => {
  let deployment: Deployment;
  beforeAll(async () => {
    const app = await startServer();
    deployment = {
      urls: [app.url],
      token: (role, name) => app.token(role, name),
      log: async (stream) => (await app.services.events.read(stream, 0)).map(({ type, payload }) => ({ type, payload })),
    };
  });

  it('should resolve each turn exactly once, with every vote, when every player chooses at the same moment', () => everyoneChoosesAtOnce(deployment));

  it('should resolve a turn exactly once with the right votes when the last choices, a forced resolution and a leave race', () =>
    chooseResolveAndLeaveAtOnce(deployment));

  it('should never spend more cash or sell more shares than held when orders race', () => ordersNeverOverspend(deployment));
});
