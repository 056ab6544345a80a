import { sql } from 'kysely';
import { decodeCursor, type Append, type AppendItem, type EventLog } from '../events/event-log.js';
import { Streams } from '../events/topics.js';
import { apiError, ErrorCode, excerpt } from '../errors.js';
import type { Store, Tx } from '../store/store.js';
import type { Database } from '../store/database.js';
import { fromCents, roundMoney, toCents, validInt, validList, validNumber } from './validate.js';

/** Prices a game master may set, and the simulator never leaves. */
export const priceBounds = { min: 0.01, max: 1_000_000 } as const;
/** A single move of at least this fraction also posts a world event. */
export const bigMoveThreshold = 0.1;
/** How many price points each stock keeps. */
export const historyLength = 500;

/** A stock as the domain and the API see it: prices in currency units (the store keeps cents). */
export interface StockRow {
  symbol: string;
  name: string;
  price: number;
  openPrice: number;
  volume: number;
  updatedAt: string;
}

/** A stored stock (prices in integer cents) as a {@link StockRow}. */
export const fromStored = ({ priceCents, openPriceCents, ...rest }: Database['stocks']): StockRow => ({
  ...rest,
  price: fromCents(Number(priceCents)),
  openPrice: fromCents(Number(openPriceCents)),
});

/** A {@link StockRow} as stored: its prices (always whole cents) as exact integer cents. */
const toStored = ({ price, openPrice, ...rest }: StockRow): Database['stocks'] => ({ ...rest, priceCents: toCents(price), openPriceCents: toCents(openPrice) });

/** Change since the session open price. */
export function stockChange(stock: { price: number; openPrice: number }) {
  const change = roundMoney(stock.price - stock.openPrice);
  const changePercent = Math.round((change / stock.openPrice) * 10_000) / 100;
  return { change, changePercent };
}

export interface PriceChange {
  symbol: string;
  price: number;
}

export type Market = ReturnType<typeof createMarket>;

