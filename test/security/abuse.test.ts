/**
 * The attacks of issue 10, reproduced with bounded loops (a count and a
 * number of seconds, whichever ends first) against a real server: each one
 * must fail the way docs/security-and-limits.md says, and the server
 * must stay healthy (`/health` within 1 s) with bounded memory.
 */
import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import type { App } from '../../server/app.js';
import { drawScenario } from '../../server/domain/scenarios.js';
import { attack, baseOf, expectHealthy, heapUsed, MiB } from '../support/abuse.js';
import { createGame, signIn } from '../support/games.js';
import { errorCode, gql, startServer } from '../support/harness.js';

const submitChoice = 'mutation ($code: String!, $choiceId: ID!, $turn: Int) { submitChoice(code: $code, choiceId: $choiceId, turnNumber: $turn) { allSubmitted } }';
/** Prices, influence and the world feed, read in-process (the attacker's address may be rate limited by now). */
async function worldState(app: App) {
  const { market, factions, world } = app.services;
  return {
    stocks: await market.listStocks(),
    factions: await factions.list(),
    worldEvents: (await world.latest(200)).map((e) => e.payload),
  };
}

/** A GET that counts the bytes on the wire (fetch would decompress them). */
function rawGet(url: string, headers: Record<string, string>) {
  return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; bytes: number }>((resolve, reject) => {
    request(url, { headers }, (res) => {
      let bytes = 0;
      res.on('data', (chunk: Buffer) => (bytes += chunk.length));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, bytes }));
    })
      .on('error', reject)
      .end();
  });
}

/** The choice of `code`'s scenario at `turn` that pushes SHIP up the most (what the attacker picks). */
const shipPump = (code: string, turn: number) =>
  [...drawScenario(code, turn).choices].sort(
    (a, b) => (b.prices.find((p) => p.symbol === 'SHIP')?.percent ?? -99) - (a.prices.find((p) => p.symbol === 'SHIP')?.percent ?? -99),
  )[0]!.id;

/** Plays solo turns in `code` as fast as the server lets it; resolves how many resolved. */
async function soloTurns(url: string, token: string, code: string, limits: { count: number; seconds: number }) {
  let turn = 1;
  let resolved = 0;
  const codes = new Set<string>();
  // One at a time: each turn's choice depends on the scenario the last one drew.
  await attack({ ...limits, parallel: 1 }, async () => {
    const result = await gql(url, submitChoice, { code, choiceId: shipPump(code, turn), turn }, token);
    if (result.errors) codes.add(errorCode(result));
    else {
      turn++;
      resolved++;
    }
  });
  return { resolved, codes };
}

/** Every stock moved by at most the budget (sum of |moves| ≤ 10 % → within ×0.9…×e^0.1), every faction by at most 10 points. */
function expectWithinBudget(before: any, after: any) {
  for (const stock of after.stocks) {
    const ratio = stock.price / before.stocks.find((s: any) => s.symbol === stock.symbol).price;
    expect(ratio, stock.symbol).toBeGreaterThanOrEqual(0.9 - 0.001);
    expect(ratio, stock.symbol).toBeLessThanOrEqual(Math.exp(0.1) + 0.001);
  }
  for (const faction of after.factions) {
    const moved = Math.abs(faction.influence - before.factions.find((f: any) => f.id === faction.id).influence);
    expect(moved, faction.id).toBeLessThanOrEqual(10 + 1e-9);
  }
}

