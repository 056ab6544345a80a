import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { encodeCursor } from '../../server/events/event-log.js';
import { createGame, joinGame, leaveGame } from '../support/games.js';
import { gql, listening, startServer, subscribe, wsClient, type TestServer } from '../support/harness.js';

const announce = 'mutation ($m: String!) { announceWorldEvent(message: $m) { cursor message } }';
const setPrice = 'mutation ($s: String!, $p: Float!) { setStockPrice(symbol: $s, price: $p) { price } }';

/** A raw graphql-transport-ws connection that records every message it receives, to check frames exactly. */
async function rawSocket(app: TestServer) {
  const socket = new WebSocket(app.url.replace(/^http/, 'ws'), 'graphql-transport-ws');
  const messages: Array<{ id?: string; type: string; payload?: any }> = [];
  const waiters: Array<() => void> = [];
  socket.on('message', (data) => {
    messages.push(JSON.parse(String(data)));
    for (const waiter of waiters.splice(0)) waiter();
  });
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  const until = (condition: () => boolean, what: string) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), 5_000);
      const check = () => {
        if (!condition()) return void waiters.push(check);
        clearTimeout(timer);
        resolve();
      };
      check();
    });
  socket.send(JSON.stringify({ type: 'connection_init' }));
  await until(() => messages.some((m) => m.type === 'connection_ack'), 'connection_ack');
  return {
    messages,
    until,
    send: (message: object) => socket.send(JSON.stringify(message)),
    close: () => socket.close(),
  };
}

