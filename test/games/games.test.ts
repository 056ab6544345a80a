import { describe, expect, it } from 'vitest';
import { bigShiftThreshold } from '../../server/domain/factions.js';
import { drawScenario, scenarioDeck } from '../../server/domain/scenarios.js';
import { ditheringOutcome, tallyTurn } from '../../server/domain/turns.js';
import { Streams } from '../../server/events/topics.js';
import {
  createGame,
  gameEvents,
  gameFields,
  gameEventsQuery,
  joinGame,
  leaveGame,
  overWs,
  readGame,
  resolveTurn,
  signIn,
  submitChoice,
} from '../support/games.js';
import { errorCode, gql, listening, startServer, subscribe, wsClient } from '../support/harness.js';

const names = (players: Array<{ name: string }>) => players.map((p) => p.name);

describe('scenarios', () => {
  it('should hold at least 8 themes of 2–4 choices, each moving a faction and a stock', () => {
    expect(new Set(scenarioDeck.map((s) => s.theme)).size).toBeGreaterThanOrEqual(8);
    for (const scenario of scenarioDeck) {
      expect(scenario.choices.length).toBeGreaterThanOrEqual(2);
      expect(scenario.choices.length).toBeLessThanOrEqual(4);
      for (const choice of scenario.choices) {
        expect(choice.id.startsWith(`${scenario.id}.`)).toBe(true);
        expect(choice.influence.length).toBeGreaterThan(0);
        // Turn resolution's lock order relies on shifts too small for a world event.
        for (const shift of choice.influence) expect(Math.abs(shift.delta)).toBeLessThan(bigShiftThreshold);
        expect(choice.prices.length).toBeGreaterThan(0);
      }
    }
  });

  it('should draw the same scenario for the same code and turn', () => {
    expect(drawScenario('ABC234', 3)).toBe(drawScenario('ABC234', 3));
    const drawn = new Set(Array.from({ length: 40 }, (_, turn) => drawScenario('ABC234', turn + 1).id));
    expect(drawn.size).toBeGreaterThan(3);
  });

  it('should pick the majority, break ties by choice order and dither without choices', () => {
    const [scenario] = scenarioDeck;
    const [first, second] = scenario!.choices;
    expect(tallyTurn(scenario!, [second!.id, second!.id, first!.id]).choice).toBe(second);
    expect(tallyTurn(scenario!, [second!.id, first!.id]).choice).toBe(first);
    expect(tallyTurn(scenario!, [])).toMatchObject({ choice: null, outcome: ditheringOutcome });
  });
});

