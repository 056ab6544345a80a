/**
 * The `graphql-transport-ws` protocol (graphql-ws' PROTOCOL.md) as our own
 * transport (`server/transport/ws.ts`) speaks it, from a raw `ws` socket so
 * every frame is seen. Close codes already covered by `auth.test.ts` (4401,
 * 4403, 4408, 4409, 4429, 4400 on a subscribe without payload) are not
 * repeated here.
 */
import { request } from 'node:http';
import { describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { encodeCursor } from '../../server/events/event-log.js';
import { Streams } from '../../server/events/topics.js';
import { createGame, joinGame, leaveGame, signIn } from '../support/games.js';
import { gql, listening, onTeardown, startServer } from '../support/harness.js';

const wsUrl = (url: string) => url.replace(/^http/, 'ws');

/** A protocol message as it arrived (parsed JSON). */
type Message = { type: string; id?: string; payload?: any };

interface RawOptions {
  /** Subprotocols to ask for. @default ['graphql-transport-ws'] */
  protocols?: string[];
  /** Send `connection_init` and wait for the ack. @default true */
  init?: boolean;
  /** `connectionParams.authToken`. */
  token?: string;
  /** Answer the server's WebSocket pings (ws' `autoPong`). @default true */
  autoPong?: boolean;
}

/**
 * A raw socket that records every message: `next(match)` waits for the next
 * message matching (messages before it that do not match stay recorded in
 * `received`), `closed` resolves with the close code and reason.
 */
async function rawSocket(url: string, { protocols = ['graphql-transport-ws'], init = true, token, autoPong = true }: RawOptions = {}) {
  const socket = new WebSocket(wsUrl(url), protocols, { autoPong });
  onTeardown(() => socket.terminate());
  const received: Message[] = [];
  /** Indices of the messages `next` has returned. */
  const taken = new Set<number>();
  let pings = 0;
  // Counted from the start: the first keep-alive sweep may come before the ack.
  socket.on('ping', () => pings++);
  const waiters = new Set<() => void>();
  const wakeAll = () => {
    for (const wake of [...waiters]) wake();
  };
  socket.on('message', (data) => {
    received.push(JSON.parse(String(data)) as Message);
    wakeAll();
  });
  let isClosed = false;
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.on('close', (code, reason) => {
      isClosed = true;
      resolve({ code, reason: String(reason) });
      wakeAll();
    }),
  );

  /** The first message not yet returned that matches; fails on close or after `timeoutMs`. */
  const next = (match: (message: Message) => boolean = () => true, timeoutMs = 5_000) =>
    new Promise<Message>((resolve, reject) => {
      const check = () => {
        const index = received.findIndex((message, i) => !taken.has(i) && match(message));
        if (index >= 0) {
          taken.add(index);
          finish();
          return resolve(received[index]!);
        }
        if (isClosed) {
          finish();
          reject(new Error(`socket closed while waiting; received ${JSON.stringify(received)}`));
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`no matching message within ${timeoutMs} ms; received ${JSON.stringify(received)}`));
      }, timeoutMs);
      const finish = () => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });
  const send = (message: unknown) => socket.send(typeof message === 'string' ? message : JSON.stringify(message));

  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  if (init) {
    send({ type: 'connection_init', payload: token ? { authToken: token } : {} });
    await next((m) => m.type === 'connection_ack');
  }
  return {
    socket,
    received,
    closed,
    /** WebSocket pings received since the socket opened. */
    pings: () => pings,
    next,
    send,
    /** Every message received for operation `id`, in order. */
    of: (id: string) => received.filter((m) => m.id === id),
    /** Sends a `ping` and waits for its `pong`: the server has handled every message sent before it. */
    async roundTrip() {
      const marker = Math.random().toString(36).slice(2);
      send({ type: 'ping', payload: { marker } });
      await next((m) => m.type === 'pong' && m.payload?.marker === marker);
    },
    subscribe: (id: string, query: string, variables?: Record<string, unknown>) => send({ id, type: 'subscribe', payload: { query, variables } }),
  };
}

