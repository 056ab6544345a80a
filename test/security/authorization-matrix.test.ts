/**
 * The authorization matrix: every root field of the schema × every kind of
 * caller, each expected outcome derived from the one role table in
 * `server/auth.ts` (`allowedRoles`) and the rules of docs/api-tour.md ("Auth and roles"), never from the
 * code under test. A root field without a row here fails the first test.
 */
import type { Client } from 'graphql-ws';
import { beforeAll, describe, expect, it } from 'vitest';
import { actions, allowedRoles, type Action, type Role } from '../../server/auth.js';
import { encodeCursor } from '../../server/events/event-log.js';
import { Streams } from '../../server/events/topics.js';
import { schema } from '../../server/schema/index.js';
import { createGame, joinGame } from '../support/games.js';
import { gql, listening, startServer, subscribe, wsClient, type TestServer } from '../support/harness.js';

/** One kind of caller. `member`/`host`: of the game each case runs against. */
interface Caller {
  label: string;
  role?: Role;
  scopes: string[];
  member: boolean;
  host: boolean;
}

const callers: Caller[] = [
  { label: 'anonymous', scopes: [], member: false, host: false },
  { label: 'PLAYER', role: 'PLAYER', scopes: [], member: true, host: false },
  { label: 'PLAYER (host)', role: 'PLAYER', scopes: [], member: true, host: true },
  { label: 'PLAYER of another game', role: 'PLAYER', scopes: [], member: false, host: false },
  { label: 'BOT', role: 'BOT', scopes: [], member: false, host: false },
  ...actions.map((action): Caller => ({ label: `BOT [${action}]`, role: 'BOT', scopes: [action], member: false, host: false })),
  { label: 'GAME_MASTER', role: 'GAME_MASTER', scopes: [], member: false, host: false },
];

/** `allowed`, `null` (the field resolved to null), `silent` (a subscription started that never answered), or an error code. */
type Outcome = string;

/** What the docs' rule says: the role table, plus BOT scopes naming the action. */
const may = (caller: Caller, action: Action) =>
  caller.role !== undefined && (allowedRoles[action].includes(caller.role) || (caller.role === 'BOT' && caller.scopes.includes(action)));

const signedIn = (caller: Caller): Outcome => (caller.role ? 'allowed' : 'UNAUTHENTICATED');
const needs = (action: Action) => (caller: Caller): Outcome => (!caller.role ? 'UNAUTHENTICATED' : may(caller, action) ? 'allowed' : 'FORBIDDEN');
/** `play`, and then being a player of the game. */
const plays = (caller: Caller): Outcome => {
  const allowed = needs('play')(caller);
  return allowed === 'allowed' && !caller.member ? 'NOT_IN_GAME' : allowed;
};
/** A game's players, and anyone who may watch any game. */
const watches = (caller: Caller): Outcome =>
  !caller.role ? 'UNAUTHENTICATED' : caller.member || may(caller, 'watchAnyGame') ? 'allowed' : 'NOT_IN_GAME';
const everyone = (): Outcome => 'allowed';
const ownOrNull = (caller: Caller): Outcome => (caller.role ? 'allowed' : 'null');

/** What each case runs against: a fresh game hosted by the host, with the PLAYER in it. */
interface Fixture {
  code: string;
  choiceId: string;
  /** The game's cursor before the PLAYER joined, so `gameEvents(after:)` replays at least one event. */
  cursor: string;
}

interface Row {
  kind: 'query' | 'mutation' | 'subscription';
  expected: (caller: Caller) => Outcome;
  /** The operation (one root field); `needsGame` cases get a fresh {@link Fixture}. */
  operation: (fixture: Fixture) => { query: string; variables?: Record<string, unknown> };
  needsGame?: boolean;
}

