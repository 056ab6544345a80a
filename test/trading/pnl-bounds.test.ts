import { readdirSync, readFileSync } from 'node:fs';
import { ApolloArmor } from '@escape.tech/graphql-armor';
import { parse, validate, type ValidationRule } from 'graphql';
import { sql, type KyselyPlugin } from 'kysely';
import { describe, expect, it } from 'vitest';
import { createAnalytics } from '../../server/domain/analytics.js';
import { drawdownCost, drawdownCostOf, drawdownOf, historyPointsAtMost, maxHistoryPoints } from '../../server/domain/pnl.js';
import { operationCost } from '../../server/limits/cost.js';
import { schema } from '../../server/schema/index.js';
import { readStitched } from '../../server/domain/pnl-series.js';
import { createStore } from '../../server/store/store.js';
import { errorCode, gql, onTeardown, startServer, tempDataDir } from '../support/harness.js';
import { expectDrawdownsToAgree } from '../support/pnl-drawdown-cases.js';

const order = 'mutation ($symbol: String!, $quantity: Int!) { placeOrder(symbol: $symbol, side: BUY, quantity: $quantity) { price } }';
const setPrice = 'mutation ($symbol: String!, $price: Float!) { setStockPrice(symbol: $symbol, price: $price) { price } }';

/** A Kysely plugin counting the rows every statement returns to the server. */
function rowCounter() {
  const counter = { rows: 0, plugin: undefined as unknown as KyselyPlugin };
  counter.plugin = {
    transformQuery: ({ node }) => node,
    transformResult: async ({ result }) => {
      counter.rows += result.rows.length;
      return result;
    },
  };
  return counter;
}

