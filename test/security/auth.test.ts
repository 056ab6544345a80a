import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { encodeCursor } from '../../server/events/event-log.js';
import { decodeJwt } from 'jose';
import { overWs } from '../support/games.js';
import { errorCode, gql, onTeardown, startServer, subscribe, tempDataDir, wsClient } from '../support/harness.js';

const run = promisify(execFile);

describe('auth', () => {
  it('should sign in a guest and know them as `me` over HTTP and WebSocket', async () => {
    const app = await startServer();
    const { data } = await gql(app.url, 'mutation { signIn(name: "  Ada ") { token player { id name role } } }');
    const { token, player } = data!.signIn;
    expect(player).toMatchObject({ name: 'Ada', role: 'PLAYER' });
    expect((await gql(app.url, '{ me { id name role } }', {}, token)).data).toEqual({ me: player });
    const me = await new Promise((resolve, reject) =>
      wsClient(app.url, token).subscribe({ query: '{ me { id } }' }, { next: resolve, error: reject, complete: () => {} }),
    );
    expect(me).toEqual({ data: { me: { id: player.id } } });
  });

  it('should reject a guest name that is empty or longer than 40 characters', async () => {
    const app = await startServer();
    for (const name of ['   ', 'x'.repeat(41)]) {
      const result = await gql(app.url, 'mutation ($name: String!) { signIn(name: $name) { token } }', { name });
      expect(errorCode(result)).toBe('BAD_USER_INPUT');
      expect(result.errors![0]!.extensions!.field).toBe('name');
    }
  });

  it('should refuse guest sign-in when it is switched off', async () => {
    const app = await startServer({ guestSignIn: false });
    expect(errorCode(await gql(app.url, 'mutation { signIn(name: "Eve") { token } }'))).toBe('FORBIDDEN');
  });

  it('should answer an invalid or expired token with UNAUTHENTICATED, never as anonymous', async () => {
    const app = await startServer();
    const forged = await gql(app.url, '{ stocks { symbol } }', {}, 'not-a-jwt');
    expect(forged.status).toBe(401);
    expect(errorCode(forged)).toBe('UNAUTHENTICATED');
    const player = await app.services.players.create('Old', 'PLAYER');
    const expired = await app.tokens.sign({ ...player, role: 'PLAYER', scopes: [] }, '-1s');
    const result = await gql(app.url, '{ me { id } }', {}, expired);
    expect(errorCode(result)).toBe('UNAUTHENTICATED');
    expect(result.errors![0]!.extensions!.reason).toBe('expired');
  });

  it('should close a WebSocket that brings an invalid token with 4403', async () => {
    const app = await startServer();
    const client = wsClient(app.url, 'forged-token');
    const closed = new Promise<number>((resolve) => client.on('closed', (event) => resolve((event as { code: number }).code)));
    subscribe(client, 'subscription { stockTicked { symbol } }');
    expect(await closed).toBe(4403);
  });

  it('should close a WebSocket that sends no ConnectionInit in time with 4408', async () => {
    const app = await startServer();
    const socket = new WebSocket(app.url.replace('http', 'ws'), 'graphql-transport-ws');
    const code = await new Promise<number>((resolve) => socket.on('close', resolve));
    expect(code).toBe(4408);
  });

  it('should close a WebSocket that subscribes before the ack with 4401', async () => {
    const app = await startServer();
    const socket = new WebSocket(app.url.replace('http', 'ws'), 'graphql-transport-ws');
    await new Promise((resolve) => socket.on('open', resolve));
    socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: 'subscription { stockTicked { symbol } }' } }));
    const code = await new Promise<number>((resolve) => socket.on('close', resolve));
    expect(code).toBe(4401);
  });

  describe('graphql-ws close codes', () => {
    /** An acknowledged raw socket, and a promise of its close code. */
    async function acknowledged(url: string) {
      const socket = new WebSocket(url.replace('http', 'ws'), 'graphql-transport-ws');
      onTeardown(() => socket.close());
      const closed = new Promise<number>((resolve) => socket.on('close', resolve));
      await new Promise((resolve) => socket.on('open', resolve));
      socket.send(JSON.stringify({ type: 'connection_init' }));
      await new Promise<void>((resolve) => socket.once('message', (data) => (JSON.parse(String(data)).type === 'connection_ack' ? resolve() : undefined)));
      return { socket, closed };
    }

    it('should close with 4400 on a message that is not graphql-ws', async () => {
      const app = await startServer();
      const { socket, closed } = await acknowledged(app.url);
      socket.send(JSON.stringify({ type: 'subscribe', id: '1' })); // no payload
      expect(await closed).toBe(4400);
    });

    it('should close with 4409 when an operation id is reused while running', async () => {
      const app = await startServer();
      const { socket, closed } = await acknowledged(app.url);
      const subscription = JSON.stringify({ id: 'same', type: 'subscribe', payload: { query: 'subscription { stockTicked { symbol } }' } });
      socket.send(subscription);
      socket.send(subscription);
      expect(await closed).toBe(4409);
    });

    it('should close with 4429 on a second ConnectionInit', async () => {
      const app = await startServer();
      const { socket, closed } = await acknowledged(app.url);
      socket.send(JSON.stringify({ type: 'connection_init' }));
      expect(await closed).toBe(4429);
    });
  });

  it('should take the token from connectionParams.authorization (with or without "Bearer") like authToken', async () => {
    const app = await startServer();
    const token = await app.token('GAME_MASTER', 'ops');
    for (const authorization of [`Bearer ${token}`, token]) {
      const client = wsClient(app.url, undefined, { connectionParams: { authorization } });
      expect(await overWs(client, '{ me { name role } }')).toEqual({ me: { name: 'ops', role: 'GAME_MASTER' } });
    }
    const forged = wsClient(app.url, undefined, { connectionParams: { authorization: 'Bearer forged' } });
    const closed = new Promise<number>((resolve) => forged.on('closed', (event) => resolve((event as { code: number }).code)));
    subscribe(forged, 'subscription { stockTicked { symbol } }');
    expect(await closed).toBe(4403);
  });

  it('should let a BOT mutate only what its token scopes allow', async () => {
    const app = await startServer();
    const plainBot = await app.token('BOT');
    const tradingBot = await app.token('BOT', 'trader', ['trade']);
    const order = 'mutation { placeOrder(symbol: "IRON", side: BUY, quantity: 1) { quantity } }';
    expect(errorCode(await gql(app.url, order, {}, plainBot))).toBe('FORBIDDEN');
    expect((await gql(app.url, order, {}, tradingBot)).data).toEqual({ placeOrder: { quantity: 1 } });
    expect((await gql(app.url, '{ stocks { symbol } }', {}, plainBot)).data!.stocks.length).toBeGreaterThan(0);
  });

  it('should print a token from the CLI that the server accepts with its role', async () => {
    const dataDir = tempDataDir();
    const app = await startServer({ dataDir });
    const { stdout } = await run('npx', ['tsx', 'server/token.ts', '--role', 'GAME_MASTER', '--name', 'ops'], {
      env: { ...process.env, DATA_DIR: dataDir },
    });
    const token = stdout.trim();
    expect((await gql(app.url, '{ me { name role } }', {}, token)).data).toEqual({ me: { name: 'ops', role: 'GAME_MASTER' } });
    const set = await gql(app.url, 'mutation { setStockPrice(symbol: "IRON", price: 44) { price } }', {}, token);
    expect(set.data).toEqual({ setStockPrice: { price: 44 } });

    // --scope and --expires, as docs/api-tour.md shows for bots.
    const { stdout: botOut } = await run('npx', ['tsx', 'server/token.ts', '--role', 'BOT', '--name', 'trader', '--scope', 'trade,play', '--expires', '7d'], {
      env: { ...process.env, DATA_DIR: dataDir },
    });
    const bot = await app.tokens.verify(botOut.trim());
    expect(bot).toMatchObject({ name: 'trader', role: 'BOT', scopes: ['trade', 'play'] });
    const { exp, iat } = decodeJwt(botOut.trim());
    expect(exp! - iat!).toBe(7 * 86_400);
    expect((await gql(app.url, 'mutation { placeOrder(symbol: "IRON", side: BUY, quantity: 1) { quantity } }', {}, botOut.trim())).errors).toBeUndefined();
    expect(errorCode(await gql(app.url, 'mutation { setStockPrice(symbol: "IRON", price: 45) { price } }', {}, botOut.trim()))).toBe('FORBIDDEN');
  });
});

describe('bad operations over one socket', () => {
  it('should fail a malformed operation alone, keeping the socket and its other subscriptions', async () => {
    const app = await startServer();
    const gm = await app.token('GAME_MASTER');
    const client = wsClient(app.url);
    const good = subscribe(client, 'subscription ($after: String) { worldEvents(after: $after) { message } }', { after: encodeCursor('world', 1) });
    const broken = subscribe(client, 'subscription {');
    expect(await broken.failed).toMatchObject([{ message: expect.stringContaining('Syntax Error') }]);
    await gql(app.url, 'mutation { announceWorldEvent(message: "still here") { id } }', {}, gm);
    expect(await good.next()).toEqual({ worldEvents: { message: 'still here' } });
  });

  it('should answer an anonymous field error with HTTP 200, keeping 401 for bad tokens', async () => {
    const app = await startServer();
    const result = await gql(app.url, '{ stocks { symbol } games { code } }');
    expect(result.status).toBe(200);
    expect(errorCode(result)).toBe('UNAUTHENTICATED');
    expect(result.data).toBeNull(); // `games` is non-null, so the error nulls the whole result, per GraphQL
  });
});
