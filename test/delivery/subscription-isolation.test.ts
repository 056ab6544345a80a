/**
 * "Receives nothing that is not theirs": many viewers subscribed to the same
 * field with the same document at once, each seeing only their own stream.
 * Every test ends with a sentinel published after everything else, and reads
 * each subscription up to its own sentinel: anything foreign published before
 * it would have been delivered (and checked) first.
 */
import { describe, expect, it } from 'vitest';
import { decodeCursor } from '../../server/events/event-log.js';
import { Streams } from '../../server/events/topics.js';
import { createGame, gameEventsQuery, joinGame, submitChoice } from '../support/games.js';
import { gql, listening, startServer, subscribe, wsClient, type Subscription, type TestServer } from '../support/harness.js';

/** Reads `sub` up to and including the first result `isLast` accepts, checking each with `check`. */
async function readUntil<T>(sub: Subscription<T>, isLast: (value: T) => boolean, check: (value: T) => void): Promise<T[]> {
  const seen: T[] = [];
  for (;;) {
    const value = await sub.next();
    check(value);
    seen.push(value);
    if (isLast(value)) return seen;
  }
}

/** Three two-player rooms whose players' names start with the room's name. */
const threeRooms = (app: TestServer) =>
  Promise.all(
    ['North', 'South', 'East'].map(async (room) => {
      const host = await app.token('PLAYER', `${room} host`);
      const guest = await app.token('PLAYER', `${room} guest`);
      const game = await createGame(app.url, host, room, 2);
      await joinGame(app.url, guest, game.code);
      return { room, host, guest, game };
    }),
  );

const portfolioQuery = 'subscription { portfolioChanged { cash positions { symbol quantity marketValue } } }';
interface PortfolioEvent {
  portfolioChanged: { cash: number; positions: Array<{ symbol: string; quantity: number; marketValue: number }> };
}

