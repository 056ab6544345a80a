/**
 * A game room's presence is read once per change for all its watchers on the
 * instance, while each subscription still holds its player online.
 */
import { describe, expect, it } from 'vitest';
import { Streams } from '../../server/events/topics.js';
import { createGame, gameEvents, joinGame } from '../support/games.js';
import { listening, startServer, subscribe, wsClient, type Subscription } from '../support/harness.js';

const presenceQuery = 'subscription ($code: String!) { presence(code: $code) { onlineCount players { player { name } online } } }';
type Snapshot = { presence: { onlineCount: number; players: Array<{ player: { name: string }; online: boolean }> } };

/** Takes snapshots until one has `count` players online. */
async function untilOnline(sub: Subscription<Snapshot>, count: number) {
  for (;;) if ((await sub.next()).presence.onlineCount === count) return;
}

describe('presence sharing', () => {
  it('should read a 12-player room’s presence once per change for all its watchers, holding each watcher online', async () => {
    const app = await startServer({ presenceGraceMs: 100 });
    const players: Array<{ token: string }> = [];
    // Signed by the token CLI's path (guest sign-in is rate limited per address).
    for (let i = 1; i <= 12; i++) players.push({ token: await app.token('PLAYER', `P${i}`) });
    const game = await createGame(app.url, players[0]!.token, 'Room', 12);
    for (const player of players.slice(1)) await joinGame(app.url, player.token, game.code);
    const { live, pubsub } = app.services;

    // Eleven players watch the room's presence (one of them twice, on a second connection), one by one.
    const watchers: Array<Subscription<Snapshot>> = [];
    for (const [i, player] of players.slice(0, 11).entries()) {
      const watcher = subscribe<Snapshot>(wsClient(app.url, player.token), presenceQuery, { code: game.code });
      await untilOnline(watcher, i + 1);
      watchers.push(watcher);
    }
    const second = subscribe<Snapshot>(wsClient(app.url, players[0]!.token), presenceQuery, { code: game.code });
    await untilOnline(second, 11);
    for (const watcher of watchers) await untilOnline(watcher, 11);
    expect(live.presence.stats()).toMatchObject({ games: 1, subscribers: 12 });
    expect(pubsub.listenerCount('presenceChanged', game.code)).toBe(1);

    // The twelfth comes online through their game feed: one read for all twelve watchers.
    const before = live.presence.stats().reads;
    const feed = gameEvents(wsClient(app.url, players[11]!.token), game.code);
    await listening(app, 'streamEvent', Streams.game(game.code));
    for (const watcher of [...watchers, second]) await untilOnline(watcher, 12);
    expect(live.presence.stats().reads - before).toBe(1);

    // The first player's second subscription ends: they stay online (their first one still holds them).
    second.unsubscribe();
    // P2 leaves the room's presence: they go offline after the grace period, the watchers see it; the first player never does.
    watchers[1]!.unsubscribe();
    for (const watcher of [watchers[0]!, ...watchers.slice(2)]) {
      let snapshot: Snapshot['presence'];
      do snapshot = (await watcher.next()).presence;
      while (snapshot.onlineCount !== 11);
      expect(snapshot.players.filter((p) => !p.online).map((p) => p.player.name)).toEqual(['P2']);
    }
    feed.unsubscribe();
  });
});