describe('P&L bounds', () => {
  it('should compute drawdown in the database exactly as folding the rows in memory (ties, stitched resolutions, a value at "from")', async () => {
    const store = await createStore({ dataDir: tempDataDir() });
    onTeardown(() => store.dispose());
    const withDrops = await expectDrawdownsToAgree(store, { seed: 11, series: 40, windows: 12, nowSeconds: Date.parse('2026-11-30T12:34:56Z') / 1000 });
    // The cases are not vacuous: most windows have a drawdown to agree on.
    expect(withDrops).toBeGreaterThan(200);
  });

  it('should answer an all-time drawdown over the most rows a series keeps (a day of seconds, a month of minutes, a year of hours, two years of days) reading a handful of rows', async () => {
    const now = Date.parse('2026-11-30T12:00:00Z');
    const nowSeconds = now / 1000;
    const app = await startServer({ clock: () => now, pnlRecordMs: 0 });
    const token = await app.token();
    const me = (await gql(app.url, '{ me { id } }', {}, token)).data!.me.id as string;
    const { db } = app.services.store;
    // Every bucket each resolution keeps, a wave with noise so peaks and troughs are everywhere.
    const kept = [
      ['s', 1, Math.ceil((nowSeconds - 86_400) / 60) * 60, nowSeconds],
      ['m', 60, Math.ceil((nowSeconds - 30 * 86_400) / 3_600) * 3_600, Math.ceil((nowSeconds - 86_400) / 60) * 60],
      ['h', 3_600, Math.ceil((nowSeconds - 365 * 86_400) / 86_400) * 86_400, Math.ceil((nowSeconds - 30 * 86_400) / 3_600) * 3_600],
      ['d', 86_400, nowSeconds / 86_400 * 86_400 - 730 * 86_400, Math.ceil((nowSeconds - 365 * 86_400) / 86_400) * 86_400],
    ] as const;
    for (const [resolution, step, from, to] of kept) {
      await sql`
        with recursive t(b) as (select ${from} union all select b + ${step} from t where b + ${step} < ${to})
        insert into pnl_series (player_id, strategy, resolution, bucket, open_cents, high_cents, low_cents, close_cents)
        select ${me}, '*', ${resolution}, b, v, v + (b % 7), v - (b % 5), v + (b % 7) - (b % 3)
        from (select b, cast(((b / ${step}) * 7919 % 20011) - 10000 + (b / 86400) * 10 as integer) as v from t)`.execute(db);
    }
    const { count } = (await db.selectFrom('pnlSeries').select((eb) => eb.fn.countAll<number>().as('count')).where('playerId', '=', me).executeTakeFirstOrThrow());
    expect(Number(count)).toBeGreaterThan(136_000);

    // What reading every row and folding them gives (the old way), with the live value (0) last.
    const points = (await readStitched(db, { playerId: me, strategy: '*' }, 0, nowSeconds + 1, nowSeconds)).map((r) => ({ at: r.bucket, open: r.openCents, high: r.highCents, low: r.lowCents, close: r.closeCents }));
    points.push({ at: nowSeconds, open: 0, high: 0, low: 0, close: 0 });
    const expected = drawdownOf(points);
    expect(expected.max).toBeGreaterThan(0);

    const counter = rowCounter();
    const analytics = createAnalytics({ store: { ...app.services.store, db: db.withPlugin(counter.plugin) }, pubsub: app.services.pubsub, logger: app.services.logger, clock: () => now });
    expect(await analytics.drawdown(me)).toEqual(expected);
    // One aggregate row, plus the live valuation's (empty) account reads: nothing per point.
    expect(counter.rows).toBeLessThanOrEqual(3);

    const { data, errors } = await gql(app.url, '{ portfolio { drawdown { max maxPercent peakAt troughAt recoveredAt current currentPercent } } }', {}, token);
    expect(errors).toBeUndefined();
    expect(data!.portfolio.drawdown).toEqual(expected);
  });

  it('should keep at most PNL_CACHE_PLAYERS players in the recorder, and record exactly what an unbounded recorder does after dropping some', async () => {
    let now = Date.parse('2026-11-05T08:00:00Z');
    const statements: string[] = [];
    const small = await startServer({ clock: () => now, pnlRecordMs: 0, pnlCachePlayers: 2, onQuery: (text) => statements.push(text) });
    const large = await startServer({ clock: () => now, pnlRecordMs: 0 });
    const players = await Promise.all(
      [small, large].map(async (app) => ({ app, gm: await app.token('GAME_MASTER'), tokens: await Promise.all([1, 2, 3, 4, 5].map(() => app.token())) })),
    );
    const both = async (step: (app: (typeof players)[number]) => Promise<unknown>) => {
      const written = [];
      for (const p of players) {
        await step(p);
        written.push(await p.app.services.analytics.flush());
      }
      expect(written[0]).toBe(written[1]);
      return written[0]!;
    };
    const symbols = ['IRON', 'GOLD', 'IRON', 'GOLD', 'IRON'];
    // Five players trade: two stay remembered.
    for (let i = 0; i < 5; i++) {
      now += 1_000;
      await both(async ({ app, tokens }) => expect((await gql(app.url, order, { symbol: symbols[i], quantity: 1 + i }, tokens[i])).errors).toBeUndefined());
      expect(small.services.analytics.recorderStats().cachedPlayers).toBeLessThanOrEqual(2);
    }
    expect(small.services.analytics.recorderStats().cachedPlayers).toBe(2);
    // Prices move: every holder changes (three IRON holders, two of them dropped and read again).
    for (const [symbol, price] of [['IRON', 50], ['GOLD', 900], ['IRON', 41], ['GOLD', 1_000]] as const) {
      now += 1_000;
      expect(await both(({ app, gm }) => gql(app.url, setPrice, { symbol, price }, gm))).toBeGreaterThan(0);
      expect(small.services.analytics.recorderStats().cachedPlayers).toBe(2);
    }
    // A dropped player marked without a change: one read of their last values, and no point.
    const first = (await gql(small.url, '{ me { id } }', {}, players[0]!.tokens[0])).data!.me.id as string;
    const firstLarge = (await gql(large.url, '{ me { id } }', {}, players[1]!.tokens[0])).data!.me.id as string;
    now += 1_000;
    statements.length = 0;
    expect(await both(async ({ app }) => app.services.analytics.markPlayer(app === small ? first : firstLarge))).toBe(0);
    expect(statements.filter((s) => /from "pnl_series" as "s"/.test(s))).toHaveLength(1);
    // Remembered again now: marking them once more reads nothing of the series.
    statements.length = 0;
    expect(await both(async ({ app }) => app.services.analytics.markPlayer(app === small ? first : firstLarge))).toBe(0);
    expect(statements.filter((s) => /from "pnl_series" as "s"/.test(s))).toHaveLength(0);

    // Both recorded the same series, row for row (players in the same order).
    const series = async ({ app, tokens }: (typeof players)[number]) => {
      const ids = await Promise.all(tokens.map(async (t) => (await gql(app.url, '{ me { id } }', {}, t)).data!.me.id as string));
      const rows = await app.services.store.db.selectFrom('pnlSeries').select(['playerId', 'strategy', 'resolution', 'bucket', 'openCents', 'highCents', 'lowCents', 'closeCents']).execute();
      return rows
        .map(({ playerId, ...row }) => ({ player: ids.indexOf(playerId), ...row, bucket: Number(row.bucket) }))
        .sort((a, b) => a.player - b.player || a.strategy.localeCompare(b.strategy) || a.resolution.localeCompare(b.resolution) || a.bucket - b.bucket);
    };
    const [recordedSmall, recordedLarge] = await Promise.all(players.map(series));
    expect(recordedSmall!.length).toBeGreaterThan(40);
    expect(recordedSmall).toEqual(recordedLarge);
  });

  it('should add the cost of drawdown to the query cost: three in one operation run, a fourth is QUERY_TOO_COMPLEX (cost)', async () => {
    const app = await startServer();
    const token = await app.token();
    const drawdowns = (n: number) => `{ portfolio { ${Array.from({ length: n }, (_, i) => `d${i}: drawdown { max maxPercent peakAt troughAt recoveredAt current currentPercent }`).join(' ')} } }`;
    const three = await gql(app.url, drawdowns(3), {}, token);
    expect(three.errors).toBeUndefined();
    expect(Object.keys(three.data!.portfolio)).toEqual(['d0', 'd1', 'd2']);
    const four = await gql(app.url, drawdowns(4), {}, token);
    expect(errorCode(four)).toBe('QUERY_TOO_COMPLEX');
    expect(four.errors![0]!.extensions!.limit).toBe('cost');
    // Each: 1.5 × (object 2 + 7 × 1.5 + its own 4,000) under portfolio (2).
    expect(four.errors![0]!.message).toBe(`Query Cost limit of 20000 exceeded, found ${2 + 4 * 1.5 * (2 + 7 * 1.5 + drawdownCost)}.`);
  });

  it('should cost pnlHistory by the points it may return: 30 aliased default-window SECOND histories are QUERY_TOO_COMPLEX (cost) before anything runs', async () => {
    const app = await startServer();
    const token = await app.token();
    let ran = 0;
    const history = app.services.analytics.history;
    app.services.analytics.history = (...args) => (ran++, history(...args));
    const histories = (n: number, args = 'interval: SECOND') =>
      `{ portfolio { ${Array.from({ length: n }, (_, i) => `h${i}: pnlHistory(${args}) { at equity pnl drawdown drawdownPercent }`).join(' ')} } }`;
    const thirty = await gql(app.url, histories(30), {}, token);
    expect(errorCode(thirty)).toBe('QUERY_TOO_COMPLEX');
    expect(thirty.errors![0]!.extensions!.limit).toBe('cost');
    // Each: 1.5 × (object 2 + 5 × 1.5 + its 600 default points) under portfolio (2).
    expect(thirty.errors![0]!.message).toBe(`Query Cost limit of 20000 exceeded, found ${2 + 30 * 1.5 * (2 + 5 * 1.5 + 600)}.`);
    expect(ran).toBe(0);
    // A range set by a variable costs the whole cap: three of them are over the limit, two are not.
    const byVariable = (n: number) =>
      `query ($from: DateTime) { portfolio { ${Array.from({ length: n }, (_, i) => `h${i}: pnlHistory(interval: DAY, from: $from) { at }`).join(' ')} } }`;
    expect(errorCode(await gql(app.url, byVariable(3), { from: '2026-01-01T00:00:00Z' }, token))).toBe('QUERY_TOO_COMPLEX');
    expect((await gql(app.url, byVariable(2), { from: '2026-01-01T00:00:00Z' }, token)).errors).toBeUndefined();
    // A short literal range is cheap: thirty hours of minutes (61 points each) run.
    const hour = `interval: MINUTE, from: "2026-11-30T09:00:00Z", to: "2026-11-30T10:00:00Z"`;
    const cheap = await gql(app.url, histories(30, hour), {}, token);
    expect(cheap.errors).toBeUndefined();
    expect(ran).toBe(2 + 30);
  });

  it('should bound the points pnlHistory may return by its arguments as written (the worst case where a variable or now decides)', () => {
    const now = Date.parse('2026-11-30T12:00:00Z');
    const at = (iso: string) => Date.parse(iso);
    expect(historyPointsAtMost({ interval: 'SECOND', from: undefined, to: undefined }, now)).toBe(600);
    expect(historyPointsAtMost({ interval: 'DAY', from: undefined, to: 'variable' }, now)).toBe(365);
    expect(historyPointsAtMost({ interval: 'variable', from: undefined, to: undefined }, now)).toBe(1_440);
    expect(historyPointsAtMost({ interval: 'MINUTE', from: 'variable', to: undefined }, now)).toBe(maxHistoryPoints);
    expect(historyPointsAtMost({ interval: 'HOUR', from: at('2026-11-30T00:00:00Z'), to: 'variable' }, now)).toBe(maxHistoryPoints);
    expect(historyPointsAtMost({ interval: 'HOUR', from: at('2026-11-30T00:00:00Z'), to: undefined }, now)).toBe(13);
    expect(historyPointsAtMost({ interval: 'variable', from: at('2026-11-30T11:59:00Z'), to: undefined }, now)).toBe(61);
    expect(historyPointsAtMost({ interval: 'SECOND', from: at('2026-01-01T00:00:00Z'), to: undefined }, now)).toBe(maxHistoryPoints);
    expect(historyPointsAtMost({ interval: 'DAY', from: at('2026-12-01T00:00:00Z'), to: at('2026-11-01T00:00:00Z') }, now)).toBe(1);
  });

  it('should cost drawdown by its window: all of drawdownCost for all time or unknown bounds, its share by the rows it can scan for a shorter one', () => {
    const now = Date.parse('2026-11-30T12:00:00Z');
    const hourAgo = now - 3_600_000;
    expect(drawdownCostOf({ from: undefined, to: undefined }, now)).toBe(drawdownCost);
    expect(drawdownCostOf({ from: 'variable', to: undefined }, now)).toBe(drawdownCost);
    // The last hour: 3,601 seconds.
    expect(drawdownCostOf({ from: hourAgo, to: undefined }, now)).toBe(Math.ceil((3_601 * drawdownCost) / 137_000));
    // A day in March: hours (24 rows).
    expect(drawdownCostOf({ from: Date.parse('2026-03-01T00:00:00Z'), to: Date.parse('2026-03-02T00:00:00Z') }, now)).toBe(1);
    // The last day: 86,400 seconds and more, not quite all of it.
    const day = drawdownCostOf({ from: now - 86_400_000, to: 'variable' }, now);
    expect(day).toBeGreaterThan(2_000);
    expect(day).toBeLessThan(drawdownCost);
  });

  it("should keep the dashboard's operations and the docs' examples under MAX_COST", () => {
    const dir = new URL('../../client/operations/', import.meta.url);
    const sources = [
      ...readdirSync(dir).map((file) => readFileSync(new URL(file, dir), 'utf8')),
      ...[...readFileSync(new URL('../../docs/trading-analytics.md', import.meta.url), 'utf8').matchAll(/```graphql\n([\s\S]*?)```/g)].map((m) => m[1]!),
    ];
    const costs: number[] = [];
    const rule: ValidationRule = (context) => ({ OperationDefinition: (operation) => void costs.push(operationCost(context, operation)) });
    const fragments = sources.filter((source) => /^fragment /m.test(source)).join('\n');
    for (const source of sources.filter((source) => !/^fragment /m.test(source))) {
      const document = parse(`${source}\n${fragments}`);
      validate(schema, document, [rule]);
    }
    expect(costs.length).toBeGreaterThan(20);
    expect(Math.max(...costs)).toBeLessThanOrEqual(20_000);
  });

  it('should estimate every other operation as graphql-armor does (client operations, fragments, lists with last, introspection)', () => {
    const estimates = (source: string, rule: (costs: number[]) => ValidationRule[]) => {
      const costs: number[] = [];
      expect(validate(schema, parse(source), rule(costs)).filter((e) => !/Cost limit/.test(e.message))).toEqual([]);
      return costs;
    };
    const armor = (costs: number[]) =>
      new ApolloArmor({
        blockFieldSuggestion: { enabled: false },
        maxTokens: { enabled: false },
        maxAliases: { enabled: false },
        maxDirectives: { enabled: false },
        maxDepth: { enabled: false },
        costLimit: { maxCost: Number.MAX_SAFE_INTEGER, onAccept: [(_ctx, { n }) => costs.push(n)] },
      }).protect().validationRules as ValidationRule[];
    const ours = (costs: number[]): ValidationRule[] => [(context) => ({ OperationDefinition: (operation) => void costs.push(operationCost(context, operation)) })];
    const dir = new URL('../../client/operations/', import.meta.url);
    const client = readdirSync(dir).map((file) => readFileSync(new URL(file, dir), 'utf8')).join('\n');
    // With its declared costs the client's TradingDesk is armor's estimate plus 1.5 × (the 5,000-point cap its `$from` allows + an all-time drawdown).
    const desk = estimates(client, ours);
    const armorDesk = estimates(client, armor);
    const deskIndex = parse(client)
      .definitions.filter((d) => d.kind === 'OperationDefinition')
      .findIndex((d) => d.name?.value === 'TradingDesk');
    expect(deskIndex).toBeGreaterThanOrEqual(0);
    expect(desk.map((cost, i) => cost - armorDesk[i]!)).toEqual(armorDesk.map((_, i) => (i === deskIndex ? 1.5 * (maxHistoryPoints + drawdownCost) : 0)));
    const documents = [
      client.replace(/drawdown \{[^}]*\}/, '').replace(/pnlHistory\([^)]*\) \{[^}]*\}/, ''),
      '{ stocks { symbol history(last: 500) { price at } } worldEvents(last: 20) { id kind ... on WorldEvent { message } } }',
      '{ __schema { types { name } } me { id } }',
    ];
    for (const source of documents) {
      const expected = estimates(source, armor);
      expect(expected.length).toBeGreaterThan(0);
      expect(estimates(source, ours)).toEqual(expected);
    }
  });
});
