/**
 * Market-maker bot: buys dips and sells rallies, within limits, and turns
 * cautious when the political winds shift.
 *
 * For each watched stock it keeps a reference price (an exponential moving
 * average of the ticks it has seen, starting at the current price):
 *
 * - **Buy** `lot` shares when the price is `dip`% or more below the
 *   reference, unless that would exceed `maxPosition` shares of the stock or
 *   leave less than `minCash` in cash, or the bot is cautious.
 * - **Sell** up to `lot` shares when the price is `rally`% or more above the
 *   average cost of the shares it holds.
 * - A faction influence shift of `cautionShift` points or more (either way)
 *   makes it cautious for `cautionMs`: no buying, selling still allowed.
 * - At most one order per stock per `cooldownMs`.
 *
 * It trades under its own strategy label (`--strategy`, default
 * "market-maker"), so its P&L is kept apart from the account's other trades,
 * and only sells what that strategy bought. Each time its P&L changes it
 * prints it (realized, unrealized) and its drawdown: how far its P&L is below
 * the highest it reached since it started.
 *
 * It needs a token that may trade: a BOT token with the `trade` scope
 * (`npm run token -- --role BOT --name market-maker --scope trade`) or a
 * GAME_MASTER's. Every decision is logged.
 *
 * Usage: npm run bot:market-maker -- [--symbols IRON,GOLD] [--lot 10] [--dip 2] [--rally 2] [--strategy market-maker]
 */
import { CombinedGraphQLErrors } from '@apollo/client';
import type { OrderSide } from '../generated/graphql.js';
import {
  FactionInfluenceDocument,
  MarketTickerDocument,
  PlaceOrderDocument,
  PnlTickedDocument,
  PortfolioChangedDocument,
  PortfolioDocument,
  StocksDocument,
} from '../generated/graphql.js';
import type { RealmcastClient } from '../index.js';
import { connect, connectionUsage, isMain, list, log, numberFlag, parseCommandLine, untilSignal } from './cli.js';

/** The rule's parameters. */
export interface MarketMakerRules {
  /** Shares per order. @default 10 */
  lot?: number;
  /** Buy when the price is this many percent below the reference. @default 2 */
  dipPercent?: number;
  /** Sell when the price is this many percent above the average cost. @default 2 */
  rallyPercent?: number;
  /** Never hold more shares of one stock than this. @default 100 */
  maxPosition?: number;
  /** Never let cash drop below this by buying. @default 1_000 */
  minCash?: number;
  /** Weight of a new tick in the reference price (exponential moving average). @default 0.2 */
  smoothing?: number;
}

/** What the bot knows about one stock when a tick arrives. */
export interface Situation {
  price: number;
  /** Reference price before this tick. */
  reference: number;
  /** Shares held and their average cost. */
  position: { quantity: number; averageCost: number };
  cash: number;
  /** A big faction shift happened recently: no buying. */
  cautious: boolean;
}

export interface Decision {
  side: OrderSide;
  quantity: number;
  reason: string;
}

/** The rule itself, without I/O: what to do about one tick (null: nothing). */
export function decide(situation: Situation, rules: MarketMakerRules = {}): Decision | null {
  const { lot = 10, dipPercent = 2, rallyPercent = 2, maxPosition = 100, minCash = 1_000 } = rules;
  const { price, reference, position, cash, cautious } = situation;
  const fromReference = ((price - reference) / reference) * 100;
  if (position.quantity > 0) {
    const fromCost = ((price - position.averageCost) / position.averageCost) * 100;
    if (fromCost >= rallyPercent) {
      return { side: 'SELL', quantity: Math.min(lot, position.quantity), reason: `rally: ${fromCost.toFixed(1)}% above cost ${position.averageCost.toFixed(2)}` };
    }
  }
  if (fromReference <= -dipPercent) {
    const quantity = Math.min(lot, maxPosition - position.quantity, Math.floor((cash - minCash) / price));
    if (cautious) return null;
    if (quantity <= 0) return null;
    return { side: 'BUY', quantity, reason: `dip: ${fromReference.toFixed(1)}% below reference ${reference.toFixed(2)}` };
  }
  return null;
}