/** A WebSocket upgrade by hand: the HTTP answer and the first frame the server sends after it. */
function rawUpgrade(url: string, protocol: string) {
  return new Promise<{ status: number; protocol: string | undefined; opcode: number; closeCode: number; reason: string }>((resolve, reject) => {
    const req = request(url, {
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': Buffer.from('realmcast-proto!').toString('base64'),
        'sec-websocket-protocol': protocol,
      },
    });
    req.on('error', reject);
    req.on('response', (res) => reject(new Error(`upgrade refused with ${res.statusCode}`)));
    req.on('upgrade', (res, socket, head) => {
      onTeardown(() => socket.destroy());
      let bytes = head;
      const onData = (chunk: Buffer) => {
        bytes = Buffer.concat([bytes, chunk]);
        // A server frame is unmasked; a close frame (opcode 8) with a short payload: code, then reason.
        if (bytes.length < 2 || bytes.length < 2 + (bytes[1]! & 0x7f)) return;
        socket.off('data', onData);
        const length = bytes[1]! & 0x7f;
        resolve({
          status: res.statusCode!,
          protocol: res.headers['sec-websocket-protocol'],
          opcode: bytes[0]! & 0x0f,
          closeCode: bytes.readUInt16BE(2),
          reason: bytes.subarray(4, 2 + length).toString(),
        });
      };
      socket.on('data', onData);
      onData(Buffer.alloc(0));
    });
    req.end();
  });
}

const announce = (url: string, token: string, message: string) =>
  gql(url, 'mutation ($m: String!) { announceWorldEvent(message: $m) { id } }', { m: message }, token);

describe('graphql-transport-ws: the connection', () => {
  it('should close with 4406 when the graphql-transport-ws subprotocol is missing', async () => {
    const app = await startServer();
    const { closed } = await rawSocket(app.url, { protocols: [], init: false });
    expect(await closed).toEqual({ code: 4406, reason: 'Subprotocol not acceptable' });
  });

  it('should pick no subprotocol and close with 4406 when the client asks only for another one', async () => {
    const app = await startServer();
    // The legacy subscriptions-transport-ws protocol. `ws` (like browsers) aborts a
    // handshake whose answer picks none of its protocols, so the upgrade is done by hand.
    expect(await rawUpgrade(app.url, 'graphql-ws')).toEqual({ status: 101, protocol: undefined, opcode: 0x8, closeCode: 4406, reason: 'Subprotocol not acceptable' });
  });

  it.each([
    ['invalid JSON', '{"type": "connection_init"'],
    ['a message without a type', { id: '1' }],
    ['an unknown type', { type: 'start', id: '1', payload: { query: '{ __typename }' } }],
    ['a client-sent next', { type: 'next', id: '1', payload: { data: {} } }],
    ['a client-sent error', { type: 'error', id: '1', payload: [{ message: 'no' }] }],
    ['a client-sent connection_ack', { type: 'connection_ack' }],
  ])('should close with 4400 on %s', async (_, message) => {
    const app = await startServer();
    const client = await rawSocket(app.url);
    client.send(message);
    expect((await client.closed).code).toBe(4400);
  });

  it('should answer ping with pong, echoing its payload, before and after connection_init', async () => {
    const app = await startServer();
    const client = await rawSocket(app.url, { init: false });
    client.send({ type: 'ping', payload: { seq: 1, note: 'before init' } });
    expect(await client.next()).toEqual({ type: 'pong', payload: { seq: 1, note: 'before init' } });
    client.send({ type: 'ping' });
    // No payload in, none out (the key is absent, not null).
    expect(await client.next()).toEqual({ type: 'pong' });
    client.send({ type: 'connection_init' });
    expect(await client.next()).toEqual({ type: 'connection_ack' });
    client.send({ type: 'ping', payload: { seq: 2 } });
    expect(await client.next()).toEqual({ type: 'pong', payload: { seq: 2 } });
  });

  it('should ignore an unsolicited pong and a complete for an unknown id', async () => {
    const app = await startServer();
    const client = await rawSocket(app.url);
    client.send({ type: 'pong', payload: { heartbeat: true } });
    client.send({ type: 'complete', id: 'never-started' });
    client.subscribe('q', '{ __typename }');
    expect(await client.next()).toEqual({ id: 'q', type: 'next', payload: { data: { __typename: 'Query' } } });
    expect(await client.next()).toEqual({ id: 'q', type: 'complete' });
    expect(client.received.map((m) => m.type)).toEqual(['connection_ack', 'next', 'complete']);
  });
});

