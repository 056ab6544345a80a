/**
 * Races run against any deployment: one SQLite server hit by parallel
 * requests (`test/api/concurrency.test.ts`), or three instances on PostgreSQL and
 * Redis (`test/scale/concurrency.test.ts`). Requests are spread round-robin
 * over `urls` and fired together; the invariants are checked on the responses
 * and on the stored event log.
 */
import { expect } from 'vitest';
import { errorCode, gql } from './harness.js';

/** Where the races run. */
export interface Deployment {
  /** GraphQL endpoints of every instance (one for SQLite). */
  urls: string[];
  /** A token for a new player of `role` whom every instance accepts. */
  token(role: 'PLAYER' | 'GAME_MASTER', name: string): Promise<string>;
  /** The stored events of `stream`, in order. */
  log(stream: string): Promise<Array<{ type: string; payload: any }>>;
}

const at = (deployment: Deployment, i: number) => deployment.urls[i % deployment.urls.length]!;

const createGame = async (url: string, token: string, maxPlayers: number) => {
  const result = await gql(url, 'mutation ($max: Int) { createGame(name: "Race", maxPlayers: $max) { code scenario { choices { id } } } }', { max: maxPlayers }, token);
  expect(result.errors).toBeUndefined();
  return result.data!.createGame as { code: string; scenario: { choices: Array<{ id: string }> } };
};

const join = async (url: string, token: string, code: string) =>
  expect((await gql(url, 'mutation ($code: String!) { joinGame(code: $code) { code } }', { code }, token)).errors).toBeUndefined();

const submit = (url: string, token: string, code: string, choiceId: string, turnNumber: number) =>
  gql(url, 'mutation ($code: String!, $c: ID!, $t: Int) { submitChoice(code: $code, choiceId: $c, turnNumber: $t) { turnNumber choicesSubmitted allSubmitted } }', { code, c: choiceId, t: turnNumber }, token);

const scenario = async (url: string, token: string, code: string) =>
  (await gql(url, 'query ($code: String!) { game(code: $code) { turnNumber scenario { choices { id } } } }', { code }, token)).data!.game as {
    turnNumber: number;
    scenario: { choices: Array<{ id: string }> };
  };

/** Votes of a `TurnResolved` payload as `{ choiceId: count }`, without zero counts. */
const votesOf = (payload: { votes: Array<{ choiceId: string; count: number }> }) =>
  Object.fromEntries(payload.votes.filter((v) => v.count > 0).map((v) => [v.choiceId, v.count]));

/**
 * Every player of one game submits at the same moment, over every instance,
 * for `rounds` turns: each turn resolves exactly once, counting every vote.
 */
export async function everyoneChoosesAtOnce(deployment: Deployment, { players = 6, rounds = 3 } = {}) {
  const tokens = await Promise.all(Array.from({ length: players }, (_, i) => deployment.token('PLAYER', `racer ${i}`)));
  const game = await createGame(at(deployment, 0), tokens[0]!, players);
  for (let i = 1; i < players; i++) await join(at(deployment, i), tokens[i]!, game.code);

  for (let turn = 1; turn <= rounds; turn++) {
    const { turnNumber, scenario: current } = await scenario(at(deployment, turn), tokens[0]!, game.code);
    expect(turnNumber).toBe(turn);
    // Player i votes for choice i mod 2: a known tally.
    const picks = tokens.map((_, i) => current.choices[i % 2]!.id);
    const results = await Promise.all(tokens.map((token, i) => submit(at(deployment, i), token, game.code, picks[i]!, turn)));
    for (const result of results) expect(result.errors).toBeUndefined();
    const progress = results.map((r) => r.data!.submitChoice as { choicesSubmitted: number; allSubmitted: boolean });
    expect(progress.map((p) => p.choicesSubmitted).sort((a, b) => a - b)).toEqual(tokens.map((_, i) => i + 1));
    expect(progress.filter((p) => p.allSubmitted)).toHaveLength(1);
  }

  const log = await deployment.log(`game:${game.code}`);
  const resolved = log.filter((e) => e.type === 'TurnResolved');
  expect(resolved.map((e) => e.payload.turnNumber)).toEqual(Array.from({ length: rounds }, (_, i) => i + 1));
  for (const { payload } of resolved) {
    const total = Object.values(votesOf(payload)).reduce((sum, n) => sum + n, 0);
    expect(total).toBe(players);
    expect(Object.values(votesOf(payload)).sort()).toEqual([Math.floor(players / 2), Math.ceil(players / 2)].sort());
  }
  expect(log.filter((e) => e.type === 'ScenarioStarted').map((e) => e.payload.turnNumber)).toEqual(Array.from({ length: rounds + 1 }, (_, i) => i + 1));
  // In the log, each turn's choices all come before its resolution.
  let turn = 1;
  for (const event of log) {
    if (event.type === 'ChoiceSubmitted') expect(event.payload.turnNumber).toBe(turn);
    if (event.type === 'TurnResolved') turn += 1;
  }
}

/**
 * In several games at once: two players make the last choices, the host
 * forces the turn and a player who chose leaves, all at the same moment. Each turn resolves exactly
 * once, and its votes are exactly the choices stored before it by players
 * still in the game.
 */