export interface MarketMakerOptions extends MarketMakerRules {
  /** The client to trade with; its token must allow trading (the bot does not dispose it). */
  realm: RealmcastClient;
  /** Stocks to trade. @default undefined (all) */
  symbols?: string[];
  /** A faction shift of at least this many points (either way) makes the bot cautious. @default 10 */
  cautionShift?: number;
  /** How long caution lasts. @default 30_000 // 30 seconds */
  cautionMs?: number;
  /** Minimum time between two orders for the same stock. @default 5_000 // 5 seconds */
  cooldownMs?: number;
  /** Strategy label of its orders (1–40 characters of letters, digits, space, `_`, `.`, `-`). @default 'market-maker' */
  strategy?: string;
  /** @default log (timestamped stdout) */
  logger?: (message: string) => void;
}

/** The bot's P&L line: its strategy's total, realized and unrealized P&L, and drawdown from its best. */
export function formatPnl(strategy: string, pnl: { totalPnl: number; realizedPnl: number; unrealizedPnl: number }, peak: number): string {
  const money = (value: number) => `${value < 0 ? '-' : '+'}${Math.abs(value).toFixed(2)}`;
  return `P&L ${strategy}: ${money(pnl.totalPnl)} (realized ${money(pnl.realizedPnl)}, unrealized ${money(pnl.unrealizedPnl)}), drawdown ${Math.max(0, peak - pnl.totalPnl).toFixed(2)} from best ${money(peak)}`;
}

export interface MarketMaker {
  /** Reads prices and the portfolio, then starts watching ticks and factions. */
  start(): Promise<void>;
  stop(): void;
}

export function createMarketMaker(options: MarketMakerOptions): MarketMaker {
  const { realm, symbols, cautionShift = 10, cautionMs = 30_000, cooldownMs = 5_000, smoothing = 0.2, strategy = 'market-maker', logger = log } = options;
  const { client } = realm;
  const references = new Map<string, number>();
  const positions = new Map<string, { quantity: number; averageCost: number }>();
  const lastOrderAt = new Map<string, number>();
  const pending = new Set<string>();
  let cash = 0;
  let cautiousUntil = 0;
  let peakPnl = 0;
  let lastPnl: number | undefined;
  const subscriptions: Array<{ unsubscribe(): void }> = [];

  type Holding = { symbol: string; quantity: number; averageCost: number };
  // Cash is the account's; positions are this strategy's only (a SELL sells from them).
  const applyPortfolio = (portfolio: { cash: number; strategies: Array<{ strategy: string; positions: Holding[] }> }) => {
    cash = portfolio.cash;
    positions.clear();
    const mine = portfolio.strategies.find((s) => s.strategy === strategy);
    for (const p of mine?.positions ?? []) positions.set(p.symbol, { quantity: p.quantity, averageCost: p.averageCost });
  };

  const onTick = async (tick: { symbol: string; price: number }) => {
    const reference = references.get(tick.symbol) ?? tick.price;
    references.set(tick.symbol, reference + smoothing * (tick.price - reference));
    if (pending.has(tick.symbol) || Date.now() - (lastOrderAt.get(tick.symbol) ?? 0) < cooldownMs) return;
    const decision = decide(
      {
        price: tick.price,
        reference,
        position: positions.get(tick.symbol) ?? { quantity: 0, averageCost: 0 },
        cash,
        cautious: Date.now() < cautiousUntil,
      },
      options,
    );
    if (!decision) return;
    pending.add(tick.symbol);
    lastOrderAt.set(tick.symbol, Date.now());
    try {
      const { data } = await client.mutate({
        mutation: PlaceOrderDocument,
        variables: { symbol: tick.symbol, side: decision.side, quantity: decision.quantity, strategy },
      });
      const trade = data!.placeOrder;
      logger(`${trade.side} ${trade.quantity} ${trade.symbol} @ ${trade.price.toFixed(2)} (${decision.reason})`);
      // The portfolio subscription brings the new cash and positions; until then, account for it here.
      const signed = trade.side === 'BUY' ? trade.quantity : -trade.quantity;
      const held = positions.get(trade.symbol) ?? { quantity: 0, averageCost: 0 };
      const quantity = held.quantity + signed;
      const averageCost = signed > 0 ? (held.quantity * held.averageCost + trade.quantity * trade.price) / quantity : held.averageCost;
      positions.set(trade.symbol, { quantity, averageCost });
      cash -= signed * trade.price;
    } catch (error) {
      const code = CombinedGraphQLErrors.is(error) ? error.errors[0]?.extensions?.code : undefined;
      logger(`order ${decision.side} ${decision.quantity} ${tick.symbol} failed${code ? ` (${code})` : ''}: ${(error as Error).message}`);
    } finally {
      pending.delete(tick.symbol);
    }
  };

  return {
    async start() {
      const [{ data: market }, { data: mine }] = await Promise.all([
        client.query({ query: StocksDocument, fetchPolicy: 'network-only' }),
        client.query({ query: PortfolioDocument, fetchPolicy: 'network-only' }),
      ]);
      if (!mine?.portfolio) throw new Error('No portfolio: the token must belong to a player allowed to trade (BOT with scope "trade", or GAME_MASTER).');
      applyPortfolio(mine.portfolio);
      for (const stock of market?.stocks ?? []) references.set(stock.symbol, stock.price);
      logger(`trading ${symbols?.join(', ') ?? 'every stock'} as "${strategy}" with ${cash.toFixed(2)} cash`);

      subscriptions.push(
        client.subscribe({ query: MarketTickerDocument, variables: { symbols } }).subscribe(({ data, error }) => {
          if (error) logger(`ticker failed: ${error.message}`);
          else if (data) void onTick(data.stockTicked);
        }),
        client.subscribe({ query: PortfolioChangedDocument }).subscribe(({ data }) => {
          if (data) applyPortfolio(data.portfolioChanged);
        }),
        client.subscribe({ query: PnlTickedDocument }).subscribe(({ data, error }) => {
          if (error) return logger(`P&L feed failed: ${error.message}`);
          const mine = data?.pnlTicked.strategies.find((s) => s.strategy === strategy);
          if (!mine || mine.totalPnl === lastPnl) return;
          lastPnl = mine.totalPnl;
          peakPnl = Math.max(peakPnl, mine.totalPnl);
          logger(formatPnl(strategy, mine, peakPnl));
        }),
        client.subscribe({ query: FactionInfluenceDocument }).subscribe(({ data, error }) => {
          if (error) return logger(`faction feed failed: ${error.message}`);
          const change = data?.factionInfluenceChanged;
          if (!change || Math.abs(change.delta) < cautionShift) return;
          cautiousUntil = Date.now() + cautionMs;
          logger(`${change.faction.name} ${change.delta > 0 ? '+' : ''}${change.delta} (${change.reason}): no buying for ${cautionMs / 1000} s`);
        }),
      );
    },
    stop() {
      for (const subscription of subscriptions.splice(0)) subscription.unsubscribe();
    },
  };
}

