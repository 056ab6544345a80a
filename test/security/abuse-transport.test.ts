/**
 * The connection-level attacks of issue 10 (WebSocket and SSE), with bounded
 * loops: each must fail the way docs/security-and-limits.md says,
 * with `/health` answering within 1 s and memory bounded.
 */
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { WorldFeedDocument } from '../../client/generated/graphql.js';
import type { ResubscribeEvent } from '../../client/index.js';
import { attack, expectHealthy, heapUsed, MiB } from '../support/abuse.js';
import { realmcastClient } from '../support/client-harness.js';
import { collect, eventually, gql, listening, onTeardown, startServer, subscribe, wsClient } from '../support/harness.js';

const wsUrl = (url: string) => url.replace(/^http/, 'ws');

/** Opens a raw graphql-ws socket; resolves with it once acknowledged, or with the HTTP status of a refused upgrade. */
function openSocket(url: string, headers: Record<string, string> = {}, token?: string) {
  return new Promise<{ socket?: WebSocket; status?: number; retryAfter?: string }>((resolve, reject) => {
    const socket = new WebSocket(wsUrl(url), 'graphql-transport-ws', { headers });
    onTeardown(() => socket.terminate());
    socket.on('unexpected-response', (_req, res) => resolve({ status: res.statusCode, retryAfter: res.headers['retry-after'] }));
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: token ? { authToken: token } : {} })));
    socket.on('message', (data) => {
      if (JSON.parse(String(data)).type === 'connection_ack') resolve({ socket });
    });
    socket.on('error', (error) => (error.message.includes('Unexpected server response') ? undefined : reject(error)));
  });
}

const closed = (socket: WebSocket) => new Promise<{ code: number; reason: string }>((resolve) => socket.on('close', (code, reason) => resolve({ code, reason: String(reason) })));

describe('abuse: connections', () => {
  it('should refuse upgrades past MAX_CONNECTIONS_PER_ADDRESS with 429 and past MAX_CONNECTIONS with 503, both with Retry-After', async () => {
    const app = await startServer({ maxConnectionsPerAddress: 20 });
    const results = await attack({ count: 2_000, seconds: 4, parallel: 50 }, () => openSocket(app.url));
    expect(results.filter((r) => r.socket).length).toBe(20);
    const refused = results.filter((r) => r.status);
    expect(refused.length).toBe(results.length - 20);
    expect(refused.every((r) => r.status === 429 && r.retryAfter === '5')).toBe(true);
    await expectHealthy(app);

    const small = await startServer({ maxConnections: 2 });
    await Promise.all([openSocket(small.url), openSocket(small.url)]);
    expect(await openSocket(small.url)).toMatchObject({ status: 503, retryAfter: '5' });
  });

  it('should close a socket that sends a frame over WS_MAX_PAYLOAD with 1009', async () => {
    const app = await startServer();
    const { socket } = await openSocket(app.url);
    const done = closed(socket!);
    socket!.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: `{ __typename }`, variables: { pad: 'x'.repeat(100_000) } } }));
    expect((await done).code).toBe(1009);
    await expectHealthy(app);
  });

  it('should refuse a WebSocket from a browser origin that is not allowed', async () => {
    const app = await startServer({ production: true, corsOrigins: ['https://game.example'] });
    expect(await openSocket(app.url, { origin: 'https://evil.example' })).toMatchObject({ status: 403 });
    expect((await openSocket(app.url, { origin: 'https://game.example' })).socket).toBeDefined();
  });

  it('should refuse subscriptions past MAX_SUBSCRIPTIONS_PER_CONNECTION with TOO_MANY_SUBSCRIPTIONS, keeping the others', async () => {
    const app = await startServer();
    const client = wsClient(app.url);
    const live = Array.from({ length: 100 }, () => subscribe(client, 'subscription { worldEvents { message } }'));
    await listening(app, 'streamEvent', 'world');
    const extra = Array.from({ length: 10_000 - 100 }, () => subscribe(client, 'subscription { worldEvents { message } }'));
    // Every extra one is refused at once; the socket and the first 100 stay.
    const refusals = await Promise.all(extra.slice(0, 50).map((s) => s.failed));
    expect(refusals.every((errors: any) => errors[0].extensions.code === 'TOO_MANY_SUBSCRIPTIONS')).toBe(true);
    await gql(app.url, 'mutation { announceWorldEvent(message: "still here") { id } }', {}, await app.token('GAME_MASTER'));
    expect(await live[99]!.next()).toEqual({ worldEvents: { message: 'still here' } });
    await expectHealthy(app);
  });

  it('should bound subscribe/complete churn on one socket by the operation rate', async () => {
    const app = await startServer();
    const { socket } = await openSocket(app.url);
    let started = 0;
    socket!.on('message', (data) => {
      const message = JSON.parse(String(data));
      if (message.type === 'next' && !message.payload.errors) started++;
    });
    const before = heapUsed();
    const deadline = Date.now() + 3_000;
    let sent = 0;
    while (sent < 200_000 && Date.now() < deadline) {
      for (let i = 0; i < 500; i++, sent++) {
        socket!.send(JSON.stringify({ id: String(sent), type: 'subscribe', payload: { query: 'subscription { stockTicked { symbol } }' } }));
        socket!.send(JSON.stringify({ id: String(sent), type: 'complete' }));
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    await expectHealthy(app);
    // RATE_LIMIT_ADDRESS 600/10s: at most 600 of them ran. The client completed each one before
    // its refusal could be sent, so a last subscription shows the socket's address is over its allowance.
    const last = new Promise<any>((resolve) =>
      socket!.on('message', (data) => {
        const message = JSON.parse(String(data));
        if (message.id === 'last') resolve(message);
      }),
    );
    socket!.send(JSON.stringify({ id: 'last', type: 'subscribe', payload: { query: 'subscription { stockTicked { symbol } }' } }));
    // Refused before it ran: a `next` carrying only the error, then `complete`.
    expect((await last).payload.errors[0].extensions).toMatchObject({ code: 'RATE_LIMITED', retryAfterMs: expect.any(Number) });
    expect(sent).toBeGreaterThan(600);
    expect(started).toBeLessThanOrEqual(600);
    expect(heapUsed() - before).toBeLessThan(128 * MiB);
  });
});