describe('abuse: the game economy', () => {
  it('should stop 3,000 solo turns at the turn rate and keep SHIP within its budget', async () => {
    const app = await startServer();
    const player = await signIn(app.url, 'Pump');
    const game = await createGame(app.url, player.token, 'Solo');
    const before = await worldState(app);

    const { resolved, codes } = await soloTurns(app.url, player.token, game.code, { count: 3_000, seconds: 4 });

    expect(resolved).toBe(30); // TURN_RATE 30/1m
    expect([...codes]).toEqual(['RATE_LIMITED']);
    const after = await worldState(app);
    expectWithinBudget(before, after);
    // The public feed tells of turns that moved the world: at most one per resolved turn.
    expect(after.worldEvents.filter((e: any) => e.kind === 'turn.resolved').length).toBeLessThanOrEqual(resolved);
    await expectHealthy(app);
  });

  it('should keep every price and faction within the window budget however many throwaway accounts and games play', async () => {
    // No turn rate here: the budget alone must hold.
    const app = await startServer({ turnRate: { points: 1_000_000, seconds: 60 }, signInRate: { points: 100, seconds: 600 } });
    const before = await worldState(app);
    const accounts = await Promise.all(Array.from({ length: 12 }, (_, i) => signIn(app.url, `Throwaway ${i}`)));
    const played = await Promise.all(
      accounts.map(async (account) => {
        const game = await createGame(app.url, account.token, 'Throwaway');
        return (await soloTurns(app.url, account.token, game.code, { count: 20, seconds: 8 })).resolved;
      }),
    );
    // Far more turns than the budget allows (a pumping solo turn asks for 1–4 % of SHIP).
    expect(played.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(60);
    const after = await worldState(app);
    expectWithinBudget(before, after);
    // SHIP's budget was really spent, up to its cap and not beyond.
    const { used } = await app.services.store.db
      .selectFrom('turnEffects')
      .select((eb) => eb.fn.sum<number>('amount').as('used'))
      .where('target', '=', 'stock:SHIP')
      .executeTakeFirstOrThrow();
    expect(Number(used)).toBeCloseTo(10, 1);
    await expectHealthy(app);
  });

  it('should scale a turn by its backers: a solo choice moves half as much as two players agreeing', async () => {
    const app = await startServer();
    const solo = await signIn(app.url, 'Solo');
    const game = await createGame(app.url, solo.token, 'Half');
    const choice = drawScenario(game.code, 1).choices[0]!;
    const before = await worldState(app);
    await gql(app.url, submitChoice, { code: game.code, choiceId: choice.id, turn: 1 }, solo.token);
    const after = await worldState(app);
    for (const shift of choice.influence) {
      const influence = (state: typeof before) => state.factions.find((f) => f.id === shift.factionId)!.influence;
      const moved = influence(after) - influence(before);
      expect(moved).toBeCloseTo(Math.trunc((shift.delta / 2) * 100) / 100, 2);
    }
  });
});

describe('abuse: volume', () => {
  it('should let one player create 10 games per 10 minutes out of 2,106 attempts', async () => {
    const app = await startServer();
    const player = await signIn(app.url, 'Spammer');
    const results = await attack({ count: 2_106, seconds: 3 }, () =>
      gql(app.url, 'mutation { createGame(name: "spam") { code } }', {}, player.token),
    );
    const created = results.filter((r) => !r.errors);
    expect(created.length).toBe(10);
    const refused = results.find((r) => r.errors)!;
    expect(errorCode(refused)).toBe('RATE_LIMITED');
    expect(refused.errors![0]!.extensions!.retryAfterMs).toBeGreaterThan(0);
    await expectHealthy(app);
  });

  it('should throttle join-code guessing per player and per address, even for a real code afterwards', async () => {
    const app = await startServer();
    const host = await signIn(app.url, 'Host');
    const real = await createGame(app.url, host.token, 'Secret room');
    const guessers = await Promise.all([signIn(app.url, 'Guesser 1'), signIn(app.url, 'Guesser 2')]);
    const results = await attack({ count: 500, seconds: 3, parallel: 4 }, (i) =>
      gql(app.url, 'mutation ($code: String!) { joinGame(code: $code) { code } }', { code: `Q${String(i).padStart(5, '0')}` }, guessers[i % 2]!.token),
    );
    // JOIN_CODE_MISS_RATE 20/10m per address: both accounts share their address' allowance.
    expect(results.filter((r) => errorCode(r) === 'NOT_FOUND').length).toBe(20);
    expect(results.filter((r) => errorCode(r) === 'RATE_LIMITED').length).toBe(results.length - 20);
    const lookup = await gql(app.url, 'query ($code: String!) { game(code: $code) { code } }', { code: real.code }, guessers[0]!.token);
    expect(errorCode(lookup)).toBe('RATE_LIMITED');
    await expectHealthy(app);
  });

  it('should allow 10 guest sign-ins per address per 10 minutes', async () => {
    const app = await startServer();
    const results = await attack({ count: 1_000, seconds: 3 }, (i) => gql(app.url, 'mutation ($n: String!) { signIn(name: $n) { token } }', { n: `Guest ${i}` }));
    expect(results.filter((r) => !r.errors).length).toBe(10);
    expect(results.filter((r) => errorCode(r) === 'RATE_LIMITED').length).toBe(results.length - 10);
  });

  it('should refuse operations over the per-address rate with 429, Retry-After and retryAfterMs', async () => {
    // A window far longer than the attack, and a count rather than a deadline:
    // exactly 50 pass however slowly a busy machine serves the rest.
    const app = await startServer({ operationRatePerAddress: { points: 50, seconds: 600 } });
    const results = await attack({ count: 300, seconds: 100 }, async () => {
      const response = await fetch(app.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
        body: JSON.stringify({ query: '{ stocks { symbol } }' }),
      });
      return { status: response.status, retryAfter: response.headers.get('retry-after'), body: (await response.json()) as any };
    });
    expect(results.filter((r) => r.status === 200).length).toBe(50);
    const refused = results.find((r) => r.status === 429)!;
    expect(refused.body.errors[0].extensions).toMatchObject({ code: 'RATE_LIMITED', retryAfterMs: expect.any(Number) });
    expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(1);
    await expectHealthy(app);
  });

  it('should page `games` (first ≤ 100, after a code) instead of listing thousands at once', async () => {
    const app = await startServer();
    const gm = await app.token('GAME_MASTER', 'Ops');
    const host = { id: 'host', name: 'Host', role: 'PLAYER' };
    for (let i = 0; i < 230; i++) await app.services.games.create(host, `Room ${i}`);
    const page = async (first: number, after?: string) =>
      gql(app.url, 'query ($first: Int, $after: String) { games(first: $first, after: $after) { code } }', { first, after }, gm);
    const codes: string[] = [];
    let after: string | undefined;
    for (;;) {
      const result = await page(100, after);
      const games = result.data!.games as { code: string }[];
      expect(games.length).toBeLessThanOrEqual(100);
      codes.push(...games.map((g) => g.code));
      if (games.length < 100) break;
      after = games.at(-1)!.code;
    }
    expect(codes.length).toBe(230);
    expect(new Set(codes).size).toBe(230);
    expect(errorCode(await page(101))).toBe('BAD_USER_INPUT');
    expect((await gql(app.url, '{ games { code } }', {}, gm)).data!.games.length).toBe(50);
  });

  it("should not let `games(after:)` tell a player whether someone else's join code exists", async () => {
    const app = await startServer();
    const host = { id: 'host', name: 'Host', role: 'PLAYER' };
    const hidden = await app.services.games.create(host, 'Hidden room');
    const player = await signIn(app.url, 'Guesser');
    const own = await createGame(app.url, player.token, 'Mine');
    const page = (after: string) => gql(app.url, 'query ($after: String) { games(after: $after) { code } }', { after }, player.token);
    // Someone else's real code and a made-up one get the very same answer.
    const real = await page(hidden.code);
    const madeUp = await page(hidden.code === 'ZZZZZZ' ? 'YYYYYY' : 'ZZZZZZ');
    expect(errorCode(real)).toBe('BAD_USER_INPUT');
    expect(real.errors![0]!.message).toBe(madeUp.errors![0]!.message);
    // The caller's own game is a valid page boundary.
    expect((await page(own.code)).errors).toBeUndefined();
  });
});

