import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { seedStocks } from '../../server/domain/seed.js';
import type { ServerInfo } from '../protocol.js';

/** One server under test, as `bench/server.ts` drives it. */
export interface Target {
  info: ServerInfo;
  /** Publishes the next event through the server's real publish path. */
  publish(): Promise<void>;
  /** Publishes one event per key, so every active subscription receives one. */
  warmup(): Promise<void>;
  /** Events published so far, per key (for the window's delta). */
  count(): Promise<Record<string, number>>;
  dispose(): Promise<void>;
}

/** A market tick as every server sends it: the fields of `stockTicked { cursor symbol price at }`. */
export interface Tick {
  cursor: string;
  symbol: string;
  price: number;
  at: string;
}

/** The stocks the raw `ws` and Yoga servers tick: Realmcast's seed. */
export const benchStocks: ReadonlyArray<{ symbol: string; price: number }> = seedStocks;

/**
 * Publishes ticks round robin over `stocks` through `send`. The n-th price of
 * a stock is its base price plus 0.01–1.00: always a change of at least a
 * cent (Realmcast skips a "change" to the same price) and never a move of
 * 10% or more (which would also post a world event).
 */
export function createMarketFeed(stocks: ReadonlyArray<{ symbol: string; price: number }>, send: (symbol: string, price: number) => Promise<void>) {
  const sent = new Map<string, number>(stocks.map((s) => [s.symbol, 0]));
  let next = 0;
  const tick = async (stock: { symbol: string; price: number }) => {
    const round = sent.get(stock.symbol)!;
    sent.set(stock.symbol, round + 1);
    await send(stock.symbol, Math.round((stock.price + 0.01 * (1 + (round % 100))) * 100) / 100);
  };
  return {
    keys: stocks.map((s) => s.symbol),
    publish: () => tick(stocks[next++ % stocks.length]!),
    async warmup() {
      for (const stock of stocks) await tick(stock);
    },
    count: async () => Object.fromEntries(sent),
  };
}

/** Cursors like Realmcast's (base64url of `stream:seq`), so every server sends the same bytes. */
export const marketCursor = (seq: number) => Buffer.from(`market:${seq}`).toString('base64url');

/** Starts `server` on a free loopback port and describes it as a market {@link Target}. */
export async function listenMarket(server: Server, feed: ReturnType<typeof createMarketFeed>, dispose: () => Promise<void>): Promise<Target> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    info: { url: `ws://127.0.0.1:${port}/graphql`, keys: feed.keys },
    publish: feed.publish,
    warmup: feed.warmup,
    count: feed.count,
    dispose,
  };
}