describe('abuse: token expiry on a WebSocket', () => {
  it('should close the socket with 4403 when its token expires; the typed client reconnects with a fresh token and resumes', async () => {
    const app = await startServer();
    const player = await app.services.players.create('Short', 'PLAYER');
    const viewer = { ...player, role: 'PLAYER' as const, scopes: [] };
    const first = await app.tokens.sign(viewer, 2);
    const raw = await openSocket(app.url, {}, first);
    const rawClosed = closed(raw.socket!);

    let token = first;
    const resumed: ResubscribeEvent[] = [];
    const realm = realmcastClient(app.url, { getToken: () => token, onResubscribe: (event) => resumed.push(event) });
    const feed = collect(realm.client.subscribe({ query: WorldFeedDocument }));
    const gm = await app.token('GAME_MASTER');
    const announce = (message: string) => gql(app.url, 'mutation ($m: String!) { announceWorldEvent(message: $m) { id } }', { m: message }, gm);
    await listening(app, 'streamEvent', 'world', 1);
    await announce('before expiry');
    expect((await feed.next()).data?.worldEvents.message).toBe('before expiry');
    token = await app.tokens.sign(viewer);

    expect(await rawClosed).toEqual({ code: 4403, reason: 'Token expired' });
    await eventually(() => resumed.length > 0, 'the client to resume');
    await announce('after expiry');
    expect((await feed.next()).data?.worldEvents.message).toBe('after expiry');
  });
});

describe('abuse: consumers that never read', () => {
  // The test runs 60 s. Before the server's own buffer grows, the
  // kernel's socket buffers (up to 4 MB per connection here) fill up; to get
  // past them in seconds rather than minutes, each event here is fat (200
  // aliased fields, ~6 KB) and each WebSocket consumer holds 5 subscriptions,
  // so the same assertions (every consumer dropped, heap flat, /health
  // answering) hold within seconds (a 30 s bound for a loaded machine).
  it('should drop 20 non-reading WebSocket and 20 non-reading SSE consumers on a 20 ms tick, keeping the heap flat', async () => {
    const app = await startServer({ marketTickMs: 20, maxBufferedBytes: 65_536, maxAliases: 250 });
    const fat = `subscription { stockTicked { cursor ${Array.from({ length: 200 }, (_, i) => `p${i}: price`).join(' ')} } }`;
    const before = heapUsed();
    const sockets = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const { socket } = await openSocket(app.url);
        for (let i = 0; i < 5; i++) socket!.send(JSON.stringify({ id: String(i), type: 'subscribe', payload: { query: fat } }));
        // Stop reading: the kernel buffers fill, then the server's.
        (socket as unknown as { _socket: { pause(): void } })._socket.pause();
        return socket!;
      }),
    );
    const streams = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const controller = new AbortController();
        onTeardown(() => controller.abort());
        const response = await fetch(app.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
          body: JSON.stringify({ query: fat }),
          signal: controller.signal,
        });
        return response; // its body is never read
      }),
    );
    expect(streams.every((r) => r.status === 200)).toBe(true);
    const drops = async () => {
      const text = await (await fetch(app.url.replace('/graphql', '/metrics'))).text();
      const count = (transport: string) => Number(new RegExp(`realmcast_slow_consumer_drops_total\\{transport="${transport}"\\} (\\d+)`).exec(text)?.[1] ?? 0);
      return { ws: count('ws'), sse: count('sse') };
    };
    let last = { ws: 0, sse: 0 };
    await eventually(async () => {
      last = await drops();
      return last.ws >= 20 && last.sse >= 20;
    }, 'every non-reading consumer to be dropped', 110_000, 250).catch((error: Error) => {
      throw new Error(`${error.message}; dropped so far: ${JSON.stringify(last)}`);
    });
    await expectHealthy(app);
    expect(heapUsed() - before).toBeLessThan(96 * MiB);
    expect(sockets.length).toBe(20);
  });
});