describe('abuse: input hygiene', () => {
  const hostile = {
    NUL: 'Ada\u0000',
    'an ANSI escape': '\u001b[31mAda',
    'CR/LF': 'Ada\r\nINFO fake log line',
    'a right-to-left override': 'Ada\u202Egnp.exe',
    'a zero-width space': 'A\u200Bda',
  };

  for (const [what, name] of Object.entries(hostile)) {
    it(`should refuse a game name with ${what}, naming the field and storing nothing`, async () => {
      const app = await startServer();
      const player = await signIn(app.url, 'Ada');
      const result = await gql(app.url, 'mutation ($name: String!) { createGame(name: $name) { code } }', { name }, player.token);
      expect(result.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'name' });
      expect(result.errors![0]!.message).not.toContain(name);
      expect((await gql(app.url, '{ games { code } }', {}, player.token)).data!.games).toEqual([]);
    });
  }

  it('should store names in Unicode NFC', async () => {
    const app = await startServer();
    const result = await gql(app.url, 'mutation ($n: String!) { signIn(name: $n) { player { name } } }', { n: 'Rene\u0301' });
    expect(result.data!.signIn.player.name).toBe('Ren\u00e9');
  });

  it('should quote at most a short prefix of a 1 MB symbol in its error', async () => {
    const app = await startServer();
    const symbol = 'X'.repeat(1_000_000);
    const result = await gql(app.url, 'query ($s: String!) { stock(symbol: $s) { price } }', { s: symbol });
    const trade = await gql(
      app.url,
      'mutation ($s: String!) { placeOrder(symbol: $s, side: BUY, quantity: 1) { id } }',
      { s: symbol },
      (await signIn(app.url, 'Trader')).token,
    );
    for (const r of [result, trade]) {
      for (const error of r.errors ?? []) expect(error.message.length).toBeLessThan(120);
    }
    expect(errorCode(trade)).toBe('NOT_FOUND');
  });

  it('should refuse operations over the depth, alias, cost and token limits with QUERY_TOO_COMPLEX and HTTP 400', async () => {
    // The schema has no cycles deep enough for the default depth of 10, so depth and cost are lowered here.
    const app = await startServer({ maxDepth: 3, maxCost: 50 });
    const cases = {
      depth: '{ games { players { player { name } } } }',
      aliases: `{ ${Array.from({ length: 31 }, (_, i) => `a${i}: me { id }`).join(' ')} }`,
      cost: `{ ${Array.from({ length: 29 }, (_, i) => `a${i}: stocks { symbol price }`).join(' ')} }`,
      tokens: `{ stocks { ${'symbol '.repeat(2_100)} } }`,
    };
    for (const [limit, query] of Object.entries(cases)) {
      const result = await gql(app.url, query);
      expect(result.status, limit).toBe(400);
      expect(result.errors![0]!.extensions, limit).toMatchObject({ code: 'QUERY_TOO_COMPLEX', limit });
    }
    expect((await gql(app.url, '{ stocks { symbol price } }')).status).toBe(200);
  });

  it('should answer QUERY_TOO_COMPLEX with 200 to a client that accepts only application/json, as GraphQL over HTTP asks', async () => {
    const app = await startServer({ maxDepth: 3 });
    const response = await fetch(app.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ query: '{ games { players { player { name } } } }' }),
    });
    const body = (await response.json()) as { data?: unknown; errors: Array<{ extensions: { code: string } }> };
    expect(response.status).toBe(200);
    expect(body.errors[0]!.extensions.code).toBe('QUERY_TOO_COMPLEX');
    expect(body.data).toBeUndefined();
  });
});

