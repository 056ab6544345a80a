import { randomUUID } from 'node:crypto';
import { everyone, Streams, type PositionView, type StrategyView, type TradeRef } from '../events/topics.js';
import { decodeCursor, encodeCursor, type Append, type EventLog } from '../events/event-log.js';
import type { RealmPubSub } from '../events/pubsub.js';
import { apiError, badInput, ErrorCode, excerpt } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Database, Db, Store, Tx } from '../store/store.js';
import { writeSeries } from './pnl-series.js';
import { fromCents, toCents, validInt, validStrategy } from './validate.js';

/** Cash every new portfolio starts with. */
export const startingCash = 10_000;
/** {@link startingCash} in cents. */
export const startingCashCents = toCents(startingCash);
/** Largest quantity one order may trade. */
export const maxOrderQuantity = 1_000_000;
/** The strategy of an order that names none. */
export const defaultStrategy = 'manual';
/** How many distinct strategies one player may trade under (each costs a P&L series). */
export const maxStrategiesPerPlayer = 20;
/** Most trades one `trades(last:)` page returns. */
export const maxTradesPage = 500;
/** Trades per page when `last` is not given. */
export const defaultTradesPage = 50;
/** How many players one batch valuation reads at once (keeps `IN (…)` lists small). */
const valuationChunk = 500;

export type OrderSide = 'BUY' | 'SELL';

/** An order as `placeOrder` receives it; new optional fields go here. */
export interface OrderInput {
  symbol: string;
  side: OrderSide;
  quantity: number;
  /** Strategy label; {@link defaultStrategy} when omitted. */
  strategy?: string | null;
  /**
   * Makes retries safe: the first order with this key from this player
   * trades, every later one returns that trade (for {@link orderKeyRetentionMs}).
   */
  idempotencyKey?: string | null;
}

/** How long an order's idempotency key is remembered. */
export const orderKeyRetentionMs = 86_400_000; // 24 hours
/** What an idempotency key may look like (a UUID fits). */
const idempotencyKeyPattern = /^[A-Za-z0-9_.:-]{1,64}$/;

/** A filled order with its position in the player's trade stream. */
export type TradeView = TradeRef & { cursor: string };

export interface PortfolioView {
  playerId: string;
  cash: number;
  positions: PositionView[];
  realizedPnl: number;
  unrealizedPnl: number;
  totalValue: number;
  /** Total value minus starting cash. */
  totalPnl: number;
  strategies: StrategyView[];
}

/** A held position valued at the current price, in cents. */
interface PositionValue {
  symbol: string;
  quantity: number;
  costCents: number;
  valueCents: number;
}

/** One strategy's state in cents. */
export interface StrategyValue {
  strategy: string;
  realizedCents: number;
  trades: number;
  wins: number;
  losses: number;
  positions: PositionValue[];
}

/** A player's account valued at current prices, in exact cents: what every P&L figure is computed from. */
export interface Valuation {
  playerId: string;
  cashCents: number;
  strategies: StrategyValue[];
}

/** The series key of a whole account (never a valid strategy name). */
export const wholeAccount = '*';

/**
 * P&L in cents of the whole account (`wholeAccount`) or of one strategy:
 * realized plus market value minus cost of what is held. For the whole
 * account that equals total value minus starting cash, because cash only
 * ever moves by trades.
 */
export function pnlCents(valuation: Valuation, strategy: string = wholeAccount): number {
  let sum = 0;
  for (const s of valuation.strategies) {
    if (strategy !== wholeAccount && s.strategy !== strategy) continue;
    sum += s.realizedCents;
    for (const p of s.positions) sum += p.valueCents - p.costCents;
  }
  return sum;
}

const unrealizedCents = (positions: PositionValue[]) => positions.reduce((sum, p) => sum + p.valueCents - p.costCents, 0);

const positionView = (p: PositionValue): PositionView => ({
  symbol: p.symbol,
  quantity: p.quantity,
  averageCost: p.costCents / p.quantity / 100,
  marketValue: fromCents(p.valueCents),
  unrealizedPnl: fromCents(p.valueCents - p.costCents),
});

/** The API view of one strategy. */
export function strategyView(s: StrategyValue): StrategyView {
  const unrealized = unrealizedCents(s.positions);
  return {
    strategy: s.strategy,
    realizedPnl: fromCents(s.realizedCents),
    unrealizedPnl: fromCents(unrealized),
    totalPnl: fromCents(s.realizedCents + unrealized),
    trades: s.trades,
    wins: s.wins,
    losses: s.losses,
    winRate: s.wins + s.losses > 0 ? s.wins / (s.wins + s.losses) : null,
    positions: s.positions.map(positionView),
  };
}