/** Stocks, prices and their history; no GraphQL in here. */
export function createMarket({ store, events }: { store: Store; events: EventLog }) {
  const market = {
    listStocks: async () => (await store.db.selectFrom('stocks').selectAll().orderBy('symbol').execute()).map(fromStored),

    getStock: async (symbol: string) => {
      const row = await store.db.selectFrom('stocks').selectAll().where('symbol', '=', symbol.toUpperCase()).executeTakeFirst();
      return row && fromStored(row);
    },

    /**
     * The `stockTicked` feed: ticks of `symbols` (case-insensitive, at most 50; all when
     * omitted), after the `after` cursor first when given. NOT_FOUND names
     * unknown symbols.
     */
    async ticks({ symbols, after }: { symbols?: readonly string[] | null; after?: string | null }) {
      const afterSeq = after ? decodeCursor(Streams.market, after) : undefined;
      let wanted: Set<string> | undefined;
      if (symbols) {
        wanted = new Set(validList('symbols', symbols, 50).map((s) => s.toUpperCase()));
        const known = new Set((await market.listStocks()).map((s) => s.symbol));
        const unknown = [...wanted].filter((s) => !known.has(s));
        if (unknown.length) throw apiError(ErrorCode.NotFound, `Unknown symbols: ${unknown.map(excerpt).join(', ')}.`, { field: 'symbols' });
      }
      return events.feed<'StockTicked'>({
        stream: Streams.market,
        afterSeq,
        shape: wanted ? `symbols=${[...wanted].sort().join(',')}` : 'all',
        filter: (e) => e.type === 'StockTicked' && (!wanted || wanted.has(e.payload.symbol)),
      });
    },

    async history(symbol: string, last = 50) {
      return (await market.histories([symbol], last)).get(symbol) ?? [];
    },

    /**
     * The newest `last` price points of each of `symbols`, oldest first, in
     * one query (a page of stocks asking for their history costs one read).
     */
    async histories(symbols: readonly string[], last = 50): Promise<Map<string, Array<{ price: number; at: string }>>> {
      validInt('last', last, 1, historyLength);
      const ranked = store.db
        .selectFrom('priceHistory')
        .select(['symbol', 'priceCents', 'at', 'id', sql<number>`row_number() over (partition by symbol order by id desc)`.as('recency')])
        .where('symbol', 'in', symbols);
      const rows = symbols.length
        ? await store.db.selectFrom(ranked.as('ranked')).select(['symbol', 'priceCents', 'at']).where('recency', '<=', last).orderBy('symbol').orderBy('id').execute()
        : [];
      const bySymbol = new Map<string, Array<{ price: number; at: string }>>(symbols.map((symbol) => [symbol, []]));
      for (const row of rows) bySymbol.get(row.symbol)?.push({ price: fromCents(Number(row.priceCents)), at: row.at });
      return bySymbol;
    },

    /**
     * Applies price changes inside a transaction: updates the stock, appends
     * history, a `StockTicked` event per change and a world event for a big
     * move. Every path that moves a price (simulator, game master, turn
     * effects) comes through here. Resolves with the row of each symbol of
     * `changes` as it is now, in symbol order.
     */
    async applyPriceChanges(
      tx: Tx,
      append: Append,
      changes: PriceChange[],
      volumeBySymbol: Record<string, number> = {},
      lockedRows?: readonly StockRow[],
    ): Promise<StockRow[]> {
      const now = new Date().toISOString();
      const symbols = [...new Set(changes.map((c) => c.symbol))].sort();
      // Every row is locked, in symbol order, by one statement before the
      // append takes the market stream's lock: taking them interleaved lets
      // two concurrent writers (the simulator and a resolving turn, on
      // PostgreSQL) deadlock. A caller that already locked them (the
      // simulator) passes them in.
      const rows =
        lockedRows ??
        (await store.lockForUpdate(tx.selectFrom('stocks').selectAll().where('symbol', 'in', symbols).orderBy('symbol')).execute()).map(fromStored);
      const locked = new Map(rows.map((row) => [row.symbol, row]));
      const missing = symbols.find((symbol) => !locked.has(symbol));
      if (missing !== undefined) throw apiError(ErrorCode.NotFound, `No stock with symbol ${excerpt(missing)}.`, { field: 'symbol' });

      const moved = new Map<string, StockRow>();
      const ticks: Array<AppendItem<'StockTicked'>> = [];
      const alerts: Array<AppendItem<'WorldEvent'>> = [];
      for (const { symbol, price: rawPrice } of changes) {
        const stock = locked.get(symbol)!;
        const price = roundMoney(Math.min(priceBounds.max, Math.max(priceBounds.min, rawPrice)));
        if (price === stock.price) continue;
        const row = { ...stock, price, volume: stock.volume + (volumeBySymbol[symbol] ?? 0), updatedAt: now };
        ticks.push({ type: 'StockTicked', payload: { symbol, price, ...stockChange(row) } });
        const alert = bigMoveAlert(stock, price);
        if (alert) alerts.push(alert);
        locked.set(symbol, row);
        moved.set(symbol, row);
      }
      if (moved.size) {
        // A handful of statements however many stocks move: one upsert of the
        // moved rows (every column known from the locked rows), one insert of
        // their history points, one append per stream.
        await tx
          .insertInto('stocks')
          .values([...moved.values()].map(toStored))
          .onConflict((oc) =>
            oc.column('symbol').doUpdateSet((eb) => ({
              priceCents: eb.ref('excluded.priceCents'),
              volume: eb.ref('excluded.volume'),
              updatedAt: eb.ref('excluded.updatedAt'),
            })),
          )
          .execute();
        await tx
          .insertInto('priceHistory')
          .values(ticks.map(({ payload }) => ({ symbol: payload.symbol, priceCents: toCents(payload.price), at: now })))
          .execute();
        await append.many(Streams.market, ticks);
        if (alerts.length) await append.many(Streams.world, alerts);
      }
      return symbols.map((symbol) => locked.get(symbol)!);
    },

    /** A game master's price: validated, then applied like any other move. */
    async setStockPrice(symbol: string, price: number) {
      validNumber('price', price, priceBounds.min, priceBounds.max);
      const normalized = symbol.toUpperCase();
      return events.transact(async (tx, append) => {
        const [row] = await market.applyPriceChanges(tx, append, [{ symbol: normalized, price }]);
        return row!;
      });
    },

    /** Keeps each stock's newest {@link historyLength} points. */
    async pruneHistory() {
      const stocks = await store.db.selectFrom('stocks').select('symbol').execute();
      for (const { symbol } of stocks) {
        const floor = await store.db
          .selectFrom('priceHistory')
          .select('id')
          .where('symbol', '=', symbol)
          .orderBy('id', 'desc')
          .offset(historyLength)
          .limit(1)
          .executeTakeFirst();
        if (floor) await store.db.deleteFrom('priceHistory').where('symbol', '=', symbol).where('id', '<=', floor.id).execute();
      }
    },
  };
  return market;
}