describe('abuse: sizes', () => {
  it('should answer 413 to a body over the HTTP limit without reading it', async () => {
    const app = await startServer();
    const before = heapUsed();
    const big = JSON.stringify({ query: '{ stocks { symbol } }', variables: { pad: 'x'.repeat(2 * MiB) } });
    const results = await attack({ count: 30, seconds: 5, parallel: 10 }, async () => {
      const response = await fetch(app.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: big });
      return { status: response.status, body: (await response.json()) as any };
    });
    expect(results.every((r) => r.status === 413 && r.body.errors[0].extensions.code === 'PAYLOAD_TOO_LARGE')).toBe(true);
    expect(heapUsed() - before).toBeLessThan(64 * MiB);
    await expectHealthy(app);
  });

  it('should serve GraphiQL compressed, from one shared copy, with an ETag', async () => {
    const app = await startServer();
    const get = (headers: Record<string, string>) => rawGet(app.url, { accept: 'text/html', ...headers });
    const first = await get({ 'accept-encoding': 'br' });
    expect(first.headers['content-encoding']).toBe('br');
    expect(first.bytes).toBeLessThan(3 * MiB); // 9 MB uncompressed
    const before = heapUsed();
    const pages = await attack({ count: 100, seconds: 20, parallel: 100 }, () => get({ 'accept-encoding': 'gzip, deflate' }));
    expect(pages.map((p) => `${p.status} ${p.headers['content-encoding']}`)).toEqual(pages.map(() => '200 gzip'));
    expect(heapUsed() - before).toBeLessThan(128 * MiB);
    const again = await get({ 'if-none-match': String(first.headers.etag) });
    expect(again.status).toBe(304);
    expect(first.headers['cache-control']).toBe('no-cache');
    await expectHealthy(app);
  });
});

describe('abuse: browsers', () => {
  it('should refuse other origins in production (no CORS headers, 403), `null` included', async () => {
    const app = await startServer({ production: true, guestSignIn: true });
    for (const origin of ['https://evil.example', 'null']) {
      const response = await fetch(app.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin },
        body: JSON.stringify({ query: '{ stocks { symbol } }' }),
      });
      expect(response.status).toBe(403);
      expect(response.headers.get('access-control-allow-origin')).toBeNull();
      expect(response.headers.get('access-control-allow-credentials')).toBeNull();
    }
    const sse = await fetch(`${app.url}?query=${encodeURIComponent('subscription { stockTicked { symbol } }')}`, {
      headers: { accept: 'text/event-stream', origin: 'https://evil.example' },
    });
    expect(sse.status).toBe(403);
    const metrics = await fetch(`${baseOf(app)}/metrics`, { headers: { origin: 'https://evil.example' } });
    expect(metrics.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('should refuse a form-encoded mutation without the CSRF header', async () => {
    const app = await startServer();
    const form = (headers: Record<string, string> = {}) =>
      fetch(app.url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body: new URLSearchParams({ query: 'mutation { signIn(name: "Mallory") { token } }' }).toString(),
      });
    const refused = await form();
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as any).errors[0].extensions.code).toBe('FORBIDDEN');
    expect(errorCode(await gql(app.url, '{ me { id } }'))).toBeUndefined();
  });
});