/** The API view of a valuation: strategies as they are, positions summed per symbol over strategies. */
export function portfolioView(valuation: Valuation): PortfolioView {
  const bySymbol = new Map<string, PositionValue>();
  for (const s of valuation.strategies) {
    for (const p of s.positions) {
      const sum = bySymbol.get(p.symbol) ?? { symbol: p.symbol, quantity: 0, costCents: 0, valueCents: 0 };
      bySymbol.set(p.symbol, { ...sum, quantity: sum.quantity + p.quantity, costCents: sum.costCents + p.costCents, valueCents: sum.valueCents + p.valueCents });
    }
  }
  const positions = [...bySymbol.values()].sort((a, b) => a.symbol.localeCompare(b.symbol));
  const held = positions.reduce((sum, p) => sum + p.valueCents, 0);
  const realized = valuation.strategies.reduce((sum, s) => sum + s.realizedCents, 0);
  return {
    playerId: valuation.playerId,
    cash: fromCents(valuation.cashCents),
    positions: positions.map(positionView),
    realizedPnl: fromCents(realized),
    unrealizedPnl: fromCents(unrealizedCents(positions)),
    totalValue: fromCents(valuation.cashCents + held),
    totalPnl: fromCents(valuation.cashCents + held - startingCashCents),
    strategies: valuation.strategies.map(strategyView),
  };
}

/** Cost basis of `sold` of `held` shares that cost `costCents` in all, rounded half up to the cent, exact (bigint). */
function costOfSale(costCents: number, held: number, sold: number): number {
  if (sold === held) return costCents;
  const scaled = BigInt(costCents) * BigInt(sold) * 2n + BigInt(held);
  return Number(scaled / (2n * BigInt(held)));
}

/**
 * Values many players in three queries (accounts, strategies, positions
 * joined with current prices): a market move that changes a thousand
 * portfolios costs a few batch reads, not a read per player.
 */
export async function valuePlayers(db: Db, playerIds: readonly string[]): Promise<Map<string, Valuation>> {
  const result = new Map<string, Valuation>();
  for (const id of playerIds) result.set(id, { playerId: id, cashCents: startingCashCents, strategies: [] });
  for (let start = 0; start < playerIds.length; start += valuationChunk) {
    const ids = playerIds.slice(start, start + valuationChunk);
    const [accounts, strategies, positions] = await Promise.all([
      db.selectFrom('accounts').select(['playerId', 'cashCents']).where('playerId', 'in', ids).execute(),
      db.selectFrom('strategies').selectAll().where('playerId', 'in', ids).orderBy('playerId').orderBy('strategy').execute(),
      db
        .selectFrom('positions')
        .innerJoin('stocks', 'stocks.symbol', 'positions.symbol')
        .select(['positions.playerId', 'positions.strategy', 'positions.symbol', 'positions.quantity', 'positions.costCents', 'stocks.priceCents'])
        .where('positions.playerId', 'in', ids)
        .orderBy('positions.symbol')
        .execute(),
    ]);
    for (const a of accounts) result.get(a.playerId)!.cashCents = Number(a.cashCents);
    const byKey = new Map<string, StrategyValue>();
    for (const s of strategies) {
      const value: StrategyValue = {
        strategy: s.strategy,
        realizedCents: Number(s.realizedCents),
        trades: s.trades,
        wins: s.wins,
        losses: s.losses,
        positions: [],
      };
      result.get(s.playerId)!.strategies.push(value);
      byKey.set(`${s.playerId}\u0000${s.strategy}`, value);
    }
    for (const p of positions) {
      // Every position has its strategy row (placeOrder writes both); the fallback covers hand-edited data.
      let owner = byKey.get(`${p.playerId}\u0000${p.strategy}`);
      if (!owner) {
        owner = { strategy: p.strategy, realizedCents: 0, trades: 0, wins: 0, losses: 0, positions: [] };
        result.get(p.playerId)!.strategies.push(owner);
        byKey.set(`${p.playerId}\u0000${p.strategy}`, owner);
      }
      owner.positions.push({ symbol: p.symbol, quantity: p.quantity, costCents: Number(p.costCents), valueCents: p.quantity * Number(p.priceCents) });
    }
  }
  return result;
}

