import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Gauge } from 'prom-client';
import WebSocket from 'ws';
import { describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../server/logger.js';
import { createMetrics } from '../../server/metrics.js';
import { schema } from '../../server/schema/index.js';
import { createGame, signIn } from '../support/games.js';
import { gql, listening, onTeardown, startServer, subscribe, wsClient } from '../support/harness.js';

const base = (url: string) => url.replace(/\/graphql$/, '');

/** The value of one sample of the exposition text, e.g. `realmcast_connections{transport="ws"}`. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const scrape = async (url: string, init?: RequestInit) => (await fetch(`${base(url)}/metrics`, init)).text();

describe('metrics', () => {
  it('should count connections, subscriptions per field, messages, published events and fan-out latency', async () => {
    const app = await startServer();
    const gm = await app.token('GAME_MASTER');
    const ticks = subscribe(wsClient(app.url), 'subscription { stockTicked(symbols: ["SHIP"]) { symbol price } }');
    await listening(app, 'streamEvent', 'market');
    const published = async (stream: string) => sample(await scrape(app.url), `realmcast_events_published_total{stream="${stream}"}`)!;
    const [marketBefore, worldBefore] = [await published('market'), await published('world')];
    // A big move also posts a world event: done before the SSE subscription starts.
    await gql(app.url, 'mutation { setStockPrice(symbol: "SHIP", price: 77) { price } }', {}, gm);
    await ticks.next();
    const sse = await fetch(app.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: 'subscription { worldEvents { message } }' }),
    });
    const reader = sse.body!.pipeThrough(new TextDecoderStream()).getReader();
    onTeardown(() => reader.cancel());
    await listening(app, 'streamEvent', 'world');
    await gql(app.url, 'mutation { announceWorldEvent(message: "metered") { id } }', {}, gm);
    let text = '';
    while (!text.includes('metered')) text += (await reader.read()).value ?? '';

    const metrics = await scrape(app.url);
    expect(sample(metrics, 'realmcast_connections{transport="ws"}')).toBe(1);
    expect(sample(metrics, 'realmcast_connections{transport="sse"}')).toBe(1);
    expect(sample(metrics, 'realmcast_subscriptions{field="stockTicked"}')).toBe(1);
    expect(sample(metrics, 'realmcast_subscriptions{field="worldEvents"}')).toBe(1);
    expect(sample(metrics, 'realmcast_subscriptions{field="presence"}')).toBe(0);
    expect(sample(metrics, 'realmcast_messages_sent_total{transport="ws"}')).toBe(1);
    expect(sample(metrics, 'realmcast_messages_sent_total{transport="sse"}')).toBe(1);
    expect(sample(metrics, 'realmcast_events_published_total{stream="market"}')).toBe(marketBefore + 1);
    expect(sample(metrics, 'realmcast_events_published_total{stream="world"}')).toBe(worldBefore + 2);
    expect(sample(metrics, 'realmcast_fanout_latency_seconds_count{transport="ws"}')).toBe(1);
    expect(sample(metrics, 'realmcast_fanout_latency_seconds_count{transport="sse"}')).toBe(1);
    expect(sample(metrics, 'realmcast_slow_consumer_drops_total{transport="ws"}')).toBe(0);
    expect(sample(metrics, 'realmcast_graphql_operations_total{type="mutation"}')).toBe(2);
    expect(metrics).toMatch(/^nodejs_eventloop_lag_seconds \d/m);
    expect(metrics).toMatch(/^process_resident_memory_bytes \d/m);

    ticks.unsubscribe();
    await vi.waitFor(async () => expect(sample(await scrape(app.url), 'realmcast_subscriptions{field="stockTicked"}')).toBe(0));
  });

  it('should time each live event once per subscription group and transport, not once per subscriber', async () => {
    const app = await startServer();
    const gm = await app.token('GAME_MASTER');
    const client = wsClient(app.url);
    const plain = 'subscription { worldEvents { message } }';
    const withSeverity = 'subscription { worldEvents { message severity } }';
    const ws = [plain, plain, plain, withSeverity, withSeverity].map((query) => subscribe(client, query));
    const readers = await Promise.all(
      [1, 2].map(async () => {
        const sse = await fetch(app.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
          body: JSON.stringify({ query: plain }),
        });
        const reader = sse.body!.pipeThrough(new TextDecoderStream()).getReader();
        onTeardown(() => reader.cancel());
        return reader;
      }),
    );
    await listening(app, 'streamEvent', 'world', 7);
    expect(app.fanout.stats().groups).toBe(2);
    await gql(app.url, 'mutation { announceWorldEvent(message: "grouped") { id } }', {}, gm);
    for (const feed of ws) expect((await feed.next()).worldEvents.message).toBe('grouped');
    for (const reader of readers) {
      let text = '';
      while (!text.includes('grouped')) text += (await reader.read()).value ?? '';
    }

    const metrics = await scrape(app.url);
    expect(sample(metrics, 'realmcast_messages_sent_total{transport="ws"}')).toBe(5);
    expect(sample(metrics, 'realmcast_messages_sent_total{transport="sse"}')).toBe(2);
    // Two groups wrote to sockets, one of them (the plain shape) also to SSE streams.
    expect(sample(metrics, 'realmcast_fanout_latency_seconds_count{transport="ws"}')).toBe(2);
    expect(sample(metrics, 'realmcast_fanout_latency_seconds_count{transport="sse"}')).toBe(1);
  });

  it('should not time replayed events as fan-out latency', async () => {
    const app = await startServer();
    const gm = await app.token('GAME_MASTER');
    await gql(app.url, 'mutation { announceWorldEvent(message: "old news") { id } }', {}, gm);
    const replay = subscribe(wsClient(app.url), 'subscription { worldEvents(after: "d29ybGQ6MA") { message } }');
    expect((await replay.next()).worldEvents.message).toBeDefined();
    const metrics = await scrape(app.url);
    expect(sample(metrics, 'realmcast_messages_sent_total{transport="ws"}')).toBeGreaterThan(0);
    expect(sample(metrics, 'realmcast_fanout_latency_seconds_count{transport="ws"}')).toBe(0);
  });

  it('should count errors by catalogue code and rate-limit refusals by limit', async () => {
    const app = await startServer();
    await gql(app.url, 'mutation { setStockPrice(symbol: "SHIP", price: 1) { price } }');
    const alice = await signIn(app.url, 'Alice');
    const game = await createGame(app.url, alice.token);
    const typing = 'mutation ($code: String!) { setTyping(code: $code, typing: false) }';
    for (let i = 0; i < 6; i++) await gql(app.url, typing, { code: game.code }, alice.token);
    app.metrics.limited('connections-per-ip');
    const metrics = await scrape(app.url);
    expect(sample(metrics, 'realmcast_graphql_errors_total{code="UNAUTHENTICATED"}')).toBe(1);
    expect(sample(metrics, 'realmcast_graphql_errors_total{code="RATE_LIMITED"}')).toBe(1);
    expect(sample(metrics, 'realmcast_rate_limited_total{limit="setTyping"}')).toBe(1);
    expect(sample(metrics, 'realmcast_rate_limited_total{limit="connections-per-ip"}')).toBe(1);
  });

  it('should keep /metrics the same size after 20,000 made-up operation names', async () => {
    // All 20,000 come from one address, up to 200 at once per socket: lift the per-address operation rate and the
    // operations per connection (RATE_LIMIT_ADDRESS, MAX_SUBSCRIPTIONS_PER_CONNECTION) so every one is counted.
    const app = await startServer({ operationRatePerAddress: { points: 1_000_000, seconds: 10 }, maxSubscriptionsPerConnection: 1_000 });
    const realmcastSeries = (text: string) => text.split('\n').filter((line) => line.startsWith('realmcast_')).length;
    // Over HTTP, as in the report that blew the old operation-name labels up…
    const overHttp = async (from: number, count: number) => {
      for (let i = 0; i < count; i += 16) {
        await Promise.all(Array.from({ length: Math.min(16, count - i) }, (_, j) => gql(app.url, `query Made_Up_${from + i + j} { __typename }`)));
      }
    };
    // …and, to send 20,000 quickly, as queries over one WebSocket (the same plugin path).
    const overWebSocket = async (from: number, count: number) => {
      const socket = new WebSocket(app.url.replace('http', 'ws'), 'graphql-transport-ws');
      onTeardown(() => socket.close());
      await new Promise<void>((resolve, reject) => {
        socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init' })));
        socket.on('error', reject);
        // 200 in flight at a time: flooding all of them at once only makes the server thrash.
        let sent = from;
        let completed = 0;
        const sendNext = () => {
          const id = sent++;
          socket.send(JSON.stringify({ id: String(id), type: 'subscribe', payload: { query: `query Made_Up_${id} { __typename }`, operationName: `Made_Up_${id}` } }));
        };
        socket.on('message', (data) => {
          const message = JSON.parse(String(data)) as { type: string };
          if (message.type === 'connection_ack') while (sent < from + Math.min(200, count)) sendNext();
          if (message.type !== 'complete') return;
          if (++completed === count) resolve();
          else if (sent < from + count) sendNext();
        });
      });
      socket.close();
    };
    await overHttp(0, 100);
    const before = await scrape(app.url);
    await overHttp(100, 400);
    await overWebSocket(500, 19_500);
    const after = await scrape(app.url);
    expect(after).not.toContain('Made_Up_');
    expect(sample(after, 'realmcast_graphql_operations_total{type="query"}')).toBe(20_000);
    expect(realmcastSeries(after)).toBe(realmcastSeries(before));
    // Counter values gain a few digits and GC metrics vary a little; a label per name would add megabytes.
    expect(Math.abs(after.length - before.length)).toBeLessThan(2_000);
  }, 180_000);

  it('should require the METRICS_TOKEN as a Bearer token when one is set', async () => {
    const app = await startServer({ metricsToken: 'scrape-me-please-0123' });
    const open = await fetch(`${base(app.url)}/metrics`);
    expect(open.status).toBe(401);
    expect(await open.text()).not.toContain('realmcast_');
    expect((await fetch(`${base(app.url)}/metrics`, { headers: { authorization: 'Bearer wrong-token-wrong-token' } })).status).toBe(401);
    const scraped = await fetch(`${base(app.url)}/metrics`, { headers: { authorization: 'Bearer scrape-me-please-0123' } });
    expect(scraped.status).toBe(200);
    expect(await scraped.text()).toContain('realmcast_connections');
  });

  it('should answer a failing scrape with 500 and no stack trace or path', async () => {
    const metrics = createMetrics({ schema, logger: createLogger('silent'), processMetrics: false });
    new Gauge({
      name: 'broken',
      help: 'throws on collect',
      registers: [metrics.registry],
      collect() {
        throw new Error(`boom at ${import.meta.url}`);
      },
    });
    const server = createServer((req, res) => metrics.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    onTeardown(() => new Promise((resolve) => server.close(resolve)));
    const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`);
    expect(response.status).toBe(500);
    const body = await response.text();
    expect(body).toBe('metrics unavailable; see the server log\n');
  });
});