describe('many viewers on one stream', () => {
  it('should send each portfolioChanged subscriber only their own portfolio, after trades and price moves', async () => {
    const app = await startServer();
    const gm = await app.token('GAME_MASTER');
    const traders = await Promise.all(
      [1, 2, 3, 4].map(async (quantity) => {
        const player = await app.services.players.create(`trader ${quantity}`, 'PLAYER');
        const token = await app.tokens.sign({ ...player, role: 'PLAYER', scopes: [] });
        const sub = subscribe<PortfolioEvent>(wsClient(app.url, token), portfolioQuery);
        await listening(app, 'portfolioChanged', player.id);
        return { quantity, token, sub };
      }),
    );
    const order = (token: string, symbol: string, quantity: number) =>
      gql(app.url, 'mutation ($s: String!, $q: Int!) { placeOrder(symbol: $s, side: BUY, quantity: $q) { id } }', { s: symbol, q: quantity }, token);
    // Each holds a different number of IRON shares, so a foreign portfolio is recognisable.
    await Promise.all(traders.map(({ token, quantity }) => order(token, 'IRON', quantity)));
    await gql(app.url, 'mutation { setStockPrice(symbol: "IRON", price: 50) { price } }', {}, gm);
    // The sentinel: one GRAIN share each, after every other trade and the price move.
    for (const { token } of traders) expect((await order(token, 'GRAIN', 1)).errors).toBeUndefined();

    for (const { quantity, sub } of traders) {
      const own = (event: PortfolioEvent) => {
        const iron = event.portfolioChanged.positions.find((p) => p.symbol === 'IRON');
        expect(iron?.quantity, `trader ${quantity} received someone else's portfolio`).toBe(quantity);
      };
      const seen = await readUntil(sub, (e) => e.portfolioChanged.positions.some((p) => p.symbol === 'GRAIN'), own);
      // Their trade, the price move (coalesced into one update at most), their sentinel: nothing more.
      expect(seen.length).toBeGreaterThanOrEqual(2);
      expect(seen.length).toBeLessThanOrEqual(3);
      expect(seen.at(-1)!.portfolioChanged.positions.find((p) => p.symbol === 'IRON')!.marketValue).toBe(50 * quantity);
    }
  });

  it('should send each worldEvents subscriber only the kinds it asked for, however the filters are ordered or shared', async () => {
    const app = await startServer();
    const gm = await app.token('GAME_MASTER');
    const shared = wsClient(app.url);
    const query = 'subscription ($kinds: [String!]) { worldEvents(kinds: $kinds) { kind message } }';
    type Feed = { worldEvents: { kind: string; message: string } };
    const watchers = [
      { kinds: ['alpha'], client: wsClient(app.url) },
      { kinds: ['beta'], client: shared },
      { kinds: ['alpha'], client: shared },
      { kinds: ['beta', 'alpha'], client: wsClient(app.url) },
      { kinds: ['alpha', 'beta'], client: shared },
      { kinds: undefined, client: wsClient(app.url) },
    ].map(({ kinds, client }) => ({ kinds, sub: subscribe<Feed>(client, query, { kinds }) }));
    await listening(app, 'streamEvent', Streams.world, watchers.length);
    for (const [kind, message] of [['gamma', 'g1'], ['beta', 'b1'], ['alpha', 'a1'], ['beta', 'b2'], ['alpha', 'end'], ['beta', 'end']]) {
      expect((await gql(app.url, 'mutation ($k: String, $m: String!) { announceWorldEvent(kind: $k, message: $m) { id } }', { k: kind, m: message }, gm)).errors).toBeUndefined();
    }
    for (const { kinds, sub } of watchers) {
      const wanted = (kind: string) => !kinds || kinds.includes(kind);
      const ends = ['alpha', 'beta'].filter(wanted).length;
      const seen: string[] = [];
      while (seen.filter((m) => m.endsWith(':end')).length < ends) {
        const { kind, message } = (await sub.next()).worldEvents;
        seen.push(`${kind}:${message}`);
      }
      const all = ['gamma:g1', 'beta:b1', 'alpha:a1', 'beta:b2', 'alpha:end', 'beta:end'];
      expect(seen, `kinds ${JSON.stringify(kinds)}`).toEqual(all.filter((e) => wanted(e.split(':')[0]!)));
    }
  });

  it('should send each gameEvents subscriber only the events of their own game, on separate and shared connections', async () => {
    const app = await startServer();
    const gmClient = wsClient(app.url, await app.token('GAME_MASTER'));
    const games = await threeRooms(app);
    const subscribers = games.flatMap(({ room, host, guest, game }) =>
      [host, guest, null].map((token) => ({
        room,
        code: game.code as string,
        // The game master watches every room over one connection, with the same document.
        sub: subscribe<{ gameEvents: Record<string, any> }>(token ? wsClient(app.url, token) : gmClient, gameEventsQuery, { code: game.code }),
      })),
    );
    for (const { game } of games) await listening(app, 'streamEvent', Streams.game(game.code), 3);

    // Every room plays a whole turn, one room after the other.
    for (const { host, guest, game } of games) {
      const choice = game.scenario.choices[0].id;
      expect((await submitChoice(app.url, host, game.code, choice)).errors).toBeUndefined();
      expect((await submitChoice(app.url, guest, game.code, choice)).errors).toBeUndefined();
    }
    // The sentinel: each host types, after every room's turn.
    for (const { host, game } of games) {
      expect((await gql(app.url, 'mutation ($c: String!) { setTyping(code: $c, typing: true) }', { c: game.code }, host)).errors).toBeUndefined();
    }

    for (const { room, code, sub } of subscribers) {
      const seen = await readUntil(
        sub,
        ({ gameEvents: e }) => e.__typename === 'PlayerTyping',
        ({ gameEvents: e }) => {
          expect(() => decodeCursor(Streams.game(code), e.cursor), `${room} received ${e.__typename} of another game`).not.toThrow();
          if (e.player) expect(e.player.name.startsWith(room), `${room} received ${e.__typename} of ${e.player.name}`).toBe(true);
        },
      );
      expect(seen.map(({ gameEvents: e }) => e.__typename)).toEqual(expect.arrayContaining(['ChoiceSubmitted', 'TurnResolved', 'ScenarioStarted']));
    }
  });

  it('should send each presence subscriber only the snapshots of their own game', async () => {
    const app = await startServer({ presenceGraceMs: 50 });
    const gmClient = wsClient(app.url, await app.token('GAME_MASTER'));
    const presenceQuery = 'subscription ($code: String!) { presence(code: $code) { code onlineCount players { player { name } online } } }';
    type Snapshot = { presence: { code: string; onlineCount: number; players: Array<{ player: { name: string }; online: boolean }> } };
    const games = (await threeRooms(app)).map(({ room, host, guest, game }) => ({
      room,
      guest,
      code: game.code as string,
      watchers: [subscribe<Snapshot>(wsClient(app.url, host), presenceQuery, { code: game.code }), subscribe<Snapshot>(gmClient, presenceQuery, { code: game.code })],
    }));
    const own = (room: string, code: string) => ({ presence }: Snapshot) => {
      expect(presence.code, `${room} received the presence of another game`).toBe(code);
      for (const entry of presence.players) expect(entry.player.name.startsWith(room)).toBe(true);
    };
    // Everyone sees their host online first.
    for (const { room, code, watchers } of games) {
      for (const watcher of watchers) await readUntil(watcher, ({ presence }) => presence.onlineCount === 1, own(room, code));
    }
    // One room after the other, the guest comes online; then every guest leaves again (the sentinel).
    const guestWatches = [];
    for (const { room, guest, code, watchers } of games) {
      guestWatches.push(subscribe(wsClient(app.url, guest), presenceQuery, { code }));
      for (const watcher of watchers) await readUntil(watcher, ({ presence }) => presence.onlineCount === 2, own(room, code));
    }
    for (const watch of guestWatches) watch.unsubscribe();
    for (const { room, code, watchers } of games) {
      for (const watcher of watchers) await readUntil(watcher, ({ presence }) => presence.onlineCount === 1, own(room, code));
    }
  });
});
