import { describe, expect, it } from 'vitest';
import { errorCode, gql, listening, startServer, subscribe, wsClient, type TestServer } from '../support/harness.js';

const order = /* GraphQL */ `
  mutation ($symbol: String!, $side: OrderSide!, $quantity: Int!, $strategy: String) {
    placeOrder(symbol: $symbol, side: $side, quantity: $quantity, strategy: $strategy) { id cursor symbol side quantity price strategy realizedPnl at }
  }`;
const setPrice = 'mutation ($symbol: String!, $price: Float!) { setStockPrice(symbol: $symbol, price: $price) { price } }';

const analyticsQuery = /* GraphQL */ `
  query ($month: String!, $strategy: String) {
    portfolio {
      cash totalValue totalPnl todayPnl realizedPnl unrealizedPnl
      strategies { strategy realizedPnl unrealizedPnl totalPnl trades wins losses winRate positions { symbol quantity averageCost } }
      trades(last: 50) { cursor symbol side quantity price strategy realizedPnl at }
      pnlCalendar(month: $month) { date pnl trades wins losses }
      strategyCalendar: pnlCalendar(month: $month, strategy: $strategy) { date pnl trades wins losses }
      today: pnlHistory(interval: SECOND, from: "2026-11-02T09:00:00Z", to: "2026-11-02T10:00:00Z") { at equity pnl drawdown drawdownPercent }
      minutes: pnlHistory(interval: MINUTE, from: "2026-11-01T00:00:00Z") { at pnl }
      drawdown { max maxPercent peakAt troughAt recoveredAt current currentPercent }
      todayDrawdown: drawdown(from: "2026-11-02T00:00:00Z") { max peakAt troughAt recoveredAt current }
    }
  }`;

/** Money sums the way the server must: exactly, in cents. */
const cents = (value: number) => Math.round(value * 100);

