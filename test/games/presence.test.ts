import { describe, expect, it } from 'vitest';
import { encodeCursor } from '../../server/events/event-log.js';
import { Streams } from '../../server/events/topics.js';
import { createGame, gameEvents, joinGame, leaveGame, readGame, resolveTurn, signIn } from '../support/games.js';
import { errorCode, gql, listening, readEventStream, startServer, subscribe, wsClient, type Subscription } from '../support/harness.js';

const presenceQuery = /* GraphQL */ `
  subscription Presence($code: String!) {
    presence(code: $code) { code onlineCount totalPlayers players { player { name } online lastSeenAt } }
  }
`;

type PresenceSnapshot = { code: string; onlineCount: number; totalPlayers: number; players: { player: { name: string }; online: boolean; lastSeenAt: string | null }[] };

const watchPresence = (client: ReturnType<typeof wsClient>, code: string) => subscribe<{ presence: PresenceSnapshot }>(client, presenceQuery, { code });

/** Takes snapshots until one satisfies `predicate`. */
async function snapshotWhere(sub: Subscription<{ presence: PresenceSnapshot }>, predicate: (p: PresenceSnapshot) => boolean) {
  for (;;) {
    const { presence } = await sub.next();
    if (predicate(presence)) return presence;
  }
}

const entry = (p: PresenceSnapshot, name: string) => p.players.find((e) => e.player.name === name);

const typingMutation = 'mutation ($code: String!, $typing: Boolean!) { setTyping(code: $code, typing: $typing) }';

