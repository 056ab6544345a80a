import { authorize } from '../auth.js';
import { builder } from '../builder.js';
import {
  drawdownCost,
  drawdownCostOf,
  historyPointCost,
  historyPointsAtMost,
  maxHistoryPoints,
  type BoundAsWritten,
  type DrawdownView, type PnlDayView, type PnlInterval, type PnlPointView } from '../domain/pnl.js';
import {
  defaultStrategy,
  defaultTradesPage,
  maxStrategiesPerPlayer,
  maxTradesPage,
  type OrderSide,
  type PortfolioView,
  type TradeView,
} from '../domain/portfolio.js';
import type { PnlTickView, PositionView, StrategyView } from '../events/topics.js';
import { fromCents } from '../domain/validate.js';
import { costExtension, fromVariable, type CostArguments } from '../limits/cost.js';
import { analyticsExtension } from '../limits/in-flight.js';

const OrderSideEnum = builder.enumType('OrderSide', {
  description: 'Whether an order buys or sells.',
  values: {
    BUY: { description: 'Buy shares with cash.' },
    SELL: { description: 'Sell shares you hold for cash.' },
  } satisfies Record<OrderSide, unknown>,
});

const PnlIntervalEnum = builder.enumType('PnlInterval', {
  description: 'Resolution of a P&L history: one point per second, minute, hour or day.',
  values: {
    SECOND: { description: 'One point per second; seconds are kept for a day.' },
    MINUTE: { description: 'One point per minute; minutes are kept for 30 days.' },
    HOUR: { description: 'One point per hour; hours are kept for 365 days.' },
    DAY: { description: 'One point per day (UTC); days are kept forever.' },
  } satisfies Record<PnlInterval, unknown>,
});

/** A `DateTime` argument as written, for a declared cost (one the scalar refuses costs nothing: validation fails anyway). */
const boundOf = (args: CostArguments, name: string): BoundAsWritten => {
  const value = args.get(name);
  if (value === fromVariable) return 'variable';
  const ms = typeof value === 'string' ? Date.parse(value) : Number.NaN;
  return Number.isNaN(ms) ? undefined : ms;
};
const intervalOf = (args: CostArguments): PnlInterval | 'variable' => {
  const value = args.get('interval');
  return value === 'SECOND' || value === 'MINUTE' || value === 'HOUR' || value === 'DAY' ? value : 'variable';
};

const strategyArg = 'Only this strategy (its own P&L: equity is starting cash plus that P&L). The whole account when omitted.';

const Trade = builder.objectRef<TradeView>('Trade').implement({
  description: 'A filled order.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Trade identifier.' }),
    cursor: t.exposeString('cursor', { description: "Position in your trade log; pass as `after` to `tradeExecuted` or `trades` to get what came after." }),
    symbol: t.exposeString('symbol', { description: 'Stock traded.' }),
    side: t.field({ type: OrderSideEnum, description: 'Buy or sell.', resolve: (trade) => trade.side }),
    quantity: t.exposeInt('quantity', { description: 'Shares traded.' }),
    price: t.float({ description: 'Fill price per share (the price at the moment of the order).', resolve: (trade) => fromCents(trade.priceCents) }),
    strategy: t.exposeString('strategy', { description: `Strategy label of the order ("${defaultStrategy}" when it named none).` }),
    realizedPnl: t.float({
      description: "Profit or loss this trade locked in: for a sale, proceeds minus the cost basis of the shares sold (the strategy's average cost); 0 for a buy.",
      resolve: (trade) => fromCents(trade.realizedCents),
    }),
    at: t.field({ type: 'DateTime', description: 'When it filled.', resolve: (trade) => trade.at }),
  }),
});

const Position = builder.objectRef<PositionView>('Position').implement({
  description: 'Shares of one stock held in a portfolio (or by one strategy).',
  fields: (t) => ({
    symbol: t.exposeString('symbol', { description: 'Stock held.' }),
    quantity: t.exposeInt('quantity', { description: 'Shares held.' }),
    averageCost: t.exposeFloat('averageCost', { description: 'Average price paid per share held (cost basis ÷ quantity).' }),
    marketValue: t.exposeFloat('marketValue', { description: 'Quantity × current price.' }),
    unrealizedPnl: t.exposeFloat('unrealizedPnl', { description: 'Market value minus cost of the shares held.' }),
  }),
});