describe('graphql-transport-ws: operations', () => {
  it('should answer a query and a mutation over the socket with one next, then complete', async () => {
    const app = await startServer();
    const client = await rawSocket(app.url);
    client.subscribe('query', '{ stock(symbol: "IRON") { symbol } }');
    await client.next((m) => m.id === 'query' && m.type === 'complete');
    expect(client.of('query')).toEqual([
      { id: 'query', type: 'next', payload: { data: { stock: { symbol: 'IRON' } } } },
      { id: 'query', type: 'complete' },
    ]);
    client.subscribe('mutation', 'mutation { signIn(name: "Sockette") { player { name role } } }');
    await client.next((m) => m.id === 'mutation' && m.type === 'complete');
    expect(client.of('mutation')).toEqual([
      { id: 'mutation', type: 'next', payload: { data: { signIn: { player: { name: 'Sockette', role: 'PLAYER' } } } } },
      { id: 'mutation', type: 'complete' },
    ]);
  });

  it('should answer an invalid operation with one error message (no complete) and keep the socket usable', async () => {
    const app = await startServer();
    const client = await rawSocket(app.url);
    client.subscribe('bad', 'subscription { noSuchField }');
    const error = await client.next((m) => m.id === 'bad');
    expect(error).toMatchObject({ id: 'bad', type: 'error', payload: [{ message: expect.stringContaining('noSuchField') }] });
    // The id is free again once the operation failed, and the socket still serves operations.
    client.subscribe('bad', '{ __typename }');
    await client.next((m) => m.id === 'bad' && m.type === 'complete');
    expect(client.of('bad').map((m) => m.type)).toEqual(['error', 'next', 'complete']);
    expect(client.socket.readyState).toBe(WebSocket.OPEN);
  });

  it('should stop a stream the client completes, send nothing more for its id (no complete back), and let the id be reused', async () => {
    const app = await startServer();
    const gm = await app.token('GAME_MASTER');
    const client = await rawSocket(app.url);
    const feed = 'subscription { worldEvents { message } }';
    client.subscribe('a', feed);
    client.subscribe('witness', feed);
    await listening(app, 'streamEvent', Streams.world, 2);
    await announce(app.url, gm, 'one');
    await client.next((m) => m.id === 'a');
    await client.next((m) => m.id === 'witness');

    client.send({ id: 'a', type: 'complete' });
    await client.roundTrip();
    // The server side of `a` is gone, not merely muted.
    expect(app.services.events.subscriberCount(Streams.world)).toBe(1);
    await announce(app.url, gm, 'two');
    await client.next((m) => m.id === 'witness' && m.payload?.data?.worldEvents.message === 'two');

    // Reusing the id is no 4409, and the new `a` sees only what comes after it.
    client.subscribe('a', feed);
    await listening(app, 'streamEvent', Streams.world, 2);
    await announce(app.url, gm, 'three');
    await client.next((m) => m.id === 'a' && m.payload?.data?.worldEvents.message === 'three');
    expect(client.of('a')).toEqual([
      { id: 'a', type: 'next', payload: { data: { worldEvents: { message: 'one' } } } },
      { id: 'a', type: 'next', payload: { data: { worldEvents: { message: 'three' } } } },
    ]);
  });

  it('should leave no group, stream subscriber or gauge behind when a resume is refused or the socket of a resumed feed goes', async () => {
    const app = await startServer();
    const gm = await app.token('GAME_MASTER');
    const first = await gql(app.url, 'mutation { announceWorldEvent(message: "first") { cursor } }', {}, gm);
    for (let i = 0; i < 10; i++) await announce(app.url, gm, `e${i}`);
    const metrics = async () => (await fetch(app.url.replace('/graphql', '/metrics'))).text();
    const gauge = async () => Number(/^realmcast_subscriptions\{field="worldEvents"\} (\d+)/m.exec(await metrics())?.[1]);
    const client = await rawSocket(app.url);
    const feed = 'subscription ($after: String) { worldEvents(after: $after) { message } }';
    // Refused when joining (a cursor beyond the head): the catalogue error as it is, nothing kept.
    client.subscribe('beyond', feed, { after: encodeCursor(Streams.world, 1_000) });
    expect(await client.next((m) => m.id === 'beyond')).toMatchObject({ type: 'error', payload: [{ extensions: { code: 'BAD_USER_INPUT', field: 'after' } }] });
    client.subscribe('resumed', feed, { after: first.data!.announceWorldEvent.cursor });
    await client.next((m) => m.id === 'resumed');
    expect(app.fanout.stats().groups).toBe(1);
    expect(await gauge()).toBe(1);
    client.socket.terminate();
    await client.closed;
    await vi.waitFor(async () => {
      expect(app.fanout.stats().groups).toBe(0);
      expect(app.services.events.subscriberCount(Streams.world)).toBe(0);
      expect(await gauge()).toBe(0);
    });
  });

  it('should end a subscription authenticated by its own token (GraphiQL headers) with UNAUTHENTICATED when that token expires, keeping the socket', async () => {
    const app = await startServer();
    const player = await app.services.players.create('Explorer', 'PLAYER');
    // Expires in 2 s (a whole number of seconds in the token's `exp`).
    const token = await app.tokens.sign({ ...player, role: 'PLAYER', scopes: [] }, 2);
    const client = await rawSocket(app.url); // the connection itself is anonymous
    const headers = { Authorization: `Bearer ${token}` };
    // A fan-out feed (adopted by the fan-out) and a per-viewer subscription (an iterator).
    client.send({ id: 'feed', type: 'subscribe', payload: { query: 'subscription { worldEvents { message } }', extensions: { headers } } });
    client.send({ id: 'portfolio', type: 'subscribe', payload: { query: 'subscription { portfolioChanged { cash } }', extensions: { headers } } });
    const expiredError = { extensions: { code: 'UNAUTHENTICATED', reason: 'expired' } };
    expect(await client.next((m) => m.id === 'feed' && m.type === 'error', 6_000)).toMatchObject({ payload: [expiredError] });
    expect(await client.next((m) => m.id === 'portfolio' && m.type === 'error', 6_000)).toMatchObject({ payload: [expiredError] });
    // Ended on the server too, and the socket (anonymous, not expired) carries on.
    await client.roundTrip();
    expect(app.services.events.subscriberCount(Streams.world)).toBe(0);
    expect(client.of('feed').filter((m) => m.type === 'complete')).toEqual([]);
    client.send({ id: 'q', type: 'subscribe', payload: { query: '{ stocks { symbol } }' } });
    expect(await client.next((m) => m.id === 'q')).toMatchObject({ type: 'next' });
  });

  it('should send complete when the server ends a subscription (gameEvents of a player who leaves)', async () => {
    const app = await startServer();
    const [alice, bob] = await Promise.all(['Alice', 'Bob'].map((name) => signIn(app.url, name)));
    const game = await createGame(app.url, alice!.token);
    await joinGame(app.url, bob!.token, game.code);
    const client = await rawSocket(app.url, { token: bob!.token });
    // Only joins and leaves: Bob's own subscription brings him online (PlayerConnected) at a time of its own.
    const events = 'subscription ($code: String!, $after: String) { gameEvents(code: $code, after: $after, types: [PlayerJoined, PlayerLeft]) { __typename } }';
    client.subscribe('events', events, { code: game.code, after: game.cursor });
    // The replayed join: the subscription was accepted while Bob was a player.
    expect(await client.next((m) => m.id === 'events')).toEqual({ id: 'events', type: 'next', payload: { data: { gameEvents: { __typename: 'PlayerJoined' } } } });
    expect((await leaveGame(app.url, bob!.token, game.code)).errors).toBeUndefined();
    await client.next((m) => m.id === 'events' && m.type === 'complete');
    expect(client.of('events').map((m) => [m.type, m.payload?.data?.gameEvents.__typename])).toEqual([
      ['next', 'PlayerJoined'],
      ['next', 'PlayerLeft'],
      ['complete', undefined],
    ]);
  });
});

describe('graphql-transport-ws: keep-alive', () => {
  it('should terminate a socket that does not answer pings and keep one that does across several intervals', async () => {
    // Long enough for a loaded machine to answer each ping within one interval.
    const keepAliveMs = 250;
    const app = await startServer({ keepAliveMs });
    const silent = await rawSocket(app.url, { autoPong: false });
    const answering = await rawSocket(app.url);
    // Four pings: each one after the first proves the previous sweep found the pong.
    const fourPings = new Promise<void>((resolve) => {
      if (answering.pings() >= 4) return resolve();
      answering.socket.on('ping', () => answering.pings() >= 4 && resolve());
    });

    // Pinged by one sweep, cut by the next (no close frame: 1006).
    expect((await silent.closed).code).toBe(1006);
    expect(silent.pings()).toBe(1);
    await fourPings;
    expect(answering.socket.readyState).toBe(WebSocket.OPEN);
    answering.subscribe('q', '{ __typename }');
    expect(await answering.next((m) => m.id === 'q')).toMatchObject({ type: 'next' });
  });
});