/**
 * The world event a move of `stock` to `price` posts: `market.crash` or
 * `market.surge` from a 10 % move ({@link bigMoveThreshold}), CRITICAL from
 * 25 %; none for a smaller one.
 */
function bigMoveAlert(stock: StockRow, price: number): AppendItem<'WorldEvent'> | undefined {
  const move = (price - stock.price) / stock.price;
  if (Math.abs(move) < bigMoveThreshold) return undefined;
  const percent = Math.round(move * 1000) / 10;
  return {
    type: 'WorldEvent',
    payload: {
      kind: move < 0 ? 'market.crash' : 'market.surge',
      message: `${stock.name} (${stock.symbol}) ${move < 0 ? 'plunges' : 'soars'} ${Math.abs(percent)}% to ${price}.`,
      severity: Math.abs(move) >= 0.25 ? 'CRITICAL' : 'WARNING',
    },
  };
}

/**
 * One step of the simulator's random walk for a stock: a normal move of about
 * 1% with a gentle pull back towards the open price, so prices wander without
 * running away. A price a game master set far from the open drifts back over
 * many ticks instead of snapping back (which would post a false crash).
 */
export function randomWalkStep(stock: { price: number; openPrice: number }, random: () => number = Math.random): number {
  const gaussian = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const drift = 0.002 * Math.log(stock.openPrice / stock.price);
  return stock.price * Math.exp(0.01 * gaussian + drift);
}

export interface SimulatorOptions {
  store: Store;
  market: Market;
  events: EventLog;
  /** Period in milliseconds; the simulator does nothing when it is 0. */
  periodMs: number;
  /** Where errors go; a failed tick is logged and the next one runs. */
  onError: (error: unknown) => void;
  /** Source of randomness. @default Math.random */
  random?: () => number;
}

/** Starts the market simulator; `dispose` stops it after the running tick. */
export function createMarketSimulator(options: SimulatorOptions) {
  const { store, market, events, periodMs, onError, random = Math.random } = options;
  let running: Promise<void> | undefined;
  const tick = async () => {
    await events.transact(async (tx, append) => {
      // Walk from the rows as locked in this transaction (symbol order, like
      // `applyPriceChanges`), so a price a game master set a moment ago is
      // walked from, not overwritten.
      const stocks = (await store.lockForUpdate(tx.selectFrom('stocks').selectAll().orderBy('symbol')).execute()).map(fromStored);
      await market.applyPriceChanges(
        tx,
        append,
        stocks.map((stock) => ({ symbol: stock.symbol, price: randomWalkStep(stock, random) })),
        Object.fromEntries(stocks.map((stock) => [stock.symbol, Math.floor(random() * 50)])),
        stocks,
      );
    });
  };
  // A tick that outlasts the period is not stacked behind: the next one is skipped.
  const timer =
    periodMs > 0
      ? setInterval(() => {
          running ??= tick()
            .catch(onError)
            .finally(() => (running = undefined));
        }, periodMs)
      : undefined;
  return {
    /** Runs one tick now (tests, leadership hand-over). */
    tick,
    async dispose() {
      clearInterval(timer);
      await running;
    },
  };
}
