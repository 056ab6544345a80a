import { describe, expect, it } from 'vitest';
import { MarketTickerDocument, MeDocument, PlaceOrderDocument, PortfolioChangedDocument, SetStockPriceDocument } from '../../client/generated/graphql.js';
import type { ResubscribeEvent } from '../../client/index.js';
import { encodeCursor } from '../../server/events/event-log.js';
import { priceSeries, realmcastClient, startHttpProxy, streamWithCuts } from '../support/client-harness.js';
import { collect, listening, startServer } from '../support/harness.js';

describe('client: resume across reconnects', () => {
  it('should deliver every tick once and in order while the connection is cut repeatedly mid-stream', async () => {
    const app = await startServer();
    const proxy = await startHttpProxy(app.url);
    const resumed: ResubscribeEvent[] = [];
    const realm = realmcastClient(proxy.url, { onResubscribe: (event) => resumed.push(event) });
    const gm = realmcastClient(app.url, { token: await app.token('GAME_MASTER') });
    const ticks = collect(realm.client.subscribe({ query: MarketTickerDocument, variables: { symbols: ['IRON'] } }));
    await listening(app, 'streamEvent', 'market');

    const prices = priceSeries(60);
    const { events, cursorsBeforeCuts } = await streamWithCuts({
      ticks,
      prices,
      publish: (price) => gm.client.mutate({ mutation: SetStockPriceDocument, variables: { symbol: 'IRON', price } }),
      cutAfter: [10, 25, 40],
      async cut() {
        expect(proxy.dropConnections()).toBeGreaterThan(0);
        await realm.status.when('reconnecting');
      },
    });

    expect(events.map((e) => e.price)).toEqual(prices);
    const logged = await app.services.events.read('market', 0);
    expect(events.map((e) => e.cursor)).toEqual(logged.map((entry) => encodeCursor('market', entry.seq)));
    expect(resumed.map((r) => r.after)).toEqual(cursorsBeforeCuts);
    // Nothing else is queued: the next event is a new one.
    await gm.client.mutate({ mutation: SetStockPriceDocument, variables: { symbol: 'IRON', price: 99 } });
    expect((await ticks.next()).data?.stockTicked.price).toBe(99);
    expect(ticks.received).toHaveLength(prices.length + 1);
  });

  it('should notice a connection that silently stopped answering and resume on a new one', async () => {
    const app = await startServer();
    const proxy = await startHttpProxy(app.url);
    const realm = realmcastClient(proxy.url, { keepAliveMs: 100 });
    const gm = realmcastClient(app.url, { token: await app.token('GAME_MASTER') });
    const ticks = collect(realm.client.subscribe({ query: MarketTickerDocument, variables: { symbols: ['SHIP'] } }));
    await listening(app, 'streamEvent', 'market');
    await gm.client.mutate({ mutation: SetStockPriceDocument, variables: { symbol: 'SHIP', price: 66 } });
    await ticks.next();

    proxy.freezeConnections();
    await gm.client.mutate({ mutation: SetStockPriceDocument, variables: { symbol: 'SHIP', price: 65 } });
    await realm.status.when('reconnecting');
    await realm.status.when('connected');
    expect((await ticks.next()).data?.stockTicked.price).toBe(65);
  });

  it('should resume from an initial `after` given by the application', async () => {
    const app = await startServer();
    const gm = realmcastClient(app.url, { token: await app.token('GAME_MASTER') });
    for (const price of [10, 11, 12]) await gm.client.mutate({ mutation: SetStockPriceDocument, variables: { symbol: 'GRAIN', price } });
    const [first] = await app.services.events.read('market', 0, 1);
    const { client } = realmcastClient(app.url);
    const ticks = collect(client.subscribe({ query: MarketTickerDocument, variables: { after: encodeCursor('market', first!.seq) } }));
    expect((await ticks.take(2)).map((r) => r.data?.stockTicked.price)).toEqual([11, 12]);
  });
});

describe('client: credentials', () => {
  it('should call getToken again when it reconnects and use the new identity on the socket', async () => {
    const app = await startServer();
    const proxy = await startHttpProxy(app.url);
    const [alice, bob] = [await app.token('PLAYER', 'alice'), await app.token('PLAYER', 'bob')];
    let token = alice;
    let calls = 0;
    const realm = realmcastClient(proxy.url, {
      getToken: async () => {
        calls += 1;
        return token;
      },
    });
    await realm.status.when('connected');
    const aliceId = (await realm.client.query({ query: MeDocument })).data!.me!.id;
    const changes = collect(realm.client.subscribe({ query: PortfolioChangedDocument }));
    await listening(app, 'portfolioChanged', aliceId);
    const callsBeforeDrop = calls;

    // The token is refreshed (here: to another player, to tell the sockets apart), then the connection drops.
    token = bob;
    const bobId = (await realm.client.query({ query: MeDocument, fetchPolicy: 'network-only' })).data!.me!.id;
    proxy.dropConnections();
    await realm.status.when('reconnecting');
    await realm.status.when('connected');
    expect(calls).toBeGreaterThan(callsBeforeDrop + 1);
    await listening(app, 'portfolioChanged', bobId);
    await realm.client.mutate({ mutation: PlaceOrderDocument, variables: { symbol: 'IRON', side: 'BUY', quantity: 1 } });
    expect((await changes.next()).data?.portfolioChanged.positions).toEqual([expect.objectContaining({ symbol: 'IRON', quantity: 1 })]);
  });

  it('should reconnect the socket and refetch `me` when switching user', async () => {
    const app = await startServer();
    const [alice, bob] = [await app.token('PLAYER', 'alice'), await app.token('PLAYER', 'bob')];
    const realm = realmcastClient(app.url, { token: alice });
    await realm.status.when('connected');
    const me = collect(realm.client.watchQuery({ query: MeDocument }));
    const meNamed = async (name: string) => {
      for (;;) {
        const { data } = await me.next();
        if (data?.me?.name === name) return data.me;
      }
    };
    await meNamed('alice');
    const aliceId = realm.client.readQuery({ query: MeDocument })!.me!.id;
    const changes = collect(realm.client.subscribe({ query: PortfolioChangedDocument }));
    await listening(app, 'portfolioChanged', aliceId);

    const statuses: string[] = [];
    realm.status.subscribe((status) => statuses.push(status));
    await realm.switchUser(bob);
    await realm.status.when('connected');
    expect(statuses).toContain('reconnecting');
    const bobId = (await meNamed('bob')).id!;

    // The live subscription was resubscribed as bob: his trade reaches it.
    await listening(app, 'portfolioChanged', bobId);
    await realm.client.mutate({ mutation: PlaceOrderDocument, variables: { symbol: 'SHIP', side: 'BUY', quantity: 2 } });
    expect((await changes.next()).data?.portfolioChanged.positions).toEqual([expect.objectContaining({ symbol: 'SHIP', quantity: 2 })]);
  });
});
