import { CombinedGraphQLErrors } from '@apollo/client';
import { describe, expect, it } from 'vitest';
import {
  AnnounceWorldEventDocument,
  FactionInfluenceDocument,
  FactionsDocument,
  MarketTickerDocument,
  MeDocument,
  PlaceOrderDocument,
  PortfolioChangedDocument,
  PortfolioDocument,
  SetStockPriceDocument,
  ShiftFactionInfluenceDocument,
  SignInDocument,
  StockDocument,
  StocksDocument,
  WorldEventsDocument,
  WorldFeedDocument,
} from '../../client/generated/graphql.js';
import { encodeCursor } from '../../server/events/event-log.js';
import { realmcastClient } from '../support/client-harness.js';
import { collect, listening, startServer } from '../support/harness.js';

describe('client: queries and mutations', () => {
  it('should read the market, factions and world feed through typed queries', async () => {
    const app = await startServer();
    const { client } = realmcastClient(app.url);
    const { data: stocks } = await client.query({ query: StocksDocument });
    expect(stocks?.stocks.map((s) => s.symbol)).toEqual(expect.arrayContaining(['IRON', 'GOLD']));
    const { data: iron } = await client.query({ query: StockDocument, variables: { symbol: 'IRON', historyLast: 5 } });
    expect(iron?.stock).toMatchObject({ symbol: 'IRON', price: 42.5, history: [{ price: 42.5 }] });
    const { data: factions } = await client.query({ query: FactionsDocument });
    expect(factions?.factions[0]).toMatchObject({ id: 'crown', influence: 40 });
    const { data: world } = await client.query({ query: WorldEventsDocument, variables: { last: 5 } });
    expect(world?.worldEvents).toEqual([expect.objectContaining({ kind: 'welcome', severity: 'INFO', cursor: expect.any(String) })]);
    const { data: me } = await client.query({ query: MeDocument });
    expect(me?.me).toBeNull();
  });

  it('should sign in as a guest and then act with the returned token', async () => {
    const app = await startServer();
    const realm = realmcastClient(app.url);
    const { data } = await realm.client.mutate({ mutation: SignInDocument, variables: { name: 'Ada' } });
    expect(data?.signIn.player).toMatchObject({ name: 'Ada', role: 'PLAYER' });
    await realm.switchUser(data!.signIn.token);
    expect((await realm.client.query({ query: MeDocument })).data?.me).toMatchObject({ name: 'Ada' });
    const { data: trade } = await realm.client.mutate({ mutation: PlaceOrderDocument, variables: { symbol: 'IRON', side: 'BUY', quantity: 10 } });
    expect(trade?.placeOrder).toMatchObject({ symbol: 'IRON', side: 'BUY', quantity: 10, price: 42.5 });
    const { data: portfolio } = await realm.client.query({ query: PortfolioDocument, fetchPolicy: 'network-only' });
    expect(portfolio?.portfolio).toMatchObject({ cash: 10_000 - 425, positions: [{ symbol: 'IRON', quantity: 10 }] });
  });

  it('should surface a GraphQL error with its code instead of retrying', async () => {
    const app = await startServer();
    const { client } = realmcastClient(app.url, { token: await app.token('PLAYER') });
    const result = await client
      .mutate({ mutation: SetStockPriceDocument, variables: { symbol: 'IRON', price: 50 } })
      .catch((error: unknown) => error);
    expect(CombinedGraphQLErrors.is(result)).toBe(true);
    expect((result as CombinedGraphQLErrors).errors[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});

describe('client: subscriptions over WebSocket', () => {
  it('should report connecting, then connected once the server acknowledged the WebSocket', async () => {
    const app = await startServer();
    const realm = realmcastClient(app.url);
    const seen = [realm.status.get()];
    realm.status.subscribe((status) => seen.push(status));
    await realm.status.when('connected');
    expect(seen).toEqual(['connecting', 'connected']);
  });

  it('should deliver stock ticks and keep the cached stock up to date', async () => {
    const app = await startServer();
    const gm = realmcastClient(app.url, { token: await app.token('GAME_MASTER') });
    const { client } = realmcastClient(app.url);
    await client.query({ query: StockDocument, variables: { symbol: 'GOLD', historyLast: 3 } });
    const ticks = collect(client.subscribe({ query: MarketTickerDocument, variables: { symbols: ['GOLD'] } }));
    await listening(app, 'streamEvent', 'market');
    await gm.client.mutate({ mutation: SetStockPriceDocument, variables: { symbol: 'GOLD', price: 1000 } });
    const { data } = await ticks.next();
    expect(data?.stockTicked).toMatchObject({ symbol: 'GOLD', price: 1000, change: 45, cursor: expect.any(String) });
    const cached = client.readQuery({ query: StockDocument, variables: { symbol: 'GOLD', historyLast: 3 } });
    expect(cached?.stock).toMatchObject({ price: 1000, change: 45, updatedAt: data?.stockTicked.at });
    expect(cached?.stock?.history.map((p) => p.price)).toEqual([955, 1000]);
    // The cached `stocks` list answers `stock(symbol)` too, already up to date.
    await client.query({ query: StocksDocument });
    await gm.client.mutate({ mutation: SetStockPriceDocument, variables: { symbol: 'GOLD', price: 1010 } });
    await ticks.next();
    expect(client.readQuery({ query: StocksDocument })?.stocks.find((s) => s.symbol === 'GOLD')?.price).toBe(1010);
  });

  it('should deliver influence changes and update the cached faction by id', async () => {
    const app = await startServer();
    const gm = realmcastClient(app.url, { token: await app.token('GAME_MASTER') });
    const { client } = realmcastClient(app.url);
    await client.query({ query: FactionsDocument });
    const changes = collect(client.subscribe({ query: FactionInfluenceDocument }));
    await listening(app, 'streamEvent', 'factions');
    await gm.client.mutate({ mutation: ShiftFactionInfluenceDocument, variables: { factionId: 'guild', delta: 5, reason: 'tariffs' } });
    const { data } = await changes.next();
    expect(data?.factionInfluenceChanged).toMatchObject({ delta: 5, reason: 'tariffs', faction: { id: 'guild', influence: 35 } });
    const cached = client.readQuery({ query: FactionsDocument });
    expect(cached?.factions.find((f) => f.id === 'guild')).toMatchObject({ influence: 35, lastChange: 5 });
  });

  it('should deliver world events of the wanted kinds', async () => {
    const app = await startServer();
    const gm = realmcastClient(app.url, { token: await app.token('GAME_MASTER') });
    const { client } = realmcastClient(app.url);
    const feed = collect(client.subscribe({ query: WorldFeedDocument, variables: { kinds: ['announcement'] } }));
    await listening(app, 'streamEvent', 'world');
    await gm.client.mutate({ mutation: AnnounceWorldEventDocument, variables: { message: 'Market opens', kind: 'other' } });
    await gm.client.mutate({ mutation: AnnounceWorldEventDocument, variables: { message: 'Festival tonight', severity: 'WARNING' } });
    const { data } = await feed.next();
    expect(data?.worldEvents).toMatchObject({ kind: 'announcement', message: 'Festival tonight', severity: 'WARNING' });
  });

  it("should deliver the owner's portfolio changes", async () => {
    const app = await startServer();
    const { client } = realmcastClient(app.url, { token: await app.token('PLAYER') });
    const changes = collect(client.subscribe({ query: PortfolioChangedDocument }));
    await new Promise<void>((resolve) => {
      const off = app.services.pubsub.onListenersChanged((topic, _id, count) => {
        if (topic === 'portfolioChanged' && count > 0) {
          off();
          resolve();
        }
      });
    });
    await client.mutate({ mutation: PlaceOrderDocument, variables: { symbol: 'GRAIN', side: 'BUY', quantity: 100 } });
    const { data } = await changes.next();
    expect(data?.portfolioChanged).toMatchObject({ cash: 10_000 - 1_240, positions: [{ symbol: 'GRAIN', quantity: 100 }] });
  });

  it('should end a subscription the server rejects with its error, not resubscribe', async () => {
    const app = await startServer();
    const resubscribed: unknown[] = [];
    const { client } = realmcastClient(app.url, { onResubscribe: (event) => resubscribed.push(event) });
    const ticks = collect(client.subscribe({ query: MarketTickerDocument, variables: { symbols: ['NOPE'] } }));
    const { error } = await ticks.next();
    expect(CombinedGraphQLErrors.is(error) && error.errors[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(resubscribed).toEqual([]);
  });

  it('should end a subscription whose start the server refuses (a graphql-ws error message) with its error, on Node too', async () => {
    // Node 20 has no global WebSocket: the refusal must still reach the application.
    expect(typeof (globalThis as { WebSocket?: unknown }).WebSocket).toBe('undefined');
    const app = await startServer();
    const { client } = realmcastClient(app.url);
    const feed = collect(client.subscribe({ query: WorldFeedDocument, variables: { after: encodeCursor('world', 999) } }));
    const { error } = await feed.next();
    expect(CombinedGraphQLErrors.is(error) && error.errors[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'after' });
  });

  it('should complete live subscriptions on dispose and refuse new ones', async () => {
    const app = await startServer();
    const realm = realmcastClient(app.url);
    const completed = new Promise<void>((resolve) =>
      realm.client.subscribe({ query: WorldFeedDocument }).subscribe({ complete: () => resolve() }),
    );
    await listening(app, 'streamEvent', 'world');
    await realm.dispose();
    await completed;
    expect(realm.status.get()).toBe('offline');
    const { error } = await collect(realm.client.subscribe({ query: WorldFeedDocument })).next();
    expect(error?.message).toMatch(/disposed/);
  });
});