/** A row of `trades` as the API shows it. */
function tradeView({ seq, ...row }: Database['trades']): TradeView {
  return {
    ...row,
    side: row.side as OrderSide,
    priceCents: Number(row.priceCents),
    realizedCents: Number(row.realizedCents),
    cursor: encodeCursor(Streams.trades(row.playerId), seq),
  };
}

/** An order after validation: what is filled, and what a retry under the same key must repeat. */
interface ValidOrder {
  symbol: string;
  side: OrderSide;
  quantity: number;
  strategy: string;
  /** The symbol as the caller wrote it (for the error naming it). */
  asked: string;
}

/** Checks an order's fields (quantity, strategy, idempotency key) before anything is read. */
function validOrder(order: OrderInput): ValidOrder {
  const quantity = validInt('quantity', order.quantity, 1, maxOrderQuantity);
  const strategy = validStrategy(order.strategy ?? defaultStrategy);
  const key = order.idempotencyKey;
  if (key != null && !idempotencyKeyPattern.test(key)) {
    throw badInput('idempotencyKey', '"idempotencyKey" must be 1–64 letters, digits, "_", ".", ":" or "-" (a UUID fits).');
  }
  return { symbol: order.symbol.toUpperCase(), side: order.side, quantity, strategy, asked: order.symbol };
}

/**
 * Claims the player's idempotency `key` for this order, first in its
 * transaction. Resolves undefined when the key was free (this order goes on
 * to fill; its trade is written to the key after), or with the trade of the
 * earlier order that holds it, which must be the same order (else
 * CONFLICT). Claiming first serializes retries: on PostgreSQL a concurrent
 * claim of the same key waits for this transaction, then finds the key
 * taken and returns its trade; if this one rolls back, the key is free again.
 */
async function claimOrderKey(tx: Tx, playerId: string, key: string, order: ValidOrder, clock: () => number): Promise<TradeView | undefined> {
  const claimed = await tx
    .insertInto('orderKeys')
    .values({ playerId, key, tradeId: '', at: new Date(clock()).toISOString() })
    .onConflict((oc) => oc.columns(['playerId', 'key']).doNothing())
    .returning('key')
    .executeTakeFirst();
  if (claimed) return undefined;
  const { tradeId } = await tx.selectFrom('orderKeys').select('tradeId').where('playerId', '=', playerId).where('key', '=', key).executeTakeFirstOrThrow();
  const first = await tx.selectFrom('trades').selectAll().where('id', '=', tradeId).executeTakeFirstOrThrow();
  if (first.symbol !== order.symbol || first.side !== order.side || first.quantity !== order.quantity || first.strategy !== order.strategy) {
    throw apiError(ErrorCode.Conflict, 'This idempotencyKey was used for a different order.', { field: 'idempotencyKey' });
  }
  return tradeView(first);
}

/** What filling an order works with: the store (dialect, row locks), its transaction and the time of trades. */
interface FillContext {
  store: Store;
  tx: Tx;
  append: Append;
  clock: () => number;
}

// A new account or strategy starts its P&L series at 0 in the same
// transaction, so the value before its first trade is known exactly (the
// recorder only sees values after trades and moves).
const startSeries = ({ store, tx }: FillContext, playerId: string, strategy: string, atMs: number) =>
  writeSeries(tx, store.dialect, [{ playerId, strategy, pnlCents: 0, atMs }]);

/** The player's account, created with {@link startingCash} on their first trade, locked for this transaction. */
async function ensureAccount(context: FillContext, playerId: string, atMs: number) {
  const { store, tx } = context;
  const created = await tx.insertInto('accounts').values({ playerId, cashCents: startingCashCents }).onConflict((oc) => oc.doNothing()).executeTakeFirst();
  if (Number(created.numInsertedOrUpdatedRows ?? 0) > 0) await startSeries(context, playerId, wholeAccount, atMs);
  const account = await store.lockForUpdate(tx.selectFrom('accounts').selectAll().where('playerId', '=', playerId)).executeTakeFirstOrThrow();
  return { cashCents: Number(account.cashCents) };
}

/** The strategy's row, created on its first trade (within the per-player limit). */
async function ensureStrategy(context: FillContext, playerId: string, strategy: string, atMs: number) {
  const { tx } = context;
  const row = await tx.selectFrom('strategies').selectAll().where('playerId', '=', playerId).where('strategy', '=', strategy).executeTakeFirst();
  if (row) return row;
  const { count } = await tx
    .selectFrom('strategies')
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .where('playerId', '=', playerId)
    .executeTakeFirstOrThrow();
  if (Number(count) >= maxStrategiesPerPlayer) {
    throw badInput('strategy', `You already trade under ${maxStrategiesPerPlayer} strategies, the most one player may use; reuse one of them.`);
  }
  const fresh = { playerId, strategy, realizedCents: 0, trades: 0, wins: 0, losses: 0 };
  await tx.insertInto('strategies').values(fresh).execute();
  await startSeries(context, playerId, strategy, atMs);
  return fresh;
}