describe('fan-out', () => {
  it('should execute each event once per subscription shape, over WebSocket and SSE alike', async () => {
    const app = await startServer();
    const gm = await app.token('GAME_MASTER');
    const all = 'subscription { stockTicked { symbol price } }';
    const gold = 'subscription { stockTicked(symbols: ["GOLD"]) { symbol price } }';
    const clients = [wsClient(app.url), wsClient(app.url), wsClient(app.url)];
    const everything = Array.from({ length: 12 }, (_, i) => subscribe(clients[i % 3]!, all));
    const goldOnly = Array.from({ length: 9 }, (_, i) => subscribe(clients[i % 3]!, gold));
    const sse = await fetch(app.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: all }),
    });
    await listening(app, 'streamEvent', 'market', 22);
    expect(app.fanout.stats().groups).toBe(2);

    const before = app.fanout.stats().executions;
    await gql(app.url, setPrice, { s: 'GOLD', p: 1234.5 }, gm);
    await gql(app.url, setPrice, { s: 'IRON', p: 44 }, gm);
    for (const feed of everything) expect(await feed.take(2)).toEqual([{ stockTicked: { symbol: 'GOLD', price: 1234.5 } }, { stockTicked: { symbol: 'IRON', price: 44 } }]);
    for (const feed of goldOnly) expect(await feed.next()).toEqual({ stockTicked: { symbol: 'GOLD', price: 1234.5 } });
    const reader = sse.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    while (!text.includes('"IRON"')) text += (await reader.read()).value ?? '';
    expect(text).toContain('event: next\ndata: {"data":{"stockTicked":{"symbol":"GOLD","price":1234.5}}}\n\n');
    await reader.cancel();
    // GOLD ran for both groups, IRON only for the unfiltered one: three executions for 22 subscribers.
    expect(app.fanout.stats().executions - before).toBe(3);
  });

  it('should group subscriptions by their declared variables as coerced, ignoring undeclared ones and key order', async () => {
    const app = await startServer();
    const gm = await app.token('GAME_MASTER');
    const query = 'subscription Ticks($withPrice: Boolean!, $symbols: [String!]) { stockTicked(symbols: $symbols) { symbol price @include(if: $withPrice) } }';
    const client = wsClient(app.url);
    const same = [
      subscribe(client, query, { withPrice: true, symbols: ['GOLD'] }),
      // Reordered, with junk no operation declares: still the same operation.
      subscribe(client, query, { junk: { lots: 'of bytes' }, symbols: ['GOLD'], withPrice: true }),
      // A single value where a list is expected coerces to the same list.
      subscribe(client, query, { symbols: 'GOLD', withPrice: true, other: 1 }),
    ];
    const withoutPrice = subscribe(client, query, { symbols: ['GOLD'], withPrice: false });
    await listening(app, 'streamEvent', 'market', 4);
    expect(app.fanout.stats().groups).toBe(2);

    const before = app.fanout.stats().executions;
    await gql(app.url, setPrice, { s: 'GOLD', p: 1001 }, gm);
    for (const feed of same) expect(await feed.next()).toEqual({ stockTicked: { symbol: 'GOLD', price: 1001 } });
    expect(await withoutPrice.next()).toEqual({ stockTicked: { symbol: 'GOLD' } });
    expect(app.fanout.stats().executions - before).toBe(2);
  });

  it('should write a subscription’s frames only between subscribe and complete, whoever completes it', async () => {
    const app = await startServer();
    const gm = await app.token('GAME_MASTER');
    const socket = await rawSocket(app);
    const query = 'subscription { worldEvents { message } }';
    socket.send({ id: 'a', type: 'subscribe', payload: { query } });
    socket.send({ id: 'b', type: 'subscribe', payload: { query } });
    await listening(app, 'streamEvent', 'world', 2);
    await gql(app.url, announce, { m: 'one' }, gm);
    await socket.until(() => socket.messages.filter((m) => m.type === 'next').length === 2, 'both get "one"');

    // The client completes "a": nothing more for it, "b" goes on.
    socket.send({ id: 'a', type: 'complete' });
    await new Promise<void>((resolve) => {
      if (app.services.events.subscriberCount('world') === 1) return resolve();
      const off = app.services.events.onSubscribersChanged((_stream, count) => count === 1 && (off(), resolve()));
    });
    await gql(app.url, announce, { m: 'two' }, gm);
    await socket.until(() => socket.messages.some((m) => m.id === 'b' && m.payload?.data?.worldEvents.message === 'two'), '"two" for b');
    expect(socket.messages.filter((m) => m.id === 'a')).toEqual([{ id: 'a', type: 'next', payload: { data: { worldEvents: { message: 'one' } } } }]);
    socket.close();
  });

  it('should end a leaver’s shared room feed with complete after the PlayerLeft event, and keep the others', async () => {
    const app = await startServer();
    const [alice, bob] = [await app.token('PLAYER'), await app.token('PLAYER')];
    const game = await createGame(app.url, alice);
    await joinGame(app.url, bob, game.code);
    const query = 'subscription ($code: String!) { gameEvents(code: $code, types: [PlayerLeft]) { __typename } }';
    const bobs = subscribe(wsClient(app.url, bob), query, { code: game.code });
    const alices = subscribe(wsClient(app.url, alice), query, { code: game.code });
    await listening(app, 'streamEvent', `game:${game.code}`, 2);
    expect(app.fanout.stats().groups).toBe(1);
    await leaveGame(app.url, bob, game.code);
    expect(await bobs.next()).toEqual({ gameEvents: { __typename: 'PlayerLeft' } });
    await bobs.completed;
    expect(await alices.next()).toEqual({ gameEvents: { __typename: 'PlayerLeft' } });
  });

  it('should let a resuming subscriber join the shared group with no gap and no duplicate while events keep coming', async () => {
    const app = await startServer();
    const gm = await app.token('GAME_MASTER');
    const query = 'subscription ($after: String) { worldEvents(after: $after) { cursor message } }';
    const live = subscribe(wsClient(app.url), query);
    await listening(app, 'streamEvent', 'world');
    const published = Array.from({ length: 60 }, (_, i) => gql(app.url, announce, { m: `n${i}` }, gm));
    const first = await live.take(10);
    // Resume from the 5th event while the rest are still being published.
    const resumed = subscribe(wsClient(app.url), query, { after: first[4]!.worldEvents.cursor });
    await Promise.all(published);
    const seqs = (await resumed.take(55)).map((e) => Number(Buffer.from(e.worldEvents.cursor, 'base64url').toString().split(':').pop()));
    const start = Number(Buffer.from(first[4]!.worldEvents.cursor, 'base64url').toString().split(':').pop());
    expect(seqs).toEqual(Array.from({ length: 55 }, (_, i) => start + 1 + i));
    expect(app.fanout.stats().groups).toBe(1);
    await expect(resumed.next(300)).rejects.toThrow(/no subscription event/);
    expect(encodeCursor('world', start + 55)).toBe((await live.take(50)).at(-1)!.worldEvents.cursor);
  });
  it('should read a game’s presence once per change for all its watchers on the instance', async () => {
    const app = await startServer();
    const [alice, bob, carol] = [await app.token('PLAYER'), await app.token('PLAYER'), await app.token('PLAYER')];
    const game = await createGame(app.url, alice);
    await joinGame(app.url, bob, game.code);
    await joinGame(app.url, carol, game.code);
    const query = 'subscription ($code: String!) { presence(code: $code) { onlineCount } }';
    const watchers = [alice, bob].map((token) => subscribe(wsClient(app.url, token), query, { code: game.code }));
    for (const watcher of watchers) expect((await watcher.next()).presence.onlineCount).toBeGreaterThanOrEqual(1);
    expect(app.services.pubsub.listenerCount('presenceChanged', game.code)).toBe(1);
    // Carol comes online: every watcher sees it, from the one shared read.
    const carols = subscribe(wsClient(app.url, carol), query, { code: game.code });
    expect((await carols.next()).presence.onlineCount).toBe(3);
    for (const watcher of watchers) {
      let count = 0;
      while (count < 3) count = (await watcher.next()).presence.onlineCount;
    }
    expect(app.services.pubsub.listenerCount('presenceChanged', game.code)).toBe(1);
  });
});