const rows: Record<string, Row> = {
  'Query.me': { kind: 'query', expected: ownOrNull, operation: () => ({ query: '{ me { id } }' }) },
  'Query.stocks': { kind: 'query', expected: everyone, operation: () => ({ query: '{ stocks { symbol } }' }) },
  'Query.stock': { kind: 'query', expected: everyone, operation: () => ({ query: '{ stock(symbol: "IRON") { price } }' }) },
  'Query.factions': { kind: 'query', expected: everyone, operation: () => ({ query: '{ factions { id } }' }) },
  'Query.worldEvents': { kind: 'query', expected: everyone, operation: () => ({ query: '{ worldEvents(last: 1) { id } }' }) },
  'Query.game': {
    kind: 'query',
    expected: signedIn,
    needsGame: true,
    operation: ({ code }) => ({ query: 'query ($code: String!) { game(code: $code) { code } }', variables: { code } }),
  },
  'Query.games': { kind: 'query', expected: signedIn, operation: () => ({ query: '{ games { code } }' }) },
  'Query.portfolio': { kind: 'query', expected: ownOrNull, operation: () => ({ query: '{ portfolio { cash } }' }) },

  'Mutation.signIn': { kind: 'mutation', expected: everyone, operation: () => ({ query: 'mutation { signIn(name: "Guest") { token } }' }) },
  'Mutation.setStockPrice': {
    kind: 'mutation',
    expected: needs('setStockPrice'),
    operation: () => ({ query: 'mutation { setStockPrice(symbol: "SHIP", price: 67) { price } }' }),
  },
  'Mutation.placeOrder': {
    kind: 'mutation',
    expected: needs('trade'),
    operation: () => ({ query: 'mutation { placeOrder(symbol: "GRAIN", side: BUY, quantity: 1) { id } }' }),
  },
  'Mutation.shiftFactionInfluence': {
    kind: 'mutation',
    expected: needs('shiftFactionInfluence'),
    operation: () => ({ query: 'mutation { shiftFactionInfluence(factionId: "free", delta: 0.5, reason: "matrix") { id } }' }),
  },
  'Mutation.announceWorldEvent': {
    kind: 'mutation',
    expected: needs('announceWorldEvent'),
    operation: () => ({ query: 'mutation { announceWorldEvent(message: "matrix") { id } }' }),
  },
  'Mutation.createGame': { kind: 'mutation', expected: needs('play'), operation: () => ({ query: 'mutation { createGame(name: "Matrix") { code } }' }) },
  'Mutation.joinGame': {
    kind: 'mutation',
    expected: needs('play'),
    needsGame: true,
    operation: ({ code }) => ({ query: 'mutation ($code: String!) { joinGame(code: $code) { code } }', variables: { code } }),
  },
  'Mutation.leaveGame': {
    kind: 'mutation',
    expected: plays,
    needsGame: true,
    operation: ({ code }) => ({ query: 'mutation ($code: String!) { leaveGame(code: $code) { code } }', variables: { code } }),
  },
  'Mutation.submitChoice': {
    kind: 'mutation',
    expected: plays,
    needsGame: true,
    operation: ({ code, choiceId }) => ({
      query: 'mutation ($code: String!, $choiceId: ID!) { submitChoice(code: $code, choiceId: $choiceId) { cursor } }',
      variables: { code, choiceId },
    }),
  },
  'Mutation.resolveTurn': {
    kind: 'mutation',
    expected: (caller) => (!caller.role ? 'UNAUTHENTICATED' : caller.host || may(caller, 'resolveAnyTurn') ? 'allowed' : 'FORBIDDEN'),
    needsGame: true,
    operation: ({ code }) => ({ query: 'mutation ($code: String!) { resolveTurn(code: $code) { cursor } }', variables: { code } }),
  },
  'Mutation.setTyping': {
    kind: 'mutation',
    expected: plays,
    needsGame: true,
    operation: ({ code }) => ({ query: 'mutation ($code: String!) { setTyping(code: $code, typing: true) }', variables: { code } }),
  },

  'Subscription.stockTicked': {
    kind: 'subscription',
    expected: everyone,
    operation: () => ({ query: 'subscription ($after: String) { stockTicked(after: $after) { cursor } }', variables: { after: encodeCursor(Streams.market, 0) } }),
  },
  'Subscription.factionInfluenceChanged': {
    kind: 'subscription',
    expected: everyone,
    operation: () => ({
      query: 'subscription ($after: String) { factionInfluenceChanged(after: $after) { cursor } }',
      variables: { after: encodeCursor(Streams.factions, 0) },
    }),
  },
  'Subscription.worldEvents': {
    kind: 'subscription',
    expected: everyone,
    operation: () => ({ query: 'subscription ($after: String) { worldEvents(after: $after) { cursor } }', variables: { after: encodeCursor(Streams.world, 0) } }),
  },
  'Subscription.gameEvents': {
    kind: 'subscription',
    expected: watches,
    needsGame: true,
    operation: ({ code, cursor }) => ({
      query: 'subscription ($code: String!, $after: String) { gameEvents(code: $code, after: $after) { cursor } }',
      variables: { code, after: cursor },
    }),
  },
  'Subscription.presence': {
    kind: 'subscription',
    expected: watches,
    needsGame: true,
    operation: ({ code }) => ({ query: 'subscription ($code: String!) { presence(code: $code) { onlineCount } }', variables: { code } }),
  },
  'Subscription.portfolioChanged': { kind: 'subscription', expected: needs('trade'), operation: () => ({ query: 'subscription { portfolioChanged { cash } }' }) },
  'Subscription.pnlTicked': { kind: 'subscription', expected: needs('trade'), operation: () => ({ query: 'subscription { pnlTicked { totalPnl } }' }) },
  'Subscription.tradeExecuted': { kind: 'subscription', expected: needs('trade'), operation: () => ({ query: 'subscription { tradeExecuted { cursor } }' }) },
};

/** How long a subscription that should have answered (an event or an error) may stay silent. */
const answerWithinMs = 3_000;