const StrategyPnl = builder.objectRef<StrategyView>('StrategyPnl').implement({
  description: 'P&L of the trades placed under one strategy label.',
  fields: (t) => ({
    strategy: t.exposeString('strategy', { description: 'The label, as given to `placeOrder(strategy:)`.' }),
    realizedPnl: t.exposeFloat('realizedPnl', { description: "Profit or loss locked in by this strategy's sales." }),
    unrealizedPnl: t.exposeFloat('unrealizedPnl', { description: "Profit or loss of this strategy's holdings at current prices." }),
    totalPnl: t.exposeFloat('totalPnl', { description: 'Realized plus unrealized.' }),
    trades: t.exposeInt('trades', { description: 'Trades placed under this strategy.' }),
    wins: t.exposeInt('wins', { description: 'Sales above cost.' }),
    losses: t.exposeInt('losses', { description: 'Sales below cost.' }),
    winRate: t.exposeFloat('winRate', { nullable: true, description: 'Wins ÷ (wins + losses), 0–1; null before the first sale that won or lost.' }),
    positions: t.field({ type: [Position], description: "This strategy's holdings, by symbol.", resolve: (s) => s.positions }),
  }),
});

const PnlPoint = builder.objectRef<PnlPointView>('PnlPoint').implement({
  description: 'Equity and P&L at the end of one interval.',
  fields: (t) => ({
    at: t.field({ type: 'DateTime', description: 'Start of the interval.', resolve: (p) => p.at }),
    equity: t.exposeFloat('equity', { description: 'Starting cash plus P&L (for the whole account: its total value).' }),
    pnl: t.exposeFloat('pnl', { description: 'P&L at the end of the interval (the last value recorded in it).' }),
    drawdown: t.exposeFloat('drawdown', { description: 'How far equity is below the highest value so far in the answer (≥ 0).' }),
    drawdownPercent: t.exposeFloat('drawdownPercent', { description: 'The drawdown in percent of that peak equity (≥ 0).' }),
  }),
});

const PnlDay = builder.objectRef<PnlDayView>('PnlDay').implement({
  description: 'One day (UTC) of a P&L calendar.',
  fields: (t) => ({
    date: t.exposeString('date', { description: 'The day, "2026-11-30".' }),
    pnl: t.exposeFloat('pnl', { description: "P&L made that day: its last value minus the previous day's (today: the live value)." }),
    trades: t.exposeInt('trades', { description: 'Trades that day.' }),
    wins: t.exposeInt('wins', { description: 'Sales above cost that day.' }),
    losses: t.exposeInt('losses', { description: 'Sales below cost that day.' }),
  }),
});

const Drawdown = builder.objectRef<DrawdownView>('Drawdown').implement({
  description: 'Peak-to-trough drops of equity. Every amount is ≥ 0.',
  fields: (t) => ({
    max: t.exposeFloat('max', { description: 'The largest drop from a peak to a later trough.' }),
    maxPercent: t.exposeFloat('maxPercent', { description: 'That drop in percent of its peak equity.' }),
    peakAt: t.field({ type: 'DateTime', nullable: true, description: 'When the peak of the largest drop was (null: no drop).', resolve: (d) => d.peakAt }),
    troughAt: t.field({ type: 'DateTime', nullable: true, description: 'When its trough was.', resolve: (d) => d.troughAt }),
    recoveredAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When equity first got back to that peak after the trough (null: not yet).',
      resolve: (d) => d.recoveredAt,
    }),
    current: t.exposeFloat('current', { description: 'How far equity is below its highest value now.' }),
    currentPercent: t.exposeFloat('currentPercent', { description: 'That in percent of the peak equity.' }),
  }),
});

const PnlTick = builder.objectRef<PnlTickView>('PnlTick').implement({
  description: 'Your live P&L.',
  fields: (t) => ({
    at: t.field({ type: 'DateTime', description: 'When it was valued.', resolve: (tick) => tick.at }),
    totalValue: t.exposeFloat('totalValue', { description: 'Cash plus market value of holdings.' }),
    totalPnl: t.exposeFloat('totalPnl', { description: 'Total value minus starting cash.' }),
    todayPnl: t.exposeFloat('todayPnl', { description: 'Total value minus its value at 00:00 UTC today.' }),
    realizedPnl: t.exposeFloat('realizedPnl', { description: 'Profit or loss locked in by sales.' }),
    unrealizedPnl: t.exposeFloat('unrealizedPnl', { description: 'Profit or loss of holdings at current prices.' }),
    drawdown: t.exposeFloat('drawdown', { description: 'How far equity is below its highest recorded value (≥ 0).' }),
    strategies: t.field({ type: [StrategyPnl], description: 'P&L per strategy.', resolve: (tick) => tick.strategies }),
  }),
});