const usage = `Market maker: buys dips and sells rallies within limits; pauses buying after big faction shifts.

Usage: npm run bot:market-maker -- [options]

  --symbols <A,B>     Stocks to trade (default: all)
  --lot <n>           Shares per order (default 10)
  --dip <pct>         Buy this far below the moving average (default 2)
  --rally <pct>       Sell this far above average cost (default 2)
  --max-position <n>  Max shares per stock (default 100)
  --min-cash <n>      Cash never spent (default 1000)
  --caution <points>  Faction shift that pauses buying (default 10)
  --strategy <name>   Strategy label of its orders (default market-maker)

Needs a token that may trade: a BOT token with scope "trade" or a GAME_MASTER token.

${connectionUsage}`;

async function main() {
  const values = parseCommandLine(
    {
      symbols: { type: 'string' },
      lot: { type: 'string' },
      dip: { type: 'string' },
      rally: { type: 'string' },
      'max-position': { type: 'string' },
      'min-cash': { type: 'string' },
      caution: { type: 'string' },
      strategy: { type: 'string' },
    },
    usage,
  );
  if (!(values.token ?? process.env.REALMCAST_TOKEN)) {
    // Without a token the server would only say there is no portfolio: say what is missing.
    console.error(
      'No token: the market maker trades, so it needs a token that may trade. For example:\n' +
        '  REALMCAST_TOKEN=$(npm run -s token -- --role BOT --name market-maker --scope trade) npm run bot:market-maker',
    );
    process.exit(2);
  }
  const realm = connect(values);
  const bot = createMarketMaker({
    realm,
    symbols: list(values.symbols, (s) => s.toUpperCase()),
    lot: numberFlag(values.lot, 10, 'lot'),
    dipPercent: numberFlag(values.dip, 2, 'dip'),
    rallyPercent: numberFlag(values.rally, 2, 'rally'),
    maxPosition: numberFlag(values['max-position'], 100, 'max-position'),
    minCash: numberFlag(values['min-cash'], 1_000, 'min-cash'),
    cautionShift: numberFlag(values.caution, 10, 'caution'),
    strategy: values.strategy,
  });
  try {
    await bot.start();
  } catch (error) {
    console.error((error as Error).message);
    await realm.dispose();
    process.exit(1);
  }
  await untilSignal();
  bot.stop();
  await realm.dispose();
}

if (isMain(import.meta.url)) await main();
