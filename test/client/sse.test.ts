import { describe, expect, it } from 'vitest';
import { MarketTickerDocument, SetStockPriceDocument, StocksDocument, WorldFeedDocument, AnnounceWorldEventDocument } from '../../client/generated/graphql.js';
import { ConnectionGaveUpError, WebSocketAuthError, type ConnectionStatus, type ResubscribeEvent } from '../../client/index.js';
import { priceSeries, realmcastClient, startHttpProxy, streamWithCuts } from '../support/client-harness.js';
import { collect, listening, startServer } from '../support/harness.js';

describe('client: SSE fallback', () => {
  it('should move subscriptions to SSE by itself when a proxy refuses the WebSocket upgrade', async () => {
    const app = await startServer();
    const proxy = await startHttpProxy(app.url, { refuseUpgrades: true });
    const statuses: ConnectionStatus[] = [];
    const realm = realmcastClient(proxy.url, { wsProbeIntervalMs: 60_000 });
    realm.status.subscribe((status) => statuses.push(status));
    const gm = realmcastClient(app.url, { token: await app.token('GAME_MASTER') });
    // Subscribed while the WebSocket is still being tried: it must move over by itself.
    const feed = collect(realm.client.subscribe({ query: WorldFeedDocument }));

    await realm.status.when('fallback-sse');
    expect(proxy.refusedUpgrades).toBeGreaterThanOrEqual(3);
    await listening(app, 'streamEvent', 'world');
    await gm.client.mutate({ mutation: AnnounceWorldEventDocument, variables: { message: 'Carried by SSE' } });
    expect((await feed.next()).data?.worldEvents).toMatchObject({ kind: 'announcement', message: 'Carried by SSE' });
    expect(statuses).not.toContain('connected');
    expect(statuses.at(-1)).toBe('fallback-sse');
  });

  it('should be on SSE before a third backoff when the upgrade is refused, with the default delays', async () => {
    const app = await startServer();
    const proxy = await startHttpProxy(app.url, { refuseUpgrades: true });
    // The default delays (500 ms doubling): three attempts would take ~0.4 + 0.75 s; fallbackAfterMs (500 ms) comes first.
    const realm = realmcastClient(proxy.url, { retryDelayMs: 500, maxRetryDelayMs: 15_000, wsProbeIntervalMs: 60_000 });
    await realm.status.when('fallback-sse');
    expect(proxy.refusedUpgrades).toBeGreaterThanOrEqual(1);
    expect(proxy.refusedUpgrades).toBeLessThan(3);
  });

  it('should give up after maxRetries failed attempts, fail subscriptions with ConnectionGaveUpError, and start over on reconnect()', async () => {
    const app = await startServer();
    const proxy = await startHttpProxy(app.url, { closeUpgradesWith: 1011 });
    const realm = realmcastClient(proxy.url, { maxRetries: 2, sseFallback: false });
    const feed = collect(realm.client.subscribe({ query: WorldFeedDocument }));
    await realm.status.when('failed');
    expect(proxy.closedUpgrades).toBe(3); // the first attempt and two retries
    expect((await feed.next()).error).toBeInstanceOf(ConnectionGaveUpError);
    const refused = collect(realm.client.subscribe({ query: WorldFeedDocument }));
    expect((await refused.next()).error).toBeInstanceOf(ConnectionGaveUpError);
    expect(proxy.closedUpgrades).toBe(3); // given up: nothing more is tried

    proxy.closeUpgradesWith(null);
    realm.reconnect();
    await realm.status.when('connected');
    const gm = realmcastClient(app.url, { token: await app.token('GAME_MASTER') });
    const again = collect(realm.client.subscribe({ query: WorldFeedDocument }));
    await listening(app, 'streamEvent', 'world');
    await gm.client.mutate({ mutation: AnnounceWorldEventDocument, variables: { message: 'Back after giving up' } });
    expect((await again.next()).data?.worldEvents).toMatchObject({ message: 'Back after giving up' });
  });

  it.each([1011, 4500])(
    'should count a close with %i before the acknowledgement as a failed attempt and fall back to SSE',
    async (code) => {
      const app = await startServer();
      const proxy = await startHttpProxy(app.url, { closeUpgradesWith: code });
      const statuses: ConnectionStatus[] = [];
      const realm = realmcastClient(proxy.url, { wsProbeIntervalMs: 60_000 });
      realm.status.subscribe((status) => statuses.push(status));
      const gm = realmcastClient(app.url, { token: await app.token('GAME_MASTER') });
      const feed = collect(realm.client.subscribe({ query: WorldFeedDocument }));

      await realm.status.when('fallback-sse');
      expect(proxy.closedUpgrades).toBe(3); // fallbackAfterFailures, each after a backoff
      await listening(app, 'streamEvent', 'world');
      await gm.client.mutate({ mutation: AnnounceWorldEventDocument, variables: { message: `After ${code}` } });
      expect((await feed.next()).data?.worldEvents).toMatchObject({ kind: 'announcement', message: `After ${code}` });
      expect(statuses).not.toContain('connected');
      expect(statuses).not.toContain('offline');
      expect(realm.status.get()).toBe('fallback-sse');
    },
  );

  it('should retry a WebSocket closed with 1011 before the acknowledgement, without SSE', async () => {
    const app = await startServer();
    const proxy = await startHttpProxy(app.url, { closeUpgradesWith: 1011 });
    const realm = realmcastClient(proxy.url, { fallbackAfterFailures: 1_000, fallbackAfterMs: 60_000 });
    const gm = realmcastClient(app.url, { token: await app.token('GAME_MASTER') });
    const feed = collect(realm.client.subscribe({ query: WorldFeedDocument }));
    // Retried with backoff: a few attempts fail, then the proxy lets the next one through.
    await proxy.whenClosedUpgrades(2);
    expect(realm.status.get()).toBe('connecting');
    proxy.closeUpgradesWith(null);
    await realm.status.when('connected');
    await listening(app, 'streamEvent', 'world');
    await gm.client.mutate({ mutation: AnnounceWorldEventDocument, variables: { message: 'Over the WebSocket' } });
    expect((await feed.next()).data?.worldEvents).toMatchObject({ message: 'Over the WebSocket' });
  });

  it('should fail waiting subscriptions with an auth error on 4403, and not fall back to SSE', async () => {
    const app = await startServer();
    const realm = realmcastClient(app.url, { token: 'not-a-token' });
    const feed = collect(realm.client.subscribe({ query: WorldFeedDocument }));
    const { error } = await feed.next();
    expect(error).toBeInstanceOf(WebSocketAuthError);
    expect(error?.message).toMatch(/4403/);
    expect(realm.status.get()).not.toBe('fallback-sse');
  });

  it('should resume over SSE across cut streams with nothing lost or repeated', async () => {
    const app = await startServer();
    const proxy = await startHttpProxy(app.url, { refuseUpgrades: true });
    const resumed: ResubscribeEvent[] = [];
    const realm = realmcastClient(proxy.url, { wsProbeIntervalMs: 60_000, onResubscribe: (event) => resumed.push(event) });
    const gm = realmcastClient(app.url, { token: await app.token('GAME_MASTER') });
    await realm.status.when('fallback-sse');
    const ticks = collect(realm.client.subscribe({ query: MarketTickerDocument, variables: { symbols: ['SPICE'] } }));
    await listening(app, 'streamEvent', 'market');

    const prices = priceSeries(40, 100);
    const { events, cursorsBeforeCuts } = await streamWithCuts({
      ticks,
      prices,
      publish: (price) => gm.client.mutate({ mutation: SetStockPriceDocument, variables: { symbol: 'SPICE', price } }),
      cutAfter: [8, 20, 30],
      cut: () => expect(proxy.dropConnections()).toBeGreaterThan(0),
    });

    expect(events.map((e) => e.price)).toEqual(prices);
    expect(new Set(events.map((e) => e.cursor)).size).toBe(prices.length);
    expect(resumed.map((r) => r.after)).toEqual(cursorsBeforeCuts);
    expect(realm.status.get()).toBe('fallback-sse');
  });

  it('should switch back to the WebSocket once a probe gets through, without losing events', async () => {
    const app = await startServer();
    const proxy = await startHttpProxy(app.url, { refuseUpgrades: true });
    const realm = realmcastClient(proxy.url, { wsProbeIntervalMs: 50 });
    const gm = realmcastClient(app.url, { token: await app.token('GAME_MASTER') });
    await realm.status.when('fallback-sse');
    const ticks = collect(realm.client.subscribe({ query: MarketTickerDocument, variables: { symbols: ['AETH'] } }));
    await listening(app, 'streamEvent', 'market');

    const prices = priceSeries(30, 300);
    const { events } = await streamWithCuts({
      ticks,
      prices,
      publish: (price) => gm.client.mutate({ mutation: SetStockPriceDocument, variables: { symbol: 'AETH', price } }),
      cutAfter: [10],
      async cut() {
        proxy.refuseUpgrades(false);
        await realm.status.when('connected');
      },
    });

    expect(events.map((e) => e.price)).toEqual(prices);
    expect(realm.status.get()).toBe('connected');
  });

  it('should say offline while the server is down, and reconnect when it is back', async () => {
    const app = await startServer();
    const realm = realmcastClient(app.url);
    await realm.status.when('connected');
    const seen: ConnectionStatus[] = [];
    realm.status.subscribe((status) => seen.push(status));
    await app.dispose();
    await realm.status.when('offline');
    // Offline means HTTP fails too, not only the WebSocket.
    await expect(realm.client.query({ query: StocksDocument, fetchPolicy: 'network-only' })).rejects.toThrow();
    // Same port and data: the client's URL works again.
    await startServer({ port: app.port, dataDir: app.dataDir });
    await realm.status.when('connected');
    expect(seen[0]).toBe('reconnecting');
    expect(seen).toContain('offline');
    expect(seen.at(-1)).toBe('connected');
    expect((await realm.client.query({ query: StocksDocument, fetchPolicy: 'network-only' })).data?.stocks.length).toBeGreaterThan(0);
  });

  it('should not count a WebSocket attempt begun while the server was down that fails after it is seen back, and reconnect over the WebSocket', async () => {
    const app = await startServer();
    const proxy = await startHttpProxy(app.url);
    // Every failure checks HTTP at once, and a retry waits far longer than a check takes:
    // were the late failure counted, the check it starts would find HTTP working and pick SSE.
    const realm = realmcastClient(proxy.url, { fallbackAfterFailures: 1, retryDelayMs: 400, maxRetryDelayMs: 400 });
    await realm.status.when('connected');
    await app.dispose();
    await realm.status.when('offline'); // an HTTP check found the server down

    // The next check waits at the proxy, and so does the attempt made meanwhile.
    proxy.holdRequests();
    await proxy.whenHeldRequests(1);
    proxy.holdUpgrades();
    await proxy.whenHeldUpgrades(1);
    const seen: ConnectionStatus[] = [];
    realm.status.subscribe((status) => seen.push(status));
    await startServer({ port: app.port, dataDir: app.dataDir });
    proxy.releaseRequests();
    await realm.status.when('reconnecting'); // the check saw the server back
    // Only now does the attempt begun during the outage fail, as one may under load.
    expect(proxy.failHeldUpgrades()).toBe(1);

    await realm.status.when('connected');
    expect(seen).toEqual(['reconnecting', 'connected']);
  });
});
