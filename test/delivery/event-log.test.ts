import { describe, expect, it } from 'vitest';
import { encodeCursor } from '../../server/events/event-log.js';
import { seedStocks } from '../../server/domain/seed.js';
import { errorCode, gql, listening, readEventStream, startServer, subscribe, tempDataDir, wsClient } from '../support/harness.js';

const announce = 'mutation ($m: String!) { announceWorldEvent(message: $m) { cursor message } }';
const seqOf = (cursor: string) => Number(Buffer.from(cursor, 'base64url').toString().split(':').pop());

describe('event log and cursors', () => {
  it('should replay after a cursor, then go live with no gap and no duplicate while events keep coming', async () => {
    const app = await startServer();
    const gm = await app.token('GAME_MASTER');
    // More than one replay page (500) so the replay takes a while…
    await app.services.events.transact(async (_tx, append) => {
      for (let i = 0; i < 1_200; i++) await append('world', 'WorldEvent', { kind: 'bulk', message: `old ${i}`, severity: 'INFO' });
    });
    const feed = subscribe(wsClient(app.url), 'subscription ($after: String) { worldEvents(after: $after) { cursor message } }', {
      after: encodeCursor('world', 1),
    });
    // …and events are published while it runs.
    const live = Promise.all(Array.from({ length: 30 }, (_, i) => gql(app.url, announce, { m: `new ${i}` }, gm)));
    const received = await feed.take(1_230, 10_000);
    await live;
    const seqs = received.map((r) => seqOf(r.worldEvents.cursor));
    expect(seqs).toEqual(Array.from({ length: 1_230 }, (_, i) => i + 2));
    expect(received.filter((r) => r.worldEvents.message.startsWith('new')).length).toBe(30);
  });

  it('should follow a stream once per instance however many subscribe, and let go with the last', async () => {
    const app = await startServer();
    const gm = await app.token('GAME_MASTER');
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const client = wsClient(app.url);
      const feeds = Array.from({ length: 25 }, (_, i) =>
        subscribe(client, i % 2 ? 'subscription { worldEvents { message } }' : 'subscription { worldEvents(kinds: ["announcement"]) { cursor message } }'),
      );
      await listening(app, 'streamEvent', 'world', 25);
      expect(app.services.pubsub.listenerCount('streamEvent', 'world')).toBe(1);
      await gql(app.url, announce, { m: 'to all' }, gm);
      for (const feed of feeds) expect((await feed.next()).worldEvents.message).toBe('to all');
      for (const feed of feeds) feed.unsubscribe();
      await new Promise<void>((resolve) => {
        if (app.services.pubsub.listenerCount('streamEvent', 'world') === 0) return resolve();
        const off = app.services.pubsub.onListenersChanged((_topic, id, count) => id === 'world' && count === 0 && (off(), resolve()));
      });
      expect(app.services.events.subscriberCount('world')).toBe(0);
      expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('should reject a malformed cursor or one from another stream with BAD_USER_INPUT', async () => {
    const app = await startServer();
    for (const after of ['garbage', encodeCursor('market', 3)]) {
      const feed = subscribe(wsClient(app.url), 'subscription ($after: String) { worldEvents(after: $after) { cursor } }', { after });
      expect(await feed.failed).toMatchObject([{ extensions: { code: 'BAD_USER_INPUT', field: 'after' } }]);
    }
  });

  it('should refuse a cursor beyond the stream or older than the retained log instead of skipping events', async () => {
    const app = await startServer({ eventRetentionMinimum: 1 });
    const gm = await app.token('GAME_MASTER');
    for (const m of ['a', 'b', 'c']) await gql(app.url, announce, { m }, gm);
    await app.services.events.prune(new Date(Date.now() + 86_400_000 + 1_000));
    for (const after of [encodeCursor('world', 99), encodeCursor('world', 1)]) {
      const feed = subscribe(wsClient(app.url), 'subscription ($after: String) { worldEvents(after: $after) { cursor } }', { after });
      expect(await feed.failed).toMatchObject([{ extensions: { code: 'BAD_USER_INPUT', field: 'after' } }]);
    }
  });

  it('should keep players, portfolios and the event log across a restart on the same DATA_DIR', async () => {
    const dataDir = tempDataDir();
    const first = await startServer({ dataDir });
    const token = (await gql(first.url, 'mutation { signIn(name: "Keeper") { token } }')).data!.signIn.token;
    await gql(first.url, 'mutation { placeOrder(symbol: "IRON", side: BUY, quantity: 3) { id } }', {}, token);
    const gm = await first.token('GAME_MASTER');
    const { cursor } = (await gql(first.url, announce, { m: 'before restart' }, gm)).data!.announceWorldEvent;
    await gql(first.url, announce, { m: 'last before restart' }, gm);
    await first.dispose();

    const second = await startServer({ dataDir });
    expect((await gql(second.url, '{ me { name } portfolio { cash positions { symbol quantity } } }', {}, token)).data).toEqual({
      me: { name: 'Keeper' },
      portfolio: { cash: 10_000 - 127.5, positions: [{ symbol: 'IRON', quantity: 3 }] },
    });
    const feed = subscribe(wsClient(second.url), 'subscription ($after: String) { worldEvents(after: $after) { message } }', { after: cursor });
    expect(await feed.next()).toEqual({ worldEvents: { message: 'last before restart' } });
    expect((await gql(second.url, '{ worldEvents { message } }')).data!.worldEvents).toHaveLength(3);
  });

  it('should prune entries past the retention age but always keep the newest of each stream', async () => {
    const app = await startServer({ eventRetentionMinimum: 2 });
    const gm = await app.token('GAME_MASTER');
    for (const m of ['a', 'b', 'c']) await gql(app.url, announce, { m }, gm);
    expect(await app.services.events.prune(new Date())).toBe(0);
    const dayLater = new Date(Date.now() + 86_400_000 + 1_000);
    expect(await app.services.events.prune(dayLater)).toBe(2);
    expect((await gql(app.url, '{ worldEvents { message } }')).data!.worldEvents).toEqual([{ message: 'c' }, { message: 'b' }]);
  });

  it('should deliver subscriptions over Server-Sent Events', async () => {
    const app = await startServer();
    const gm = await app.token('GAME_MASTER');
    const response = await fetch(app.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: 'subscription ($after: String) { worldEvents(after: $after) { message } }', variables: { after: encodeCursor('world', 1) } }),
    });
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    await gql(app.url, announce, { m: 'over SSE' }, gm);
    const { text } = await readEventStream(response, (received) => received.includes('over SSE'));
    expect(text).toContain('event: next');
    expect(text).toContain('{"data":{"worldEvents":{"message":"over SSE"}}}');
  });

  it('should deliver subscriptions over Server-Sent Events with GET, as the README shows with curl', async () => {
    const app = await startServer();
    const gm = await app.token('GAME_MASTER');
    const url = new URL(app.url);
    url.searchParams.set('query', 'subscription ($after: String) { worldEvents(after: $after) { message } }');
    url.searchParams.set('variables', JSON.stringify({ after: encodeCursor('world', 1) }));
    const response = await fetch(url, { headers: { accept: 'text/event-stream' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    await gql(app.url, announce, { m: 'over GET' }, gm);
    const { text } = await readEventStream(response, (received) => received.includes('over GET'));
    expect(text).toContain('{"data":{"worldEvents":{"message":"over GET"}}}');
  });

  it('should run the market simulator on its period and publish each move', async () => {
    const app = await startServer({ marketTickMs: 20 });
    const before = new Map(seedStocks.map((s) => [s.symbol as string, s.price as number]));
    const ticks = subscribe<{ stockTicked: { symbol: string; price: number; change: number } }>(
      wsClient(app.url),
      'subscription { stockTicked { symbol price change } }',
    );
    // Two whole ticks of every stock: each event is a real move of a seeded stock, a small step from its last price.
    const events = (await ticks.take(2 * seedStocks.length)).map((t) => t.stockTicked);
    for (const { symbol, price, change } of events) {
      const last = before.get(symbol)!;
      expect(last, `unknown symbol ${symbol}`).toBeDefined();
      expect(price).not.toBe(last);
      expect(Math.abs(price / last - 1)).toBeLessThan(0.1);
      expect(change).toBeCloseTo(price - seedStocks.find((s) => s.symbol === symbol)!.price, 2);
      before.set(symbol, price);
    }
    expect(new Set(events.map((e) => e.symbol)).size).toBeGreaterThan(1);
    // Every published move is in the stored price history.
    for (const { symbol, price } of events) {
      expect((await app.services.market.history(symbol, 500)).map((p) => p.price)).toContain(price);
    }
  });

  it('should mask internal errors as INTERNAL_SERVER_ERROR without leaking details', async () => {
    const app = await startServer();
    await app.services.store.dispose();
    const result = await gql(app.url, '{ stocks { symbol } }');
    expect(errorCode(result)).toBe('INTERNAL_SERVER_ERROR');
    expect(result.errors![0]!.message).toBe('Unexpected error.');
    expect(JSON.stringify(result)).not.toMatch(/kysely|sqlite|driver/i);
  });
});

describe('shutdown', () => {
  it('should complete subscriptions and close sockets when disposed', async () => {
    const app = await startServer();
    const client = wsClient(app.url);
    const closed = new Promise<number>((resolve) => client.on('closed', (event) => resolve((event as { code: number }).code)));
    subscribe(client, 'subscription { worldEvents { message } }');
    await new Promise<void>((resolve) => client.on('connected', () => resolve()));
    await app.dispose();
    expect(await closed).toBe(1001);
  });
});