/**
 * `todayPnl` per view: a `portfolioChanged` view is built once per change and
 * shared by all of the player's subscriptions, so its baseline is read once too.
 */
const todayPnlOf = new WeakMap<PortfolioView, Promise<number>>();

const Portfolio = builder.objectRef<PortfolioView>('Portfolio').implement({
  description: "A player's cash and holdings, valued at current prices, with their P&L over time.",
  fields: (t) => ({
    cash: t.exposeFloat('cash', { description: 'Cash available (every player starts with 10,000).' }),
    positions: t.field({ type: [Position], description: 'Holdings by symbol, summed over strategies.', resolve: (p) => p.positions }),
    realizedPnl: t.exposeFloat('realizedPnl', { description: 'Profit or loss locked in by sales.' }),
    unrealizedPnl: t.exposeFloat('unrealizedPnl', { description: 'Profit or loss of holdings at current prices.' }),
    totalValue: t.exposeFloat('totalValue', { description: 'Cash plus market value of holdings.' }),
    totalPnl: t.exposeFloat('totalPnl', { description: 'Total value minus starting cash (= realized + unrealized).' }),
    todayPnl: t.float({
      description: 'Total value minus its value at 00:00 UTC today.',
      resolve: (p, _args, { services }) => {
        let today = todayPnlOf.get(p);
        if (!today) todayPnlOf.set(p, (today = services.analytics.todayPnl(p.playerId, p.totalPnl)));
        return today;
      },
    }),
    strategies: t.field({ type: [StrategyPnl], description: 'P&L per strategy, by name.', resolve: (p) => p.strategies }),
    trades: t.field({
      type: [Trade],
      description: 'Your trades, newest first.',
      args: {
        last: t.arg.int({ description: `How many (1–${maxTradesPage}). Default ${defaultTradesPage}.` }),
        after: t.arg.string({ description: 'Only trades after this cursor (newer).' }),
        before: t.arg.string({ description: 'Only trades before this cursor (older): pass the last cursor of a page to get the next.' }),
      },
      resolve: (p, { last, after, before }, { services }) =>
        services.portfolios.trades(p.playerId, { last: last ?? undefined, after: after ?? undefined, before: before ?? undefined }),
    }),
    pnlHistory: t.field({
      type: [PnlPoint],
      description: `Equity and P&L over time at one resolution, oldest first; only intervals where the value was recorded (it is recorded at most once a second, while it changes). At most ${maxHistoryPoints} intervals per query; each interval it may return adds ${historyPointCost} to the operation's cost (MAX_COST), the whole cap when a variable sets the range.`,
      extensions: {
        ...analyticsExtension,
        ...costExtension((args, nowMs) => historyPointCost * historyPointsAtMost({ interval: intervalOf(args), from: boundOf(args, 'from'), to: boundOf(args, 'to') }, nowMs)),
      },
      args: {
        interval: t.arg({ type: PnlIntervalEnum, required: true, description: 'Resolution.' }),
        from: t.arg({ type: 'DateTime', description: 'Start. Default: 600 seconds, 1,440 minutes, 720 hours or 365 days before `to`.' }),
        to: t.arg({ type: 'DateTime', description: 'End. Default: now.' }),
        strategy: t.arg.string({ description: strategyArg }),
      },
      resolve: (p, { interval, from, to, strategy }, { services }) =>
        services.analytics.history(p.playerId, { interval, from: from ?? undefined, to: to ?? undefined, strategy: strategy ?? undefined }),
    }),
    pnlCalendar: t.field({
      type: [PnlDay],
      description: 'One row per day (UTC) of a month, up to today: P&L, trades, wins and losses.',
      extensions: analyticsExtension,
      args: {
        month: t.arg.string({ required: true, description: 'The month, "2026-11".' }),
        strategy: t.arg.string({ description: strategyArg }),
      },
      resolve: (p, { month, strategy }, { services }) => services.analytics.calendar(p.playerId, { month, strategy: strategy ?? undefined }),
    }),
    drawdown: t.field({
      type: Drawdown,
      description: `The largest peak-to-trough drop of equity in a period, and the current one. Computed over every recorded point of the period (up to about 137,000 for all time), so it adds up to ${drawdownCost} to the operation's cost (MAX_COST): all of it for all time or a range set by variables, its share by the rows it can scan for a shorter one.`,
      extensions: { ...analyticsExtension, ...costExtension((args, nowMs) => drawdownCostOf({ from: boundOf(args, 'from'), to: boundOf(args, 'to') }, nowMs)) },
      args: {
        from: t.arg({ type: 'DateTime', description: 'Start. Default: the first recording.' }),
        to: t.arg({ type: 'DateTime', description: 'End. Default: now, including the live value.' }),
        strategy: t.arg.string({ description: strategyArg }),
      },
      resolve: (p, { from, to, strategy }, { services }) =>
        services.analytics.drawdown(p.playerId, { from: from ?? undefined, to: to ?? undefined, strategy: strategy ?? undefined }),
    }),
  }),
});

