import { describe, expect, it } from 'vitest';
import { drawScenario } from '../../server/domain/scenarios.js';
import { errorCode, gql, startServer } from '../support/harness.js';
import { createTestDatabase, jwtSecret, redisUrl, servicesAvailable, testRedisPrefix } from '../support/scale.js';

const available = await servicesAvailable();

describe.skipIf(!available)('abuse limits across instances (Redis and PostgreSQL)', () => {
  it('should share one createGame allowance between two instances on one Redis', async () => {
    const prefix = testRedisPrefix();
    const [a, b] = await Promise.all([0, 1].map(() => startServer({ redisUrl, redisPrefix: prefix, jwtSecret })));
    const token = await a!.token('PLAYER', 'Spammer');
    const create = (url: string) => gql(url, 'mutation { createGame(name: "spam") { code } }', {}, token);
    for (let i = 0; i < 6; i++) expect((await create(a!.url)).errors).toBeUndefined();
    for (let i = 0; i < 4; i++) expect((await create(b!.url)).errors).toBeUndefined();
    // CREATE_GAME_RATE 10/10m, counted in Redis: the 11th is refused whichever instance takes it.
    expect(errorCode(await create(a!.url))).toBe('RATE_LIMITED');
    expect(errorCode(await create(b!.url))).toBe('RATE_LIMITED');
  });

  it('should keep SHIP within its turn budget when throwaway games resolve on two instances at once', async () => {
    const database = await createTestDatabase();
    const prefix = testRedisPrefix();
    const options = { databaseUrl: database.url, redisUrl, redisPrefix: prefix, jwtSecret, turnRate: { points: 10_000, seconds: 60 } };
    const [a, b] = await Promise.all([0, 1].map(() => startServer(options)));
    const ship = async () => (await a!.services.market.getStock('SHIP'))!.price;
    const before = await ship();
    const play = async (url: string, i: number) => {
      const token = await a!.token('PLAYER', `Throwaway ${i}`);
      const created = await gql(url, 'mutation { createGame(name: "pump") { code } }', {}, token);
      const code: string = created.data!.createGame.code;
      for (let turn = 1; turn <= 15; turn++) {
        const pump = [...drawScenario(code, turn).choices].sort(
          (x, y) => (y.prices.find((p) => p.symbol === 'SHIP')?.percent ?? -99) - (x.prices.find((p) => p.symbol === 'SHIP')?.percent ?? -99),
        )[0]!;
        const result = await gql(url, 'mutation ($code: String!, $c: ID!) { submitChoice(code: $code, choiceId: $c) { allSubmitted } }', { code, c: pump.id }, token);
        expect(result.errors).toBeUndefined();
      }
    };
    await Promise.all(Array.from({ length: 8 }, (_, i) => play((i % 2 ? b! : a!).url, i)));
    const ratio = (await ship()) / before;
    expect(ratio).toBeGreaterThanOrEqual(0.9 - 0.001);
    expect(ratio).toBeLessThanOrEqual(Math.exp(0.1) + 0.001);
    const [spent] = await database.query<{ used: number }>(`select coalesce(sum(abs(amount)), 0)::float as used from turn_effects where target = 'stock:SHIP'`);
    const used = spent!.used;
    expect(used).toBeLessThanOrEqual(10 + 1e-9);
    expect(used).toBeGreaterThan(0);
  });

  it('should trade once for one idempotency key sent to two instances at the same moment', async () => {
    const database = await createTestDatabase();
    const options = { databaseUrl: database.url, redisUrl, redisPrefix: testRedisPrefix(), jwtSecret };
    const [a, b] = await Promise.all([0, 1].map(() => startServer(options)));
    const token = await a!.token('PLAYER', 'Retrier');
    const order = 'mutation ($key: String) { placeOrder(symbol: "IRON", side: BUY, quantity: 2, idempotencyKey: $key) { id } }';
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => gql((i % 2 ? b! : a!).url, order, { key: 'same-order' }, token)));
    expect(results.map((r) => r.errors)).toEqual(results.map(() => undefined));
    expect(new Set(results.map((r) => r.data!.placeOrder.id)).size).toBe(1);
    const [trades] = await database.query<{ n: number }>('select count(*)::int as n from trades');
    expect(trades!.n).toBe(1);
  });
});