describe('authorization matrix', () => {
  let app: TestServer;
  /** Per caller label: token and player id (none for anonymous). */
  const identities = new Map<string, { token?: string; id?: string }>();
  const clients = new Map<string, Client>();

  beforeAll(async () => {
    // The matrix creates a game per caller and field: lift the abuse limits
    // (test/security/abuse.test.ts owns them) so every answer is about authorization.
    const unlimited = { points: 100_000, seconds: 1 };
    app = await startServer({ createGameRate: unlimited, turnRate: unlimited, signInRate: unlimited, operationRatePerPlayer: unlimited, operationRatePerAddress: unlimited });
    for (const caller of callers) {
      if (!caller.role) {
        identities.set(caller.label, {});
      } else {
        const player = await app.services.players.create(caller.label.replace(/[^A-Za-z ]/g, '').slice(0, 40), caller.role);
        identities.set(caller.label, { id: player.id, token: await app.tokens.sign({ ...player, role: caller.role, scopes: caller.scopes }) });
      }
      clients.set(caller.label, wsClient(app.url, identities.get(caller.label)!.token));
    }
    const outsider = identities.get('PLAYER of another game')!.token!;
    await createGame(app.url, outsider, 'Elsewhere');
    // One event in each public stream, so `after:` the start replays something at once.
    const gm = await app.token('GAME_MASTER');
    await gql(app.url, 'mutation { setStockPrice(symbol: "IRON", price: 43) { price } }', {}, gm);
    await gql(app.url, 'mutation { shiftFactionInfluence(factionId: "crown", delta: 1, reason: "setup") { id } }', {}, gm);
  });

  /** A fresh game: hosted by the host, joined by the PLAYER. */
  async function freshGame(): Promise<Fixture> {
    const created = await createGame(app.url, identities.get('PLAYER (host)')!.token!, 'Matrix room');
    await joinGame(app.url, identities.get('PLAYER')!.token!, created.code);
    return { code: created.code, choiceId: created.scenario.choices[0].id, cursor: created.cursor };
  }

  async function outcome(field: string, row: Row, caller: Caller): Promise<Outcome> {
    const { token, id } = identities.get(caller.label)!;
    const { query, variables = {} } = row.operation(row.needsGame ? await freshGame() : { code: '', choiceId: '', cursor: '' });
    const name = field.split('.')[1]!;
    if (row.kind !== 'subscription') {
      const result = await gql(app.url, query, variables, token);
      if (result.errors?.length) return String(result.errors[0]!.extensions?.code);
      return result.data?.[name] === null ? 'null' : 'allowed';
    }
    const sub = subscribe(clients.get(caller.label)!, query, variables);
    let timer: NodeJS.Timeout | undefined;
    const answers: Array<Promise<Outcome>> = [
      sub.next(answerWithinMs).then(
        () => 'allowed',
        () => 'silent',
      ),
      sub.failed.then((errors) => String((errors as Array<{ extensions?: { code?: string } }>)[0]?.extensions?.code ?? JSON.stringify(errors))),
      new Promise((resolve) => (timer = setTimeout(() => resolve('silent'), answerWithinMs))),
    ];
    // portfolioChanged only answers after a trade: being subscribed on the server is the answer.
    if (name === 'portfolioChanged' && id) answers.push(listening(app, 'portfolioChanged', id).then(() => 'allowed'));
    // Nor does tradeExecuted: following one's own trade stream is the answer.
    if (name === 'tradeExecuted' && id) answers.push(listening(app, 'streamEvent', Streams.trades(id)).then(() => 'allowed'));
    try {
      return await Promise.race(answers);
    } finally {
      clearTimeout(timer);
      sub.unsubscribe();
    }
  }

  it('should have a row for every Query, Mutation and Subscription field', () => {
    const fields = [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()].flatMap((type) =>
      Object.keys(type!.getFields()).map((field) => `${type!.name}.${field}`),
    );
    expect(Object.keys(rows).sort()).toEqual(fields.sort());
  });

  it('should give BOTs nothing by role and players only trade and play, as the docs state', () => {
    for (const action of actions) expect(allowedRoles[action]).not.toContain('BOT');
    expect(actions.filter((action) => allowedRoles[action].includes('PLAYER')).sort()).toEqual(['play', 'trade']);
    expect(actions.every((action) => allowedRoles[action].includes('GAME_MASTER'))).toBe(true);
  });

  it.each(Object.keys(rows))('%s: each caller gets exactly what the role table allows', async (field) => {
    const row = rows[field]!;
    const actual: Record<string, Outcome> = {};
    const expected: Record<string, Outcome> = {};
    await Promise.all(
      callers.map(async (caller) => {
        expected[caller.label] = row.expected(caller);
        actual[caller.label] = await outcome(field, row, caller);
      }),
    );
    expect(actual).toEqual(expected);
  });
});