/**
 * Fills `order` at the current price inside the caller's transaction: cash,
 * the strategy's position and cost basis, realized P&L, stock volume, the
 * trade record and its entry in the player's trade stream. Resolves with the
 * trade; throws (and the caller's transaction rolls back) for an unknown
 * symbol, too few shares or too little cash.
 */
async function fillOrder(context: FillContext, playerId: string, order: ValidOrder): Promise<TradeView> {
  const { store, tx, append, clock } = context;
  const { symbol, side, quantity, strategy } = order;
  const stock = await store.lockForUpdate(tx.selectFrom('stocks').selectAll().where('symbol', '=', symbol)).executeTakeFirst();
  if (!stock) throw apiError(ErrorCode.NotFound, `No stock with symbol ${excerpt(order.asked)}.`, { field: 'symbol' });
  const atMs = clock();
  const account = await ensureAccount(context, playerId, atMs);
  const position = await tx
    .selectFrom('positions')
    .select(['quantity', 'costCents'])
    .where('playerId', '=', playerId)
    .where('strategy', '=', strategy)
    .where('symbol', '=', symbol)
    .executeTakeFirst();
  const held = position?.quantity ?? 0;
  const costCents = Number(position?.costCents ?? 0);
  const priceCents = Number(stock.priceCents);
  const amountCents = priceCents * quantity;
  if (side === 'SELL' && quantity > held) {
    throw badInput('quantity', `Not enough shares: strategy "${strategy}" holds ${held} ${symbol}, tried to sell ${quantity}.`);
  }
  const book = await ensureStrategy(context, playerId, strategy, atMs);

  let realizedCents = 0;
  if (side === 'BUY') {
    if (amountCents > account.cashCents) {
      throw badInput('quantity', `Not enough cash: ${quantity} ${symbol} cost ${fromCents(amountCents)}, you have ${fromCents(account.cashCents)}.`);
    }
    await tx
      .insertInto('positions')
      .values({ playerId, strategy, symbol, quantity: held + quantity, costCents: costCents + amountCents })
      .onConflict((oc) => oc.columns(['playerId', 'strategy', 'symbol']).doUpdateSet({ quantity: held + quantity, costCents: costCents + amountCents }))
      .execute();
    await tx.updateTable('accounts').set({ cashCents: account.cashCents - amountCents }).where('playerId', '=', playerId).execute();
  } else {
    const soldCost = costOfSale(costCents, held, quantity);
    realizedCents = amountCents - soldCost;
    if (quantity === held) {
      await tx.deleteFrom('positions').where('playerId', '=', playerId).where('strategy', '=', strategy).where('symbol', '=', symbol).execute();
    } else {
      await tx
        .updateTable('positions')
        .set({ quantity: held - quantity, costCents: costCents - soldCost })
        .where('playerId', '=', playerId)
        .where('strategy', '=', strategy)
        .where('symbol', '=', symbol)
        .execute();
    }
    await tx.updateTable('accounts').set({ cashCents: account.cashCents + amountCents }).where('playerId', '=', playerId).execute();
  }
  await tx
    .updateTable('strategies')
    .set({
      realizedCents: Number(book.realizedCents) + realizedCents,
      trades: book.trades + 1,
      wins: book.wins + (realizedCents > 0 ? 1 : 0),
      losses: book.losses + (realizedCents < 0 ? 1 : 0),
    })
    .where('playerId', '=', playerId)
    .where('strategy', '=', strategy)
    .execute();
  await tx.updateTable('stocks').set({ volume: stock.volume + quantity }).where('symbol', '=', symbol).execute();
  const record: TradeRef = {
    id: randomUUID(),
    playerId,
    symbol,
    side,
    quantity,
    priceCents,
    strategy,
    realizedCents,
    at: new Date(atMs).toISOString(),
  };
  const entry = await append(Streams.trades(playerId), 'TradeExecuted', record);
  await tx.insertInto('trades').values({ ...record, seq: entry.seq }).execute();
  return { ...record, cursor: encodeCursor(entry.stream, entry.seq) };
}

export type Portfolios = ReturnType<typeof createPortfolios>;