describe('trading analytics', () => {
  it('should make history, calendar, drawdown, strategies and todayPnl agree with the trades to the cent over a scripted day with a restart', async () => {
    let now = Date.parse('2026-11-01T10:00:00Z');
    const clock = () => now;
    let app: TestServer = await startServer({ clock, pnlRecordMs: 0 });
    const [player, gm] = [await app.token(), await app.token('GAME_MASTER')];
    const trade = async (variables: Record<string, unknown>) => {
      const result = await gql(app.url, order, variables, player);
      expect(result.errors).toBeUndefined();
      await app.services.analytics.flush();
      return result.data!.placeOrder;
    };
    const move = async (symbol: string, price: number) => {
      expect((await gql(app.url, setPrice, { symbol, price }, gm)).errors).toBeUndefined();
      await app.services.analytics.flush();
    };

    // Day 1: buy 10 IRON at 42.50 under "alpha"; IRON rises to 45 (+25).
    await trade({ symbol: 'IRON', side: 'BUY', quantity: 10, strategy: 'alpha' });
    now = Date.parse('2026-11-01T10:05:00Z');
    await move('IRON', 45);

    // Day 2: buy 5 GOLD at 955 (manual); GOLD falls to 900 (−275).
    now = Date.parse('2026-11-02T09:00:00Z');
    await trade({ symbol: 'GOLD', side: 'BUY', quantity: 5 });
    now = Date.parse('2026-11-02T09:00:03Z');
    await move('GOLD', 900);

    // A restart in the middle of the day: same data, same clock.
    await app.dispose();
    app = await startServer({ clock, pnlRecordMs: 0, dataDir: app.dataDir });

    // IRON falls to 40 (−50): the trough. Alpha sells half at a loss (value unchanged).
    now = Date.parse('2026-11-02T09:10:00Z');
    await move('IRON', 40);
    now = Date.parse('2026-11-02T09:10:01Z');
    const loss = await trade({ symbol: 'IRON', side: 'SELL', quantity: 5, strategy: 'alpha' });
    expect(loss).toMatchObject({ price: 40, strategy: 'alpha', realizedPnl: -12.5 });
    // GOLD recovers to 1000 (+500): a new peak; manual sells everything at a profit.
    now = Date.parse('2026-11-02T10:00:00Z');
    await move('GOLD', 1000);
    now = Date.parse('2026-11-02T10:00:01Z');
    const win = await trade({ symbol: 'GOLD', side: 'SELL', quantity: 5 });
    expect(win).toMatchObject({ price: 1000, strategy: 'manual', realizedPnl: 225 });

    now = Date.parse('2026-11-02T12:00:00Z');
    // Literal ranges: with variables the query would cost the worst case (two 5,000-point histories and two all-time drawdowns), over MAX_COST.
    const { data, errors } = await gql(app.url, analyticsQuery, { month: '2026-11', strategy: 'alpha' }, player);
    expect(errors).toBeUndefined();
    const p = data!.portfolio;

    // The trades: cash moves by exactly their amounts.
    const trades = [...p.trades].reverse();
    expect(trades.map((t: any) => [t.symbol, t.side, t.quantity, t.price, t.strategy, t.realizedPnl])).toEqual([
      ['IRON', 'BUY', 10, 42.5, 'alpha', 0],
      ['GOLD', 'BUY', 5, 955, 'manual', 0],
      ['IRON', 'SELL', 5, 40, 'alpha', -12.5],
      ['GOLD', 'SELL', 5, 1000, 'manual', 225],
    ]);
    const cashFlow = trades.reduce((sum: number, t: any) => sum + (t.side === 'BUY' ? -1 : 1) * cents(t.price) * t.quantity, 0);
    expect(cents(p.cash)).toBe(1_000_000 + cashFlow);

    // Totals: value − starting cash = realized + unrealized = Σ strategies = Σ trades' realized + holdings' unrealized.
    expect(p).toMatchObject({ totalValue: 10_200, totalPnl: 200, realizedPnl: 212.5, unrealizedPnl: -12.5 });
    expect(cents(p.realizedPnl)).toBe(trades.reduce((sum: number, t: any) => sum + cents(t.realizedPnl), 0));
    expect(p.strategies).toEqual([
      { strategy: 'alpha', realizedPnl: -12.5, unrealizedPnl: -12.5, totalPnl: -25, trades: 2, wins: 0, losses: 1, winRate: 0, positions: [{ symbol: 'IRON', quantity: 5, averageCost: 42.5 }] },
      { strategy: 'manual', realizedPnl: 225, unrealizedPnl: 0, totalPnl: 225, trades: 2, wins: 1, losses: 0, winRate: 1, positions: [] },
    ]);
    expect(p.strategies.reduce((sum: number, s: any) => sum + cents(s.totalPnl), 0)).toBe(cents(p.totalPnl));

    // Calendar: day 1 made 25, day 2 made 175; their sum is the total P&L; today's row is todayPnl.
    expect(p.pnlCalendar).toEqual([
      { date: '2026-11-01', pnl: 25, trades: 1, wins: 0, losses: 0 },
      { date: '2026-11-02', pnl: 175, trades: 3, wins: 1, losses: 1 },
    ]);
    expect(p.todayPnl).toBe(175);
    expect(p.pnlCalendar.reduce((sum: number, d: any) => sum + cents(d.pnl), 0)).toBe(cents(p.totalPnl));
    expect(p.strategyCalendar).toEqual([
      { date: '2026-11-01', pnl: 25, trades: 1, wins: 0, losses: 0 },
      { date: '2026-11-02', pnl: -50, trades: 1, wins: 0, losses: 1 },
    ]);

    // History of day 2, one point per second where the value changed (the sales changed nothing).
    expect(p.today).toEqual([
      { at: '2026-11-02T09:00:03.000Z', equity: 9_750, pnl: -250, drawdown: 0, drawdownPercent: 0 },
      { at: '2026-11-02T09:10:00.000Z', equity: 9_700, pnl: -300, drawdown: 50, drawdownPercent: 0.5128 },
      { at: '2026-11-02T10:00:00.000Z', equity: 10_200, pnl: 200, drawdown: 0, drawdownPercent: 0 },
    ]);
    expect(p.today.at(-1).pnl).toBe(p.totalPnl);
    expect(p.minutes.map((m: any) => [m.at, m.pnl])).toEqual([
      ['2026-11-01T10:00:00.000Z', 0],
      ['2026-11-01T10:05:00.000Z', 25],
      ['2026-11-02T09:00:00.000Z', -250],
      ['2026-11-02T09:10:00.000Z', -300],
      ['2026-11-02T10:00:00.000Z', 200],
    ]);

    // Drawdown: from the day-1 peak (+25) to the day-2 trough (−300), recovered at 10:00.
    expect(p.drawdown).toEqual({
      max: 325,
      maxPercent: Math.round((325 / 10_025) * 1_000_000) / 10_000,
      peakAt: '2026-11-01T10:05:00.000Z',
      troughAt: '2026-11-02T09:10:00.000Z',
      recoveredAt: '2026-11-02T10:00:00.000Z',
      current: 0,
      currentPercent: 0,
    });
    // Day 2 alone starts at the value it opened with (+25), not at its first recording.
    expect(p.todayDrawdown).toEqual({
      max: 325,
      peakAt: '2026-11-02T00:00:00.000Z',
      troughAt: '2026-11-02T09:10:00.000Z',
      recoveredAt: '2026-11-02T10:00:00.000Z',
      current: 0,
    });

    // GOLD ticks while nothing is held: nobody is valued, nothing is recorded.
    const rowsBefore = await app.services.store.db.selectFrom('pnlSeries').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    await move('GOLD', 1100);
    const rowsAfter = await app.services.store.db.selectFrom('pnlSeries').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    expect(Number(rowsAfter.n)).toBe(Number(rowsBefore.n));
  });

  it('should record at most one point per second per series, however often it is flushed', async () => {
    let now = Date.parse('2026-11-03T08:00:00.100Z');
    const app = await startServer({ clock: () => now, pnlRecordMs: 0 });
    const [player, gm] = [await app.token(), await app.token('GAME_MASTER')];
    // A flush with nothing to do must not stop later ones.
    expect(await app.services.analytics.flush()).toBe(0);
    await gql(app.url, order, { symbol: 'IRON', side: 'BUY', quantity: 10, strategy: 'scalper' }, player);
    for (const [ms, price] of [[200, 43], [400, 44], [900, 45], [1_100, 46], [1_500, 47]] as const) {
      now = Date.parse('2026-11-03T08:00:00.000Z') + ms;
      await gql(app.url, setPrice, { symbol: 'IRON', price }, gm);
      await app.services.analytics.flush();
    }
    const rows = await app.services.store.db
      .selectFrom('pnlSeries')
      .select(['strategy', 'bucket', 'openCents', 'highCents', 'lowCents', 'closeCents'])
      .where('resolution', '=', 's')
      .orderBy('strategy')
      .orderBy('bucket')
      .execute();
    const second = Date.parse('2026-11-03T08:00:00Z') / 1000;
    // Two seconds, two series (the account and "scalper"): four rows; each bucket keeps first, high, low and last.
    expect(rows.map((r) => ({ ...r, bucket: Number(r.bucket) - second }))).toEqual([
      { strategy: '*', bucket: 0, openCents: 0, highCents: 2_500, lowCents: 0, closeCents: 2_500 },
      { strategy: '*', bucket: 1, openCents: 3_500, highCents: 4_500, lowCents: 3_500, closeCents: 4_500 },
      { strategy: 'scalper', bucket: 0, openCents: 0, highCents: 2_500, lowCents: 0, closeCents: 2_500 },
      { strategy: 'scalper', bucket: 1, openCents: 3_500, highCents: 4_500, lowCents: 3_500, closeCents: 4_500 },
    ]);
  });

  it('should record a change after a run that failed (the database away) instead of forgetting it', async () => {
    const now = Date.parse('2026-11-04T08:00:00Z');
    const app = await startServer({ clock: () => now, pnlRecordMs: 0 });
    const [player, gm] = [await app.token(), await app.token('GAME_MASTER')];
    const { sql } = await import('kysely');
    expect((await gql(app.url, order, { symbol: 'IRON', side: 'BUY', quantity: 10, strategy: 'steady' }, player)).errors).toBeUndefined();
    await app.services.analytics.flush();
    const closes = () => app.services.store.db.selectFrom('pnlSeries').select(['strategy', 'closeCents']).where('resolution', '=', 'd').orderBy('strategy').execute();
    const before = await closes();
    // A real failure of the run: the series table is gone while it happens.
    await sql`alter table pnl_series rename to pnl_series_away`.execute(app.services.store.db);
    expect((await gql(app.url, setPrice, { symbol: 'IRON', price: 50 }, gm)).errors).toBeUndefined();
    await expect(app.services.analytics.flush()).rejects.toThrow(/pnl_series/);
    await sql`alter table pnl_series_away rename to pnl_series`.execute(app.services.store.db);
    // Nothing moved since: only the remembered mark can make this run record the move.
    expect(await app.services.analytics.flush()).toBeGreaterThan(0);
    const after = await closes();
    expect(after).not.toEqual(before);
    expect(after.map((r) => r.strategy)).toEqual(['*', 'steady']);
  });

  it('should send pnlTicked to the owner only, at once and then at most once a second while anything changes', async () => {
    const app = await startServer({ pnlRecordMs: 1_000 });
    const [player, other, gm] = [await app.token(), await app.token(), await app.token('GAME_MASTER')];
    const me = (await gql(app.url, '{ me { id } }', {}, player)).data!.me.id;
    const query = 'subscription { pnlTicked { at totalValue totalPnl todayPnl realizedPnl unrealizedPnl drawdown strategies { strategy totalPnl trades } } }';
    const mine = subscribe(wsClient(app.url, player), query);
    const theirs = subscribe(wsClient(app.url, other), query);
    expect((await mine.next()).pnlTicked).toMatchObject({ totalValue: 10_000, totalPnl: 0, todayPnl: 0, drawdown: 0, strategies: [] });
    expect((await theirs.next()).pnlTicked).toMatchObject({ totalValue: 10_000, strategies: [] });
    await listening(app, 'pnlTicked', me);

    const burstStart = Date.now();
    await gql(app.url, order, { symbol: 'IRON', side: 'BUY', quantity: 10, strategy: 'bot-1' }, player);
    for (const price of [43, 41, 44, 40]) await gql(app.url, setPrice, { symbol: 'IRON', price }, gm);
    const burstMs = Date.now() - burstStart;
    const ticks: any[] = [];
    while (ticks.at(-1)?.totalPnl !== -25) ticks.push((await mine.next(10_000)).pnlTicked);
    expect(ticks.at(-1)).toMatchObject({
      totalValue: 9_975, totalPnl: -25, unrealizedPnl: -25, realizedPnl: 0, strategies: [{ strategy: 'bot-1', totalPnl: -25, trades: 1 }],
    });
    // Once a second at most: a burst of five changes arrives in one tick per second it lasted (plus the one in flight), a second apart.
    expect(ticks.length).toBeLessThanOrEqual(Math.ceil(burstMs / 1_000) + 1);
    for (let i = 1; i < ticks.length; i++) expect(Date.parse(ticks[i].at) - Date.parse(ticks[i - 1].at)).toBeGreaterThanOrEqual(900);
    // One valuation per player, whoever subscribes: a second subscription of the owner gets the very same tick.
    const again = subscribe(wsClient(app.url, player), query);
    await again.next(); // its own snapshot
    await listening(app, 'pnlTicked', me, 2);
    await gql(app.url, setPrice, { symbol: 'IRON', price: 39 }, gm);
    const [first, second] = [(await mine.next(10_000)).pnlTicked, (await again.next(10_000)).pnlTicked];
    expect(second).toEqual(first);
    expect(first).toMatchObject({ totalPnl: -35 });
    // The other player's value did not change: nothing more for them.
    await expect(theirs.next(1_500)).rejects.toThrow(/no subscription event/);

    const anonymous = subscribe(wsClient(app.url), 'subscription { pnlTicked { totalPnl } }');
    expect(errorCode({ errors: (await anonymous.failed) as any })).toBe('UNAUTHENTICATED');
  });

  it('should resume tradeExecuted after a cursor with no gap or duplicate, and show nobody else the trades', async () => {
    const app = await startServer();
    const [player, other] = [await app.token(), await app.token()];
    const query = 'subscription ($after: String) { tradeExecuted(after: $after) { cursor symbol quantity strategy } }';
    const place = (quantity: number, token = player) => gql(app.url, order, { symbol: 'GRAIN', side: 'BUY', quantity, strategy: 'log-test' }, token);
    const me = (await gql(app.url, '{ me { id } }', {}, player)).data!.me.id;
    const them = (await gql(app.url, '{ me { id } }', {}, other)).data!.me.id;
    const live = subscribe(wsClient(app.url, player), query);
    const theirs = subscribe(wsClient(app.url, other), query);
    await listening(app, 'streamEvent', `trades:${me}`);
    await listening(app, 'streamEvent', `trades:${them}`);
    for (const quantity of [1, 2, 3]) await place(quantity);
    const seen = (await live.take(3)).map((r: any) => r.tradeExecuted);
    expect(seen.map((t) => t.quantity)).toEqual([1, 2, 3]);
    live.unsubscribe();

    // Two trades while away, then resume from the second cursor: 3, 4, 5 and live 6, each once.
    await place(4);
    await place(5);
    const resumed = subscribe(wsClient(app.url, player), query, { after: seen[1].cursor });
    expect((await resumed.take(3)).map((r: any) => r.tradeExecuted.quantity)).toEqual([3, 4, 5]);
    await place(6);
    expect((await resumed.next()).tradeExecuted).toMatchObject({ quantity: 6, strategy: 'log-test' });

    // The query agrees: newest first, `after` gives what came after, `before` pages back.
    const page = (await gql(app.url, '{ portfolio { trades(last: 2) { cursor quantity } } }', {}, player)).data!.portfolio.trades;
    expect(page.map((t: any) => t.quantity)).toEqual([6, 5]);
    const older = await gql(app.url, 'query ($before: String) { portfolio { trades(last: 10, before: $before) { quantity } } }', { before: page[1].cursor }, player);
    expect(older.data!.portfolio.trades.map((t: any) => t.quantity)).toEqual([4, 3, 2, 1]);
    const newer = await gql(app.url, 'query ($after: String) { portfolio { trades(after: $after) { quantity } } }', { after: seen[2].cursor }, player);
    expect(newer.data!.portfolio.trades.map((t: any) => t.quantity)).toEqual([6, 5, 4]);

    // Another player sees none of it, and cannot use this player's cursor.
    await place(7, other);
    expect((await theirs.next()).tradeExecuted.quantity).toBe(7);
    const stolen = subscribe(wsClient(app.url, other), query, { after: seen[0].cursor });
    const failure = (await stolen.failed) as Array<{ extensions: Record<string, unknown> }>;
    expect(failure[0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
    const otherView = await gql(app.url, 'query ($after: String) { portfolio { trades(after: $after) { quantity } } }', { after: seen[0].cursor }, other);
    expect(errorCode(otherView)).toBe('BAD_USER_INPUT');
    expect((await gql(app.url, '{ portfolio { trades { quantity } } }', {}, other)).data!.portfolio.trades).toEqual([{ quantity: 7 }]);
    // Anonymous: no portfolio, no trade log.
    expect((await gql(app.url, '{ portfolio { trades { id } } }')).data).toEqual({ portfolio: null });
    const anonymous = subscribe(wsClient(app.url), 'subscription { tradeExecuted { id } }');
    expect(errorCode({ errors: (await anonymous.failed) as any })).toBe('UNAUTHENTICATED');
  });

  it.each([
    ['a strategy with bad characters', { strategy: 'rm -rf /' }, 'strategy'],
    ['a strategy longer than 40 characters', { strategy: 'x'.repeat(41) }, 'strategy'],
    ['an empty strategy', { strategy: '   ' }, 'strategy'],
  ])('should refuse an order with %s and change nothing', async (_label, extra, field) => {
    const app = await startServer();
    const player = await app.token();
    const before = (await gql(app.url, '{ portfolio { cash strategies { strategy } trades { id } } }', {}, player)).data;
    const result = await gql(app.url, order, { symbol: 'IRON', side: 'BUY', quantity: 1, ...extra }, player);
    expect(errorCode(result)).toBe('BAD_USER_INPUT');
    expect(result.errors![0]!.extensions!.field).toBe(field);
    expect((await gql(app.url, '{ portfolio { cash strategies { strategy } trades { id } } }', {}, player)).data).toEqual(before);
  });

  it('should keep at most 20 strategies per player and sell only from the named strategy', async () => {
    const app = await startServer();
    const player = await app.token();
    for (let i = 1; i <= 20; i++) expect((await gql(app.url, order, { symbol: 'GRAIN', side: 'BUY', quantity: 1, strategy: `s${i}` }, player)).errors).toBeUndefined();
    const refused = await gql(app.url, order, { symbol: 'GRAIN', side: 'BUY', quantity: 1, strategy: 's21' }, player);
    expect(refused.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'strategy' });
    // The manual strategy holds nothing, so it cannot sell s1's share.
    const sell = await gql(app.url, order, { symbol: 'GRAIN', side: 'SELL', quantity: 1 }, player);
    expect(sell.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'quantity' });
    const { portfolio } = (await gql(app.url, '{ portfolio { positions { symbol quantity } strategies { strategy } } }', {}, player)).data!;
    expect(portfolio.positions).toEqual([{ symbol: 'GRAIN', quantity: 20 }]);
    expect(portfolio.strategies).toHaveLength(20);
  });

  it.each([
    ['trades(last: 501)', '{ portfolio { trades(last: 501) { id } } }', 'last'],
    ['trades(last: 0)', '{ portfolio { trades(last: 0) { id } } }', 'last'],
    ['a malformed month', '{ portfolio { pnlCalendar(month: "2026-13") { date } } }', 'month'],
    ['a month before 1970 (Date.UTC would read "0000" as 1900)', '{ portfolio { pnlCalendar(month: "0000-01") { date } } }', 'month'],
    ['a month before the epoch', '{ portfolio { pnlCalendar(month: "1969-12") { date } } }', 'month'],
    ['more than 5,000 history points', '{ portfolio { pnlHistory(interval: SECOND, from: "2026-01-01T00:00:00Z", to: "2026-01-02T00:00:00Z") { at } } }', 'from'],
    ['a history that ends before it starts', '{ portfolio { pnlHistory(interval: DAY, from: "2026-02-01T00:00:00Z", to: "2026-01-01T00:00:00Z") { at } } }', 'from'],
    ['a bad strategy filter', '{ portfolio { drawdown(strategy: "a/b") { max } } }', 'strategy'],
    ['a malformed trades cursor', '{ portfolio { trades(after: "nope") { id } } }', 'after'],
  ])('should refuse %s with BAD_USER_INPUT', async (_label, query, field) => {
    const app = await startServer();
    const result = await gql(app.url, query, {}, await app.token());
    expect(result.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
  });
});