builder.queryField('portfolio', (t) =>
  t.field({
    type: Portfolio,
    nullable: true,
    description: "The caller's portfolio; null when anonymous.",
    resolve: (_root, _args, { viewer, services }) => (viewer ? services.portfolios.portfolio(viewer.id) : null),
  }),
);

builder.mutationField('placeOrder', (t) =>
  t.field({
    type: Trade,
    description: `Buys or sells at the current price, under a strategy label. Fails with BAD_USER_INPUT (field \`quantity\`) without enough cash or shares (a SELL sells from that strategy's position), or (field \`strategy\`) for a bad label or a ${maxStrategiesPerPlayer + 1}st strategy.`,
    args: {
      symbol: t.arg.string({ required: true, description: 'Ticker symbol.' }),
      side: t.arg({ type: OrderSideEnum, required: true, description: 'Buy or sell.' }),
      quantity: t.arg.int({ required: true, description: 'Shares, at least 1.' }),
      strategy: t.arg.string({
        description: `Label of the strategy or bot placing the order: 1–40 characters of letters, digits, spaces, "_", "." and "-"; at most ${maxStrategiesPerPlayer} per player. Default "${defaultStrategy}".`,
      }),
      idempotencyKey: t.arg.string({
        description:
          'Makes retries safe: the first order with this key trades, and for 24 hours every later one from you with the same key returns that same trade without trading again (CONFLICT if it describes a different order). 1–64 letters, digits, "_", ".", ":" or "-"; a UUID fits. The typed client sets one on every order.',
      }),
    },
    resolve: (_root, args, { viewer, services }) => services.portfolios.placeOrder(authorize(viewer, 'trade').id, args),
  }),
);

builder.subscriptionField('portfolioChanged', (t) =>
  t.field({
    type: Portfolio,
    description:
      "The caller's portfolio after each of their trades, and when prices of held stocks move (at most one such update per coalescing window, 500 ms by default).",
    subscribe: (_root, _args, { viewer, services }) => services.live.portfolio.watch(authorize(viewer, 'trade').id),
    resolve: (portfolio) => portfolio,
  }),
);

builder.subscriptionField('pnlTicked', (t) =>
  t.field({
    type: PnlTick,
    description: "The caller's live P&L: at once, then once a second while anything changed (trades, moves of held stocks).",
    subscribe: (_root, _args, { viewer, services }) => services.live.pnl.watch(authorize(viewer, 'trade').id),
    resolve: (tick) => tick,
  }),
);

builder.subscriptionField('tradeExecuted', (t) =>
  t.field({
    type: Trade,
    description: "The caller's fills as they happen; with `after`, every fill after that cursor first (no gap, no duplicate).",
    args: { after: t.arg.string({ description: 'Replay every trade after this cursor first, then continue live.' }) },
    subscribe: (_root, { after }, { viewer, services }) => services.portfolios.tradeFeed(authorize(viewer, 'trade').id, after),
    // The log entry's cursor is the trade's cursor.
    resolve: (entry): TradeView => ({ ...entry.payload, cursor: entry.cursor }),
  }),
);