describe('presence', () => {
  it('should put a player online with their first subscription and offline only a grace period after their last one ends', async () => {
    const app = await startServer({ presenceGraceMs: 200 });
    const [alice, bob] = await Promise.all(['Alice', 'Bob'].map((n) => signIn(app.url, n)));
    const game = await createGame(app.url, alice!.token);
    await joinGame(app.url, bob!.token, game.code);
    const watch = gameEvents(wsClient(app.url, await app.token('GAME_MASTER')), game.code, game.cursor, true);
    expect(await watch.next()).toMatchObject({ __typename: 'PlayerJoined', player: { name: 'Bob' } });

    const bobWs = wsClient(app.url, bob!.token);
    gameEvents(bobWs, game.code);
    expect(await watch.next()).toMatchObject({ __typename: 'PlayerConnected', player: { name: 'Bob' } });
    const online = await readGame(app.url, alice!.token, game.code);
    expect(online.players.map((p: any) => [p.player.name, p.online])).toEqual([['Alice', false], ['Bob', true]]);
    expect(online.players[1].lastSeenAt).toEqual(expect.any(String));

    const closedAt = Date.now();
    await bobWs.dispose();
    expect(await watch.next()).toMatchObject({ __typename: 'PlayerDisconnected', player: { name: 'Bob' } });
    expect(Date.now() - closedAt).toBeGreaterThanOrEqual(190);
    const offline = await readGame(app.url, alice!.token, game.code);
    expect(offline.players[1]).toMatchObject({ online: false, lastSeenAt: expect.any(String) });
    expect(Date.parse(offline.players[1].lastSeenAt)).toBeGreaterThanOrEqual(Date.parse(online.players[1].lastSeenAt));
  });

  it('should not flap a player who reconnects within the grace period', async () => {
    const app = await startServer({ presenceGraceMs: 1_000 });
    const [alice, bob, carol] = await Promise.all(['Alice', 'Bob', 'Carol'].map((n) => signIn(app.url, n)));
    const game = await createGame(app.url, alice!.token);
    await joinGame(app.url, bob!.token, game.code);
    await joinGame(app.url, carol!.token, game.code);
    const gmWs = wsClient(app.url, await app.token('GAME_MASTER'));
    const watch = gameEvents(gmWs, game.code, undefined, true);
    const snapshots = watchPresence(gmWs, game.code);
    await listening(app, 'streamEvent', Streams.game(game.code));
    await snapshotWhere(snapshots, (p) => p.onlineCount === 0);

    const bobFirst = wsClient(app.url, bob!.token);
    gameEvents(bobFirst, game.code);
    const carolWs = wsClient(app.url, carol!.token);
    watchPresence(carolWs, game.code);
    const connected = await watch.take(2);
    expect(connected.map((e) => `${e.__typename}:${e.player.name}`).sort()).toEqual(['PlayerConnected:Bob', 'PlayerConnected:Carol']);
    const bothOnline = await snapshotWhere(snapshots, (p) => p.onlineCount === 2);

    // Bob drops first, then Carol: were Bob's offline not cancelled by his
    // reconnect, his PlayerDisconnected would come before Carol's.
    await bobFirst.dispose();
    const bobDropped = await snapshotWhere(snapshots, (p) => entry(p, 'Bob')!.lastSeenAt !== entry(bothOnline, 'Bob')!.lastSeenAt);
    expect(entry(bobDropped, 'Bob')!.online).toBe(true);
    await carolWs.dispose();
    await snapshotWhere(snapshots, (p) => entry(p, 'Carol')!.lastSeenAt !== entry(bothOnline, 'Carol')!.lastSeenAt);
    gameEvents(wsClient(app.url, bob!.token), game.code);
    await snapshotWhere(snapshots, (p) => entry(p, 'Bob')!.lastSeenAt !== entry(bobDropped, 'Bob')!.lastSeenAt);

    expect(await watch.next()).toMatchObject({ __typename: 'PlayerDisconnected', player: { name: 'Carol' } });
    const game2 = await readGame(app.url, alice!.token, game.code);
    expect(game2.players.map((p: any) => [p.player.name, p.online])).toEqual([['Alice', false], ['Bob', true], ['Carol', false]]);
    const log = await app.services.events.read(Streams.game(game.code), 0);
    expect(log.filter((e) => e.type === 'PlayerConnected' || e.type === 'PlayerDisconnected').map((e) => `${e.type}:${e.payload.player.name}`)).toEqual([
      ...connected.map((e) => `${e.__typename}:${e.player.name}`),
      'PlayerDisconnected:Carol',
    ]);
  });

  it('should send the presence snapshot at once and again on every change, agreeing with GamePlayer.online', async () => {
    const app = await startServer({ presenceGraceMs: 200 });
    const [alice, bob, carol] = await Promise.all(['Alice', 'Bob', 'Carol'].map((n) => signIn(app.url, n)));
    const game = await createGame(app.url, alice!.token);
    await joinGame(app.url, bob!.token, game.code);
    const snapshots = watchPresence(wsClient(app.url, alice!.token), game.code);

    const first = (await snapshots.next()).presence;
    expect(first).toEqual({
      code: game.code,
      onlineCount: 1,
      totalPlayers: 2,
      players: [
        { player: { name: 'Alice' }, online: true, lastSeenAt: expect.any(String) },
        { player: { name: 'Bob' }, online: false, lastSeenAt: null },
      ],
    });

    gameEvents(wsClient(app.url, bob!.token), game.code.toLowerCase());
    const both = await snapshotWhere(snapshots, (p) => p.onlineCount === 2);
    expect(both.players.map((p) => p.online)).toEqual([true, true]);
    const view = await readGame(app.url, bob!.token, game.code);
    expect(view.players.map((p: any) => ({ player: { name: p.player.name }, online: p.online, lastSeenAt: p.lastSeenAt }))).toEqual(both.players);

    await joinGame(app.url, carol!.token, game.code);
    expect(await snapshotWhere(snapshots, (p) => p.totalPlayers === 3)).toMatchObject({ onlineCount: 2, players: [{}, {}, { online: false }] });
    await leaveGame(app.url, bob!.token, game.code);
    const afterLeave = await snapshotWhere(snapshots, (p) => p.totalPlayers === 2);
    expect(afterLeave).toMatchObject({ onlineCount: 1, players: [{ player: { name: 'Alice' } }, { player: { name: 'Carol' } }] });
  });

  it('should refuse presence to outsiders, anonymous callers and unknown codes, and not count a watching game master as online', async () => {
    const app = await startServer();
    const [alice, mallory] = await Promise.all(['Alice', 'Mallory'].map((n) => signIn(app.url, n)));
    const game = await createGame(app.url, alice!.token);
    const code = (errors: any) => errors[0]?.extensions?.code;
    expect(code(await watchPresence(wsClient(app.url, mallory!.token), game.code).failed)).toBe('NOT_IN_GAME');
    expect(code(await watchPresence(wsClient(app.url), game.code).failed)).toBe('UNAUTHENTICATED');
    expect(code(await watchPresence(wsClient(app.url, alice!.token), 'ZZZZZZ').failed)).toBe('NOT_FOUND');
    const gm = watchPresence(wsClient(app.url, await app.token('GAME_MASTER')), game.code);
    expect((await gm.next()).presence).toMatchObject({ onlineCount: 0, totalPlayers: 1 });
  });

  it('should count a subscription over Server-Sent Events as a connection and end it with the request', async () => {
    const app = await startServer({ presenceGraceMs: 100 });
    const [alice, bob] = await Promise.all(['Alice', 'Bob'].map((n) => signIn(app.url, n)));
    const game = await createGame(app.url, alice!.token);
    await joinGame(app.url, bob!.token, game.code);
    const watch = gameEvents(wsClient(app.url, await app.token('GAME_MASTER')), game.code, game.cursor, true);
    expect(await watch.next()).toMatchObject({ __typename: 'PlayerJoined' });

    const request = new AbortController();
    const response = await fetch(app.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${bob!.token}` },
      body: JSON.stringify({ query: presenceQuery, variables: { code: game.code } }),
      signal: request.signal,
    });
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const { text: received, reader } = await readEventStream(response, (text) => text.includes('event: next'), { keepOpen: true });
    expect(received).toContain('"onlineCount":1');
    expect(await watch.next()).toMatchObject({ __typename: 'PlayerConnected', player: { name: 'Bob' } });

    request.abort();
    await reader.cancel().catch(() => {});
    expect(await watch.next()).toMatchObject({ __typename: 'PlayerDisconnected', player: { name: 'Bob' } });
  });
});

describe('typing', () => {
  it('should publish PlayerTyping, expire it by itself and never store it', async () => {
    const app = await startServer({ typingTimeoutMs: 150 });
    const [alice, bob] = await Promise.all(['Alice', 'Bob'].map((n) => signIn(app.url, n)));
    const game = await createGame(app.url, alice!.token);
    await joinGame(app.url, bob!.token, game.code);
    const bobEvents = gameEvents(wsClient(app.url, bob!.token), game.code);
    await listening(app, 'streamEvent', Streams.game(game.code));

    const startedAt = Date.now();
    expect((await gql(app.url, typingMutation, { code: game.code, typing: true }, alice!.token)).data).toEqual({ setTyping: true });
    const typing = await bobEvents.next();
    expect(typing).toMatchObject({ __typename: 'PlayerTyping', player: { name: 'Alice' }, typing: true });
    // It carries the cursor of the newest stored event, so resuming from it misses nothing stored.
    const head = await app.services.events.head(Streams.game(game.code));
    expect(head).toBeGreaterThan(0);
    expect(typing.cursor).toBe(encodeCursor(Streams.game(game.code), head));
    expect(await bobEvents.next()).toMatchObject({ __typename: 'PlayerTyping', player: { name: 'Alice' }, typing: false });
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(140);

    await gql(app.url, typingMutation, { code: game.code.toLowerCase(), typing: true }, bob!.token);
    await gql(app.url, typingMutation, { code: game.code, typing: false }, bob!.token);
    expect((await bobEvents.take(2)).map((e) => e.typing)).toEqual([true, false]);

    // Typing is never stored: a replay goes straight from the join to the next stored event.
    await resolveTurn(app.url, alice!.token, game.code);
    const replay = gameEvents(wsClient(app.url, alice!.token), game.code, game.cursor);
    expect((await replay.take(3)).map((e) => e.__typename)).toEqual(['PlayerJoined', 'TurnResolved', 'ScenarioStarted']);
    const log = await app.services.events.read(Streams.game(game.code), 0);
    expect(log.some((e) => e.type === 'PlayerTyping')).toBe(false);
  });

  it('should rate-limit setTyping per player with a retry hint', async () => {
    const app = await startServer();
    const [alice, bob] = await Promise.all(['Alice', 'Bob'].map((n) => signIn(app.url, n)));
    const game = await createGame(app.url, alice!.token);
    await joinGame(app.url, bob!.token, game.code);
    const bobEvents = gameEvents(wsClient(app.url, bob!.token), game.code);
    await listening(app, 'streamEvent', Streams.game(game.code));

    for (let i = 0; i < 5; i++) expect((await gql(app.url, typingMutation, { code: game.code, typing: false }, alice!.token)).errors).toBeUndefined();
    const limited = await gql(app.url, typingMutation, { code: game.code, typing: false }, alice!.token);
    expect(errorCode(limited)).toBe('RATE_LIMITED');
    expect(limited.errors![0]!.extensions!.retryAfterMs).toBeGreaterThan(0);
    expect(limited.errors![0]!.extensions!.retryAfterMs).toBeLessThanOrEqual(5_000);
    // Another player has their own allowance.
    expect((await gql(app.url, typingMutation, { code: game.code, typing: false }, bob!.token)).errors).toBeUndefined();

    await resolveTurn(app.url, alice!.token, game.code);
    const seen = await bobEvents.take(7);
    expect(seen.map((e) => (e.__typename === 'PlayerTyping' ? e.player.name : e.__typename))).toEqual([
      'Alice', 'Alice', 'Alice', 'Alice', 'Alice', 'Bob', 'TurnResolved',
    ]);
  });

  it('should refuse setTyping to outsiders, anonymous callers and unknown codes', async () => {
    const app = await startServer();
    const [alice, mallory] = await Promise.all(['Alice', 'Mallory'].map((n) => signIn(app.url, n)));
    const game = await createGame(app.url, alice!.token);
    expect(errorCode(await gql(app.url, typingMutation, { code: game.code, typing: true }, mallory!.token))).toBe('NOT_IN_GAME');
    expect(errorCode(await gql(app.url, typingMutation, { code: game.code, typing: true }))).toBe('UNAUTHENTICATED');
    expect(errorCode(await gql(app.url, typingMutation, { code: 'ZZZZZZ', typing: true }, alice!.token))).toBe('NOT_FOUND');
  });
});
