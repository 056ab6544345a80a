/**
 * The latest price of every stock as the bot knows it: read from `stocks` at
 * start (and when a symbol is unknown), then kept current by `stockTicked`.
 * A row only moves forward in time: a replayed tick older than the prices
 * read changes nothing.
 */
import type { MarketTickerSubscription, StocksQuery } from '../../generated/graphql.js';
import type { StockRow } from './format.js';

/** The latest price of every stock, kept current by the ticker. */
export interface MarketTable {
  rows(): StockRow[];
  /** When the latest applied tick happened (epoch ms). */
  updatedAt(): number | undefined;
  get(symbol: string): StockRow | undefined;
  symbols(): string[];
}

/** The table with the two ways it is written. */
export interface WritableMarketTable extends MarketTable {
  /** Applies a tick unless the row is newer; returns whether it changed the table. */
  applyTick(tick: MarketTickerSubscription['stockTicked']): boolean;
  /** Applies the stocks as read (each unless its row is newer); leaves `updatedAt` alone. */
  applyStocks(stocks: StocksQuery['stocks']): void;
}

type Row = StockRow & { at: number };

export function createMarketTable(): WritableMarketTable {
  const rows = new Map<string, Row>();
  let updatedAt: number | undefined;
  return {
    rows: () => [...rows.values()],
    updatedAt: () => updatedAt,
    get: (symbol) => rows.get(symbol),
    symbols: () => [...rows.keys()],
    applyTick(tick) {
      const at = Date.parse(tick.at);
      const row = rows.get(tick.symbol);
      // A replayed tick older than the prices read at start changes nothing on screen.
      if (row && at < row.at) return false;
      rows.set(tick.symbol, { symbol: tick.symbol, price: tick.price, change: tick.change, changePercent: tick.changePercent, at });
      updatedAt = Math.max(updatedAt ?? 0, at);
      return true;
    },
    applyStocks(stocks) {
      for (const stock of stocks) {
        const at = Date.parse(stock.updatedAt);
        const row = rows.get(stock.symbol);
        if (!row || at >= row.at) rows.set(stock.symbol, { ...stock, at });
      }
    },
  };
}