/** Orders, portfolios and the trade log; no GraphQL in here. */
export function createPortfolios({
  store,
  events,
  pubsub,
  logger,
  clock = Date.now,
}: {
  store: Store;
  events: EventLog;
  pubsub: RealmPubSub;
  logger: Logger;
  /** Time of trades, in epoch milliseconds. @default Date.now */
  clock?: () => number;
}) {
  const portfolios = {
    /** The player's portfolio valued at current prices (a fresh one holds only starting cash). */
    async portfolio(playerId: string): Promise<PortfolioView> {
      return portfolioView((await valuePlayers(store.db, [playerId])).get(playerId)!);
    },

    /** Symbols the player holds (to know which ticks move their portfolio). */
    async heldSymbols(playerId: string): Promise<Set<string>> {
      const rows = await store.db.selectFrom('positions').select('symbol').where('playerId', '=', playerId).execute();
      return new Set(rows.map((r) => r.symbol));
    },

    /**
     * Fills an order at the current price in one transaction: cash, the
     * strategy's position and cost basis, realized P&L, stock volume, the
     * trade record and its entry in the player's trade stream change together
     * or not at all. All money is integer cents. With an idempotency key, the
     * key is claimed first ({@link claimOrderKey}); an order whose key an
     * earlier one holds returns that order's trade and changes nothing.
     */
    async placeOrder(playerId: string, input: OrderInput): Promise<TradeView> {
      const order = validOrder(input);
      const { idempotencyKey: key } = input;
      const outcome = await events.transact(async (tx, append): Promise<{ trade: TradeView; replayed: boolean }> => {
        if (key != null) {
          const earlier = await claimOrderKey(tx, playerId, key, order, clock);
          if (earlier) return { trade: earlier, replayed: true };
        }
        const trade = await fillOrder({ store, tx, append, clock }, playerId, order);
        if (key != null) await tx.updateTable('orderKeys').set({ tradeId: trade.id }).where('playerId', '=', playerId).where('key', '=', key).execute();
        return { trade, replayed: false };
      });
      const { trade } = outcome;
      // A retried order changed nothing: nothing to tell.
      if (outcome.replayed) return trade;
      // The trade is committed: a failed notice (Redis away) must not turn it into an error the client retries.
      const notify = (what: string, sent: Promise<void>) => sent.catch((error: unknown) => logger.error({ err: error, playerId }, `${what} publish failed`));
      await Promise.all([
        notify('portfolioChanged', pubsub.publish('portfolioChanged', playerId, { playerId })),
        notify('playerTraded', pubsub.publish('playerTraded', everyone, { playerId, strategy: trade.strategy })),
      ]);
      return trade;
    },

    /**
     * The player's trades, newest first: at most `last`; with `after`, only
     * trades newer than that cursor; with `before`, only older ones (paging
     * back through the log).
     */
    async trades(playerId: string, options: { last?: number; after?: string; before?: string } = {}): Promise<TradeView[]> {
      const { last = defaultTradesPage, after, before } = options;
      validInt('last', last, 1, maxTradesPage);
      const stream = Streams.trades(playerId);
      let query = store.db.selectFrom('trades').selectAll().where('playerId', '=', playerId);
      if (after !== undefined) query = query.where('seq', '>', decodeCursor(stream, after, 'after'));
      if (before !== undefined) query = query.where('seq', '<', decodeCursor(stream, before, 'before'));
      const rows = await query.orderBy('seq', 'desc').limit(last).execute();
      return rows.map(tradeView);
    },

    /** The `tradeExecuted` feed: the player's fills, after the `after` cursor first when given. */
    tradeFeed(playerId: string, after?: string | null) {
      const stream = Streams.trades(playerId);
      return events.feed<'TradeExecuted'>({
        stream,
        afterSeq: after ? decodeCursor(stream, after) : undefined,
        // The stream is the player's own: its subscribers are that player.
        shape: 'owner',
        filter: (e) => e.type === 'TradeExecuted',
      });
    },

    /** Forgets idempotency keys older than {@link orderKeyRetentionMs} (housekeeping). */
    async pruneOrderKeys() {
      await store.db.deleteFrom('orderKeys').where('at', '<', new Date(clock() - orderKeyRetentionMs).toISOString()).execute();
    },

    /** Values players' portfolios in one batch read (what `portfolioChanged` sends). */
    async portfolios(playerIds: readonly string[]): Promise<Map<string, PortfolioView>> {
      return new Map([...(await valuePlayers(store.db, playerIds))].map(([id, valuation]) => [id, portfolioView(valuation)]));
    },
  };
  return portfolios;
}