export async function chooseResolveAndLeaveAtOnce(deployment: Deployment, { games = 4 } = {}) {
  await Promise.all(
    Array.from({ length: games }, async (_, g) => {
      const [host, p1, p2, leaver] = await Promise.all(['host', 'p1', 'p2', 'leaver'].map((n) => deployment.token('PLAYER', `${n} ${g}`)));
      const game = await createGame(at(deployment, g), host!, 4);
      for (const [i, token] of [p1, p2, leaver].entries()) await join(at(deployment, g + i + 1), token!, game.code);
      const [first, second] = game.scenario.choices;
      // The host and the leaver chose already; the last two choices would resolve the turn by themselves.
      expect((await submit(at(deployment, g), host!, game.code, first!.id, 1)).errors).toBeUndefined();
      expect((await submit(at(deployment, g + 1), leaver!, game.code, first!.id, 1)).errors).toBeUndefined();

      const [c1, c2, forced, left] = await Promise.all([
        submit(at(deployment, g), p1!, game.code, second!.id, 1),
        submit(at(deployment, g + 1), p2!, game.code, second!.id, 1),
        gql(at(deployment, g + 2), 'mutation ($code: String!) { resolveTurn(code: $code, turnNumber: 1) { turnNumber } }', { code: game.code }, host),
        gql(at(deployment, g + 3), 'mutation ($code: String!) { leaveGame(code: $code) { code } }', { code: game.code }, leaver),
      ]);
      // A choice either counted for turn 1 or came too late (CONFLICT); the forced resolution likewise; the leave always works.
      for (const result of [c1!, c2!, forced!]) if (result.errors) expect(errorCode(result)).toBe('CONFLICT');
      expect(left!.errors).toBeUndefined();

      const log = await deployment.log(`game:${game.code}`);
      const resolutions = log.filter((e) => e.type === 'TurnResolved');
      expect(resolutions.map((e) => e.payload.turnNumber)).toEqual([1]);
      const resolvedAt = log.findIndex((e) => e.type === 'TurnResolved');
      // The votes are the choices stored before the resolution, minus those of anyone who left before it.
      const before = log.slice(0, resolvedAt);
      const leftBefore = new Set(before.filter((e) => e.type === 'PlayerLeft').map((e) => e.payload.player.id));
      const expected: Record<string, number> = {};
      for (const { type, payload } of before) {
        if (type !== 'ChoiceSubmitted' || leftBefore.has(payload.player.id)) continue;
        const choiceId = /^(host|leaver) /.test(payload.player.name) ? first!.id : second!.id;
        expected[choiceId] = (expected[choiceId] ?? 0) + 1;
      }
      expect(votesOf(resolutions[0]!.payload)).toEqual(expected);
      // Forced by the host, or by the last choice (then the forced call came too late).
      expect(resolutions[0]!.payload.resolvedBy?.name ?? null).toBe(forced!.errors ? null : `host ${g}`);
      expect(log.filter((e) => e.type === 'ScenarioStarted').map((e) => e.payload.turnNumber)).toEqual([1, 2]);
    }),
  );
}

/**
 * One player fires many orders at once over every instance: cash never goes
 * below zero and shares never below zero; exactly what could be afforded fills.
 */
export async function ordersNeverOverspend(deployment: Deployment, { orders = 24 } = {}) {
  const gm = await deployment.token('GAME_MASTER', 'market maker');
  const trader = await deployment.token('PLAYER', 'racing trader');
  // 10,000 cash at 1,000 a share: exactly 10 shares can be bought.
  expect((await gql(at(deployment, 0), 'mutation { setStockPrice(symbol: "AETH", price: 1000) { price } }', {}, gm)).errors).toBeUndefined();
  const order = (side: 'BUY' | 'SELL', i: number) =>
    gql(at(deployment, i), `mutation { placeOrder(symbol: "AETH", side: ${side}, quantity: 1) { quantity price } }`, {}, trader);
  const portfolio = async () =>
    (await gql(at(deployment, 1), '{ portfolio { cash positions { symbol quantity } } }', {}, trader)).data!.portfolio as {
      cash: number;
      positions: Array<{ symbol: string; quantity: number }>;
    };

  const buys = await Promise.all(Array.from({ length: orders }, (_, i) => order('BUY', i)));
  expect(buys.filter((r) => !r.errors)).toHaveLength(10);
  for (const refused of buys.filter((r) => r.errors)) {
    expect(errorCode(refused)).toBe('BAD_USER_INPUT');
    expect(refused.errors![0]!.extensions!.field).toBe('quantity');
  }
  expect(await portfolio()).toEqual({ cash: 0, positions: [{ symbol: 'AETH', quantity: 10 }] });

  const sells = await Promise.all(Array.from({ length: orders }, (_, i) => order('SELL', i)));
  expect(sells.filter((r) => !r.errors)).toHaveLength(10);
  for (const refused of sells.filter((r) => r.errors)) expect(errorCode(refused)).toBe('BAD_USER_INPUT');
  expect(await portfolio()).toEqual({ cash: 10_000, positions: [] });
}