describe('game rooms', () => {
  it('should create an ACTIVE game at turn 1 with a scenario, the caller as host and first player', async () => {
    const app = await startServer();
    const alice = await signIn(app.url, 'Alice');
    const game = await createGame(app.url, alice.token, '  Tea at the palace ');
    expect(game.code).toMatch(/^[ABCDEFGHJKMNPQRSTUVWXYZ23456789]{6}$/);
    expect(game).toMatchObject({
      name: 'Tea at the palace',
      status: 'ACTIVE',
      maxPlayers: 4,
      turnNumber: 1,
      host: { id: alice.id, name: 'Alice' },
      players: [{ player: { id: alice.id, name: 'Alice' }, online: false, hasChosen: false, lastSeenAt: null, isHost: true }],
    });
    expect(game.scenario.choices.length).toBeGreaterThanOrEqual(2);
    expect(game.scenario.id).toBe(drawScenario(game.code, 1).id);
    const listed = await gql(app.url, '{ games { code } }', {}, alice.token);
    expect(listed.data).toEqual({ games: [{ code: game.code }] });
  });

  it.each([
    ['an empty name', { name: '   ' }, 'name'],
    ['a name over 40 characters', { name: 'x'.repeat(41) }, 'name'],
    ['maxPlayers below 2', { name: 'Room', max: 1 }, 'maxPlayers'],
    ['maxPlayers above 12', { name: 'Room', max: 13 }, 'maxPlayers'],
  ])('should reject %s naming the field and create nothing', async (_label, variables, field) => {
    const app = await startServer();
    const alice = await signIn(app.url, 'Alice');
    const result = await gql(app.url, 'mutation ($name: String!, $max: Int) { createGame(name: $name, maxPlayers: $max) { code } }', variables, alice.token);
    expect(errorCode(result)).toBe('BAD_USER_INPUT');
    expect(result.errors![0]!.extensions!.field).toBe(field);
    expect((await gql(app.url, '{ games { code } }', {}, await app.token('GAME_MASTER'))).data).toEqual({ games: [] });
  });

  it('should refuse game rooms to anonymous callers', async () => {
    const app = await startServer();
    expect(errorCode(await gql(app.url, 'mutation { createGame(name: "Room") { code } }'))).toBe('UNAUTHENTICATED');
    expect(errorCode(await gql(app.url, '{ games { code } }'))).toBe('UNAUTHENTICATED');
    expect(errorCode(await gql(app.url, '{ game(code: "ABCDEF") { code } }'))).toBe('UNAUTHENTICATED');
  });

  it('should join by a case-insensitive code, idempotently, and refuse a full room with GAME_FULL', async () => {
    const app = await startServer();
    const [alice, bob, carol] = await Promise.all(['Alice', 'Bob', 'Carol'].map((n) => signIn(app.url, n)));
    const game = await createGame(app.url, alice!.token, 'Duel', 2);
    const joined = await joinGame(app.url, bob!.token, game.code.toLowerCase());
    expect(joined.players.map((p: any) => p.player.name)).toEqual(['Alice', 'Bob']);
    const again = await joinGame(app.url, bob!.token, game.code);
    expect(again.players).toHaveLength(2);

    const full = await gql(app.url, 'mutation ($code: String!) { joinGame(code: $code) { code } }', { code: game.code }, carol!.token);
    expect(errorCode(full)).toBe('GAME_FULL');
    const unknown = await gql(app.url, 'mutation { joinGame(code: "ZZZZZZ") { code } }', {}, carol!.token);
    expect(errorCode(unknown)).toBe('NOT_FOUND');
    expect((await readGame(app.url, carol!.token, game.code)).players.map((p: any) => p.player.name)).toEqual(['Alice', 'Bob']);
    const joins = (await app.services.events.read(Streams.game(game.code), 0)).filter((e) => e.type === 'PlayerJoined');
    expect(joins).toHaveLength(2);
  });

  it('should show the caller their games and a game master every game', async () => {
    const app = await startServer();
    const [alice, bob] = await Promise.all(['Alice', 'Bob'].map((n) => signIn(app.url, n)));
    const a = await createGame(app.url, alice!.token, 'Mine');
    const b = await createGame(app.url, bob!.token, 'Yours');
    expect((await gql(app.url, '{ games { code } }', {}, alice!.token)).data).toEqual({ games: [{ code: a.code }] });
    const all = await gql(app.url, '{ games { code } }', {}, await app.token('GAME_MASTER'));
    expect(all.data!.games.map((g: any) => g.code).sort()).toEqual([a.code, b.code].sort());
  });

  it('should play a two-player turn over graphql-ws: progress, then ChoiceSubmitted, TurnResolved and ScenarioStarted in order', async () => {
    const app = await startServer();
    const [alice, bob] = await Promise.all(['Alice', 'Bob'].map((n) => signIn(app.url, n)));
    const game = await createGame(app.url, alice!.token, 'Duel');
    await joinGame(app.url, bob!.token, game.code);
    const aliceWs = wsClient(app.url, alice!.token);
    const bobWs = wsClient(app.url, bob!.token);
    const aliceEvents = gameEvents(aliceWs, game.code);
    const bobEvents = gameEvents(bobWs, game.code);
    await listening(app, 'streamEvent', Streams.game(game.code), 2);

    const [first, second] = game.scenario.choices;
    const submit = 'mutation ($code: String!, $choiceId: ID!) { submitChoice(code: $code, choiceId: $choiceId) { turnNumber choicesSubmitted totalPlayers allSubmitted waitingFor { name } } }';
    const chose = await overWs(aliceWs, submit, { code: game.code, choiceId: first.id });
    expect(chose.submitChoice).toEqual({ turnNumber: 1, choicesSubmitted: 1, totalPlayers: 2, allSubmitted: false, waitingFor: [{ name: 'Bob' }] });
    const mid = await readGame(app.url, bob!.token, game.code);
    expect(mid.players.map((p: any) => [p.player.name, p.hasChosen])).toEqual([['Alice', true], ['Bob', false]]);
    await overWs(bobWs, submit, { code: game.code, choiceId: second.id });

    for (const events of [aliceEvents, bobEvents]) {
      const [a, b, resolved, started] = await events.take(4);
      expect(a).toMatchObject({ __typename: 'ChoiceSubmitted', player: { name: 'Alice' }, choicesSubmitted: 1, allSubmitted: false, waitingFor: [{ name: 'Bob' }] });
      expect(b).toMatchObject({ __typename: 'ChoiceSubmitted', player: { name: 'Bob' }, choicesSubmitted: 2, totalPlayers: 2, allSubmitted: true, waitingFor: [] });
      // One vote each: the tie goes to the choice listed first.
      expect(resolved).toMatchObject({
        __typename: 'TurnResolved',
        turnNumber: 1,
        choice: { id: first.id },
        resolvedBy: null,
        votes: expect.arrayContaining([{ choice: { id: first.id }, count: 1 }, { choice: { id: second.id }, count: 1 }]),
      });
      expect(started).toMatchObject({ __typename: 'ScenarioStarted', turnNumber: 2, scenario: { id: drawScenario(game.code, 2).id } });
      const cursors = [a, b, resolved, started].map((e) => e!.cursor);
      expect(new Set(cursors).size).toBe(4);
    }
    const after = await readGame(app.url, alice!.token, game.code);
    expect(after).toMatchObject({ turnNumber: 2, scenario: { id: drawScenario(game.code, 2).id } });
    expect(after.players.every((p: any) => !p.hasChosen)).toBe(true);
  });

  it('should let the majority of three players decide', async () => {
    const app = await startServer();
    const [alice, bob, carol] = await Promise.all(['Alice', 'Bob', 'Carol'].map((n) => signIn(app.url, n)));
    const game = await createGame(app.url, alice!.token, 'Trio', 3);
    await joinGame(app.url, bob!.token, game.code);
    await joinGame(app.url, carol!.token, game.code);
    const [first, second] = game.scenario.choices;
    await submitChoice(app.url, alice!.token, game.code, first.id);
    await submitChoice(app.url, bob!.token, game.code, second.id);
    const last = await submitChoice(app.url, carol!.token, game.code, second.id);
    expect(last.data!.submitChoice).toMatchObject({ choicesSubmitted: 3, totalPlayers: 3, allSubmitted: true, waitingFor: [] });
    const replay = gameEvents(wsClient(app.url, carol!.token), game.code, last.data!.submitChoice.cursor);
    expect(await replay.next()).toMatchObject({ __typename: 'TurnResolved', choice: { id: second.id }, outcome: expect.any(String) });
  });

  it('should refuse a second choice in the same turn with CONFLICT and change nothing', async () => {
    const app = await startServer();
    const [alice, bob] = await Promise.all(['Alice', 'Bob'].map((n) => signIn(app.url, n)));
    const game = await createGame(app.url, alice!.token);
    await joinGame(app.url, bob!.token, game.code);
    const [first, second] = game.scenario.choices;
    expect((await submitChoice(app.url, alice!.token, game.code, first.id)).errors).toBeUndefined();
    const again = await submitChoice(app.url, alice!.token, game.code, second.id);
    expect(errorCode(again)).toBe('CONFLICT');
    const state = await readGame(app.url, alice!.token, game.code);
    expect(state.turnNumber).toBe(1);
    expect(state.players.map((p: any) => p.hasChosen)).toEqual([true, false]);
    const choices = (await app.services.events.read(Streams.game(game.code), 0)).filter((e) => e.type === 'ChoiceSubmitted');
    expect(choices).toHaveLength(1);
  });

  it('should reject a choice not in the scenario naming choiceId, and a choice for a past turn with CONFLICT, changing nothing', async () => {
    const app = await startServer();
    const [alice, bob] = await Promise.all(['Alice', 'Bob'].map((n) => signIn(app.url, n)));
    const game = await createGame(app.url, alice!.token);
    await joinGame(app.url, bob!.token, game.code);
    const wrong = await submitChoice(app.url, alice!.token, game.code, 'nonsense.choice');
    expect(errorCode(wrong)).toBe('BAD_USER_INPUT');
    expect(wrong.errors![0]!.extensions!.field).toBe('choiceId');
    const stale = await submitChoice(app.url, alice!.token, game.code, game.scenario.choices[0].id, 0);
    expect(errorCode(stale)).toBe('CONFLICT');
    const state = await readGame(app.url, alice!.token, game.code);
    expect(state.players.map((p: any) => p.hasChosen)).toEqual([false, false]);
    expect((await app.services.events.read(Streams.game(game.code), 0)).map((e) => e.type)).toEqual(['PlayerJoined', 'ScenarioStarted', 'PlayerJoined']);
  });

  it('should refuse choices from non-players with NOT_IN_GAME and unknown codes with NOT_FOUND', async () => {
    const app = await startServer();
    const [alice, mallory] = await Promise.all(['Alice', 'Mallory'].map((n) => signIn(app.url, n)));
    const game = await createGame(app.url, alice!.token);
    const outsider = await submitChoice(app.url, mallory!.token, game.code, game.scenario.choices[0].id);
    expect(errorCode(outsider)).toBe('NOT_IN_GAME');
    expect(errorCode(await submitChoice(app.url, mallory!.token, 'ZZZZZZ', 'x'))).toBe('NOT_FOUND');
    expect((await readGame(app.url, alice!.token, game.code)).players.map((p: any) => p.hasChosen)).toEqual([false]);
  });

  it("should apply the winning choice's effects on stockTicked, factionInfluenceChanged and a turn.resolved world event", async () => {
    const app = await startServer();
    const [alice, bob] = await Promise.all(['Alice', 'Bob'].map((n) => signIn(app.url, n)));
    const game = await createGame(app.url, alice!.token);
    await joinGame(app.url, bob!.token, game.code);
    const choice = game.scenario.choices[0];
    const before = (await gql(app.url, '{ stocks { symbol price } factions { id influence } }')).data!;
    const watcher = wsClient(app.url);
    const ticks = subscribe(watcher, 'subscription { stockTicked { symbol price } }');
    const shifts = subscribe(watcher, 'subscription { factionInfluenceChanged { faction { id influence } delta reason } }');
    const world = subscribe(watcher, 'subscription { worldEvents(kinds: ["turn.resolved"]) { kind message } }');
    await Promise.all(['market', 'factions', 'world'].map((stream) => listening(app, 'streamEvent', stream)));

    await submitChoice(app.url, alice!.token, game.code, choice.id);
    await submitChoice(app.url, bob!.token, game.code, choice.id);

    const expectedTicks = choice.priceNudges
      .map((n: any) => {
        const old = before.stocks.find((s: any) => s.symbol === n.symbol).price;
        return { symbol: n.symbol, price: Math.round(old * (1 + n.percent / 100) * 100) / 100 };
      })
      .sort((a: any, b: any) => a.symbol.localeCompare(b.symbol));
    expect((await ticks.take(expectedTicks.length)).map((t: any) => t.stockTicked)).toEqual(expectedTicks);

    const expectedShifts = choice.influenceShifts
      .map((s: any) => ({
        faction: { id: s.factionId, influence: before.factions.find((f: any) => f.id === s.factionId).influence + s.delta },
        delta: s.delta,
        reason: `Turn 1 of "Test room": ${choice.label}`,
      }))
      .sort((a: any, b: any) => a.faction.id.localeCompare(b.faction.id));
    expect((await shifts.take(expectedShifts.length)).map((s: any) => s.factionInfluenceChanged)).toEqual(expectedShifts);
    expect(await world.next()).toEqual({ worldEvents: { kind: 'turn.resolved', message: expect.stringContaining(game.code) } });
  });

  it('should let the host force a turn with the choices so far, and a game master force one without any', async () => {
    const app = await startServer();
    const [alice, bob] = await Promise.all(['Alice', 'Bob'].map((n) => signIn(app.url, n)));
    const gm = await app.token('GAME_MASTER', 'Ops');
    const game = await createGame(app.url, alice!.token);
    await joinGame(app.url, bob!.token, game.code);
    const events = gameEvents(wsClient(app.url, gm), game.code, game.cursor);
    const second = game.scenario.choices[1];
    await submitChoice(app.url, bob!.token, game.code, second.id);

    const forced = await resolveTurn(app.url, alice!.token, game.code, 1);
    expect(forced.data!.resolveTurn).toMatchObject({ turnNumber: 1, choice: { id: second.id }, resolvedBy: { name: 'Alice' } });
    const byGm = await resolveTurn(app.url, gm, game.code);
    expect(byGm.data!.resolveTurn).toMatchObject({ turnNumber: 2, choice: null, outcome: ditheringOutcome, resolvedBy: { name: 'Ops' } });

    const types = (await events.take(6)).map((e) => `${e.__typename}:${e.turnNumber ?? ''}`);
    expect(types).toEqual(['PlayerJoined:', 'ChoiceSubmitted:1', 'TurnResolved:1', 'ScenarioStarted:2', 'TurnResolved:2', 'ScenarioStarted:3']);
    expect((await readGame(app.url, alice!.token, game.code)).turnNumber).toBe(3);
  });

  it('should refuse resolveTurn to other players and outsiders with FORBIDDEN and a past turn with CONFLICT, changing nothing', async () => {
    const app = await startServer();
    const [alice, bob, mallory] = await Promise.all(['Alice', 'Bob', 'Mallory'].map((n) => signIn(app.url, n)));
    const game = await createGame(app.url, alice!.token);
    await joinGame(app.url, bob!.token, game.code);
    expect(errorCode(await resolveTurn(app.url, bob!.token, game.code))).toBe('FORBIDDEN');
    expect(errorCode(await resolveTurn(app.url, mallory!.token, game.code))).toBe('FORBIDDEN');
    expect(errorCode(await resolveTurn(app.url, alice!.token, game.code, 2))).toBe('CONFLICT');
    expect(errorCode(await gql(app.url, 'mutation { resolveTurn(code: "ZZZZZZ") { turnNumber } }', {}, alice!.token))).toBe('NOT_FOUND');
    expect((await readGame(app.url, alice!.token, game.code)).turnNumber).toBe(1);
    expect(await app.services.store.db.selectFrom('turns').selectAll().execute()).toEqual([]);
  });

  it('should resolve the turn when a player leaves and everyone remaining has chosen', async () => {
    const app = await startServer();
    const [alice, bob, carol] = await Promise.all(['Alice', 'Bob', 'Carol'].map((n) => signIn(app.url, n)));
    const game = await createGame(app.url, alice!.token);
    await joinGame(app.url, bob!.token, game.code);
    await joinGame(app.url, carol!.token, game.code);
    const events = gameEvents(wsClient(app.url, alice!.token), game.code, game.cursor);
    const choice = game.scenario.choices[0];
    await submitChoice(app.url, alice!.token, game.code, choice.id);
    const bobs = await submitChoice(app.url, bob!.token, game.code, choice.id);
    expect(bobs.data!.submitChoice).toMatchObject({ choicesSubmitted: 2, totalPlayers: 3, allSubmitted: false, waitingFor: [{ name: 'Carol' }] });
    const left = await leaveGame(app.url, carol!.token, game.code);
    expect(left.data!.leaveGame).toMatchObject({ turnNumber: 2, status: 'ACTIVE' });

    const seen = await events.take(7);
    expect(seen.map((e) => e.__typename)).toEqual([
      'PlayerJoined', 'PlayerJoined', 'ChoiceSubmitted', 'ChoiceSubmitted', 'PlayerLeft', 'TurnResolved', 'ScenarioStarted',
    ]);
    expect(seen[4]).toMatchObject({ player: { name: 'Carol' }, newHost: null, remainingPlayers: 2 });
    expect(seen[5]).toMatchObject({ turnNumber: 1, choice: { id: choice.id }, resolvedBy: null });
  });

  it("should take a leaver's choice with them: back in the same turn, they choose afresh and only the new vote counts", async () => {
    const app = await startServer();
    const [alice, bob, carol] = await Promise.all(['Alice', 'Bob', 'Carol'].map((n) => signIn(app.url, n)));
    const game = await createGame(app.url, alice!.token);
    await joinGame(app.url, bob!.token, game.code);
    await joinGame(app.url, carol!.token, game.code);
    const [first, second] = game.scenario.choices;
    expect((await submitChoice(app.url, bob!.token, game.code, first.id)).errors).toBeUndefined();
    expect((await leaveGame(app.url, bob!.token, game.code)).errors).toBeUndefined();
    const back = await joinGame(app.url, bob!.token, game.code);
    expect(back.turnNumber).toBe(1);
    expect(back.players.find((p: any) => p.player.name === 'Bob')).toMatchObject({ hasChosen: false });
    const again = await submitChoice(app.url, bob!.token, game.code, second.id);
    expect(again.errors).toBeUndefined();
    expect(again.data!.submitChoice).toMatchObject({ choicesSubmitted: 1, totalPlayers: 3 });
    const resolved = await resolveTurn(app.url, alice!.token, game.code);
    expect(resolved.data!.resolveTurn).toMatchObject({ turnNumber: 1, choice: { id: second.id } });
    const [turn] = await app.services.events.read(Streams.game(game.code), 0).then((log) => log.filter((e) => e.type === 'TurnResolved'));
    expect(turn!.payload).toMatchObject({ choiceId: second.id, votes: expect.arrayContaining([{ choiceId: second.id, count: 1 }]) });
    expect((turn!.payload as { votes: Array<{ choiceId: string; count: number }> }).votes.find((v) => v.choiceId === first.id)?.count ?? 0).toBe(0);
  });

  it("should end a leaver's gameEvents and presence subscriptions", async () => {
    const app = await startServer();
    const [alice, bob] = await Promise.all(['Alice', 'Bob'].map((n) => signIn(app.url, n)));
    const game = await createGame(app.url, alice!.token);
    await joinGame(app.url, bob!.token, game.code);
    const client = wsClient(app.url, bob!.token);
    const events = gameEvents(client, game.code, game.cursor);
    const presence = subscribe(client, 'subscription ($code: String!) { presence(code: $code) { onlineCount } }', { code: game.code });
    expect((await presence.next()).presence).toEqual({ onlineCount: 1 });
    const aliceEvents = gameEvents(wsClient(app.url, alice!.token), game.code, game.cursor);
    expect((await leaveGame(app.url, bob!.token, game.code)).errors).toBeUndefined();
    // Bob sees his own departure last, then both of his subscriptions end; Alice's goes on.
    expect(await events.next()).toMatchObject({ __typename: 'PlayerJoined', player: { name: 'Bob' } });
    expect(await events.next()).toMatchObject({ __typename: 'PlayerLeft', player: { name: 'Bob' } });
    await expect(events.next()).rejects.toThrow('subscription completed');
    // Presence may still send the snapshot with Alice online before it ends.
    let ending: unknown;
    while (!(ending = await presence.next().then(() => undefined, (error: unknown) => error)));
    expect(ending).toEqual(new Error('subscription completed'));
    expect(await aliceEvents.next()).toMatchObject({ __typename: 'PlayerJoined', player: { name: 'Bob' } });
    expect(await aliceEvents.next()).toMatchObject({ __typename: 'PlayerLeft', player: { name: 'Bob' } });
    await gql(app.url, 'mutation ($code: String!) { setTyping(code: $code, typing: true) }', { code: game.code }, alice!.token);
    expect(await aliceEvents.next()).toMatchObject({ __typename: 'PlayerTyping', player: { name: 'Alice' } });
  });

  it('should show presence in game(code) only to its players and game masters', async () => {
    const app = await startServer();
    const [alice, outsider] = await Promise.all(['Alice', 'Olaf'].map((n) => signIn(app.url, n)));
    const game = await createGame(app.url, alice!.token);
    const watching = gameEvents(wsClient(app.url, alice!.token), game.code, game.cursor, true);
    expect(await watching.next()).toMatchObject({ __typename: 'PlayerConnected' });
    const query = 'query ($code: String!) { game(code: $code) { players { online lastSeenAt } } }';
    const gm = await app.token('GAME_MASTER');
    for (const token of [alice!.token, gm]) {
      expect((await gql(app.url, query, { code: game.code }, token)).data!.game.players).toEqual([{ online: true, lastSeenAt: expect.any(String) }]);
    }
    expect((await gql(app.url, query, { code: game.code }, outsider!.token)).data!.game.players).toEqual([{ online: false, lastSeenAt: null }]);
  });

  it('should hand the host role to the longest-standing player and finish the game when the last one leaves', async () => {
    const app = await startServer();
    const [alice, bob, carol] = await Promise.all(['Alice', 'Bob', 'Carol'].map((n) => signIn(app.url, n)));
    const gm = await app.token('GAME_MASTER');
    const game = await createGame(app.url, alice!.token);
    await joinGame(app.url, bob!.token, game.code);
    await joinGame(app.url, carol!.token, game.code);

    const aliceLeft = await leaveGame(app.url, alice!.token, game.code);
    expect(aliceLeft.data!.leaveGame).toMatchObject({ host: { name: 'Bob' }, status: 'ACTIVE' });
    expect(aliceLeft.data!.leaveGame.players.map((p: any) => [p.player.name, p.isHost])).toEqual([['Bob', true], ['Carol', false]]);
    expect(errorCode(await resolveTurn(app.url, alice!.token, game.code))).toBe('FORBIDDEN');
    expect(errorCode(await leaveGame(app.url, alice!.token, game.code))).toBe('NOT_IN_GAME');

    await leaveGame(app.url, bob!.token, game.code);
    const finished = (await leaveGame(app.url, carol!.token, game.code)).data!.leaveGame;
    expect(finished).toMatchObject({ status: 'FINISHED', players: [], scenario: null, host: { name: 'Carol' }, turnNumber: 1 });
    const left = (await app.services.events.read(Streams.game(game.code), 0)).filter((e) => e.type === 'PlayerLeft');
    expect(left.map((e) => e.payload)).toEqual([
      { player: expect.objectContaining({ name: 'Alice' }), newHost: expect.objectContaining({ name: 'Bob' }), remainingPlayers: 2 },
      { player: expect.objectContaining({ name: 'Bob' }), newHost: expect.objectContaining({ name: 'Carol' }), remainingPlayers: 1 },
      { player: expect.objectContaining({ name: 'Carol' }), newHost: null, remainingPlayers: 0 },
    ]);

    // A finished game changes nothing any more.
    expect(errorCode(await gql(app.url, `mutation { joinGame(code: "${game.code}") { code } }`, {}, alice!.token))).toBe('CONFLICT');
    expect(errorCode(await submitChoice(app.url, carol!.token, game.code, game.scenario.choices[0].id))).toBe('CONFLICT');
    expect(errorCode(await resolveTurn(app.url, gm, game.code))).toBe('CONFLICT');
    expect(errorCode(await leaveGame(app.url, carol!.token, game.code))).toBe('CONFLICT');
    expect(await readGame(app.url, gm, game.code)).toMatchObject({ status: 'FINISHED', players: [], turnNumber: 1 });
    expect((await gql(app.url, '{ games(status: FINISHED) { code } }', {}, gm)).data).toEqual({ games: [{ code: game.code }] });
  });

  it('should refuse gameEvents to outsiders (NOT_IN_GAME), anonymous callers (UNAUTHENTICATED) and unknown codes (NOT_FOUND), and allow game masters', async () => {
    const app = await startServer();
    const [alice, mallory] = await Promise.all(['Alice', 'Mallory'].map((n) => signIn(app.url, n)));
    const game = await createGame(app.url, alice!.token);
    const code = (errors: any) => errors[0]?.extensions?.code;
    expect(code(await gameEvents(wsClient(app.url, mallory!.token), game.code).failed)).toBe('NOT_IN_GAME');
    expect(code(await gameEvents(wsClient(app.url), game.code).failed)).toBe('UNAUTHENTICATED');
    expect(code(await gameEvents(wsClient(app.url, alice!.token), 'ZZZZZZ').failed)).toBe('NOT_FOUND');
    expect(code(await gameEvents(wsClient(app.url, alice!.token), game.code, 'bm9wZTox').failed)).toBe('BAD_USER_INPUT');
    const watched = gameEvents(wsClient(app.url, await app.token('GAME_MASTER')), game.code, game.cursor);
    await joinGame(app.url, mallory!.token, game.code);
    expect(await watched.next()).toMatchObject({ __typename: 'PlayerJoined', player: { name: 'Mallory' } });
  });

  it('should authenticate a graphql-ws operation by the Authorization header GraphiQL sends in its extensions', async () => {
    const app = await startServer();
    const alice = await signIn(app.url, 'Alice');
    const game = await createGame(app.url, alice.token);
    const client = wsClient(app.url);
    const run = (authorization: string) =>
      new Promise<any>((resolve) => {
        client.subscribe(
          { query: gameEventsQuery, variables: { code: game.code, after: game.cursor }, extensions: { headers: { Authorization: authorization } } },
          { next: (result) => resolve(result), error: (errors) => resolve({ errors }), complete: () => {} },
        );
      });
    const refused = await run('Bearer not-a-token');
    expect(refused.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    const watched = run(`Bearer ${alice.token}`);
    await joinGame(app.url, (await signIn(app.url, 'Bob')).token, game.code);
    expect((await watched).data.gameEvents).toMatchObject({ __typename: expect.stringMatching(/^Player(Connected|Joined)$/) });
  });

  it('should replay a room after a cursor, then continue live without gap or duplicate', async () => {
    const app = await startServer();
    const [alice, bob] = await Promise.all(['Alice', 'Bob'].map((n) => signIn(app.url, n)));
    const game = await createGame(app.url, alice!.token);
    await joinGame(app.url, bob!.token, game.code);
    const [first] = game.scenario.choices;
    const aliceChose = await submitChoice(app.url, alice!.token, game.code, first.id);
    await submitChoice(app.url, bob!.token, game.code, first.id);

    const replay = gameEvents(wsClient(app.url, bob!.token), game.code, aliceChose.data!.submitChoice.cursor);
    const replayed = await replay.take(3);
    expect(replayed.map((e) => e.__typename)).toEqual(['ChoiceSubmitted', 'TurnResolved', 'ScenarioStarted']);
    expect(replayed[0]).toMatchObject({ player: { name: 'Bob' }, turnNumber: 1 });

    const turn2 = drawScenario(game.code, 2).choices[0]!.id;
    await submitChoice(app.url, alice!.token, game.code, turn2);
    expect(await replay.next()).toMatchObject({ __typename: 'ChoiceSubmitted', player: { name: 'Alice' }, turnNumber: 2 });
  });

  it('should deliver only the requested event types', async () => {
    const app = await startServer();
    const [alice, bob] = await Promise.all(['Alice', 'Bob'].map((n) => signIn(app.url, n)));
    const game = await createGame(app.url, alice!.token);
    const outcomes = subscribe(wsClient(app.url, alice!.token), gameEventsQuery, { code: game.code, after: game.cursor, types: ['TurnResolved'] });
    await joinGame(app.url, bob!.token, game.code);
    await submitChoice(app.url, alice!.token, game.code, game.scenario.choices[0].id);
    await submitChoice(app.url, bob!.token, game.code, game.scenario.choices[0].id);
    await resolveTurn(app.url, alice!.token, game.code);
    const seen = (await outcomes.take(2)).map((r: any) => `${r.gameEvents.__typename}:${r.gameEvents.turnNumber}`);
    expect(seen).toEqual(['TurnResolved:1', 'TurnResolved:2']);
  });

  it('should resolve exactly once when every player submits at the same moment', async () => {
    const app = await startServer();
    const players = await Promise.all(['P1', 'P2', 'P3', 'P4', 'P5', 'P6'].map((n) => signIn(app.url, n)));
    const game = await createGame(app.url, players[0]!.token, 'Rush', 6);
    for (const p of players.slice(1)) await joinGame(app.url, p.token, game.code);
    const choices = game.scenario.choices;

    const results = await Promise.all(players.map((p, i) => submitChoice(app.url, p.token, game.code, choices[i % choices.length].id)));
    expect(results.every((r) => r.errors === undefined)).toBe(true);
    expect(results.filter((r) => r.data!.submitChoice.allSubmitted)).toHaveLength(1);
    expect(results.map((r) => r.data!.submitChoice.choicesSubmitted).sort()).toEqual([1, 2, 3, 4, 5, 6]);

    const log = await app.services.events.read(Streams.game(game.code), 0);
    expect(log.filter((e) => e.type === 'TurnResolved')).toHaveLength(1);
    expect(log.filter((e) => e.type === 'ScenarioStarted').map((e) => e.payload.turnNumber)).toEqual([1, 2]);
    expect(log.slice(-2).map((e) => e.type)).toEqual(['TurnResolved', 'ScenarioStarted']);
    expect((await readGame(app.url, players[0]!.token, game.code)).turnNumber).toBe(2);
    expect(await app.services.store.db.selectFrom('turns').select(['code', 'turnNumber']).execute()).toEqual([{ code: game.code, turnNumber: 1 }]);
  });

  it('should read a page of games in a fixed number of statements however many games it holds, each exactly as game(code) shows it', async () => {
    const statements: string[] = [];
    const app = await startServer({ onQuery: (sql) => statements.push(sql) });
    const gm = await app.token('GAME_MASTER');
    const [alice, bob, carol] = await Promise.all(['Alice', 'Bob', 'Carol'].map((n) => signIn(app.url, n)));
    // Games that differ in everything the list batches: players, the turn their choices count in, presence, a host who left.
    const first = await createGame(app.url, alice!.token, 'First');
    await joinGame(app.url, bob!.token, first.code);
    expect((await submitChoice(app.url, alice!.token, first.code, first.scenario.choices[0].id)).errors).toBeUndefined();
    const second = await createGame(app.url, bob!.token, 'Second', 3);
    await joinGame(app.url, alice!.token, second.code);
    expect((await submitChoice(app.url, bob!.token, second.code, second.scenario.choices[0].id)).errors).toBeUndefined();
    expect((await resolveTurn(app.url, bob!.token, second.code)).errors).toBeUndefined();
    const turnTwo = await readGame(app.url, bob!.token, second.code);
    expect((await submitChoice(app.url, alice!.token, second.code, turnTwo.scenario.choices[0].id)).errors).toBeUndefined();
    const third = await createGame(app.url, carol!.token, 'Third');
    expect((await leaveGame(app.url, carol!.token, third.code)).errors).toBeUndefined();
    const watching = gameEvents(wsClient(app.url, alice!.token), first.code, undefined, true);
    expect(await watching.next()).toMatchObject({ __typename: 'PlayerConnected', player: { name: 'Alice' } });

    const list = async () => {
      statements.length = 0;
      const result = await gql(app.url, `{ games { ${gameFields} } }`, {}, gm);
      expect(result.errors).toBeUndefined();
      return { games: result.data!.games as Array<Record<string, any>>, statements: statements.length };
    };
    const few = await list();
    expect(few.games.map((g) => g.name)).toEqual(['Third', 'Second', 'First']);
    for (const game of few.games) expect(game).toEqual(await readGame(app.url, gm, game.code));
    expect(few.games[2]!.players.map((p: any) => [p.player.name, p.hasChosen, p.online])).toEqual([['Alice', true, true], ['Bob', false, false]]);
    expect(few.games[1]).toMatchObject({ turnNumber: 2, players: [{ player: { name: 'Bob' }, hasChosen: false }, { player: { name: 'Alice' }, hasChosen: true }] });
    expect(few.games[0]).toMatchObject({ status: 'FINISHED', host: { name: 'Carol' }, players: [], scenario: null });

    for (let i = 0; i < 12; i++) await createGame(app.url, (i % 2 ? alice : bob)!.token, `More ${i}`);
    const many = await list();
    expect(many.games).toHaveLength(15);
    expect(many.games.slice(12)).toEqual(few.games);
    expect(many.statements).toBe(few.statements);
    expect(many.statements).toBeLessThanOrEqual(8);
  });
});
