import DataLoader from 'dataloader';
import { authorize } from '../auth.js';
import { builder, type Context } from '../builder.js';
import { stockChange, type StockRow } from '../domain/market.js';
import type { CursoredEvent } from '../events/event-log.js';

/** One history loader per request (context) and `last`, batching the stocks of a list. */
const historyLoaders = new WeakMap<Context, Map<number, DataLoader<string, Array<{ price: number; at: string }>>>>();
function historyLoader(context: Context, last: number) {
  let byLast = historyLoaders.get(context);
  if (!byLast) historyLoaders.set(context, (byLast = new Map()));
  let loader = byLast.get(last);
  if (!loader) {
    loader = new DataLoader(async (symbols: readonly string[]) => {
      const histories = await context.services.market.histories(symbols, last);
      return symbols.map((symbol) => histories.get(symbol) ?? []);
    });
    byLast.set(last, loader);
  }
  return loader;
}

const PricePoint = builder.objectRef<{ price: number; at: string }>('PricePoint').implement({
  description: 'A stock price at an instant.',
  fields: (t) => ({
    price: t.exposeFloat('price', { description: 'Price at that instant.' }),
    at: t.field({ type: 'DateTime', description: 'When the price was set.', resolve: (p) => p.at }),
  }),
});

export const Stock = builder.objectRef<StockRow>('Stock').implement({
  description: 'A tradable stock. `change` and `changePercent` are measured against the session open price.',
  fields: (t) => ({
    symbol: t.exposeString('symbol', { description: 'Ticker symbol, uppercase (e.g. "IRON").' }),
    name: t.exposeString('name', { description: 'Company name.' }),
    price: t.exposeFloat('price', { description: 'Current price.' }),
    openPrice: t.exposeFloat('openPrice', { description: 'Session open price that `change` is measured against.' }),
    change: t.float({ description: 'Price minus open price.', resolve: (s) => stockChange(s).change }),
    changePercent: t.float({ description: 'Change in percent of the open price.', resolve: (s) => stockChange(s).changePercent }),
    volume: t.exposeInt('volume', { description: 'Shares traded this session.' }),
    updatedAt: t.field({ type: 'DateTime', description: 'When the price last changed.', resolve: (s) => s.updatedAt }),
    history: t.field({
      type: [PricePoint],
      description: 'Recent prices, oldest first.',
      args: { last: t.arg.int({ description: 'How many of the newest points (1–500). Default 50.' }) },
      // Batched per request: a list of stocks reads all their histories in one query.
      resolve: (s, { last }, context) => historyLoader(context, last ?? 50).load(s.symbol),
    }),
  }),
});

const StockTick = builder.objectRef<CursoredEvent<'StockTicked'>>('StockTick').implement({
  description: 'One price change of one stock.',
  fields: (t) => ({
    cursor: t.exposeString('cursor', { description: 'Position in the market stream; pass as `after` to resume.' }),
    symbol: t.string({ description: 'Which stock.', resolve: (e) => e.payload.symbol }),
    price: t.float({ description: 'The new price.', resolve: (e) => e.payload.price }),
    change: t.float({ description: 'New price minus open price.', resolve: (e) => e.payload.change }),
    changePercent: t.float({ description: 'Change in percent of the open price.', resolve: (e) => e.payload.changePercent }),
    at: t.field({ type: 'DateTime', description: 'When the price changed.', resolve: (e) => e.at }),
  }),
});

builder.queryFields((t) => ({
  stocks: t.field({
    type: [Stock],
    description: 'Every stock, by symbol.',
    resolve: (_root, _args, { services }) => services.market.listStocks(),
  }),
  stock: t.field({
    type: Stock,
    nullable: true,
    description: 'One stock by symbol (case-insensitive); null when there is none.',
    args: { symbol: t.arg.string({ required: true, description: 'Ticker symbol.' }) },
    resolve: async (_root, { symbol }, { services }) => (await services.market.getStock(symbol)) ?? null,
  }),
}));

builder.mutationField('setStockPrice', (t) =>
  t.field({
    type: Stock,
    description: 'Sets a price (GAME_MASTER). Publishes `stockTicked`; a move of 10% or more also posts a world event.',
    args: {
      symbol: t.arg.string({ required: true, description: 'Ticker symbol.' }),
      price: t.arg.float({ required: true, description: 'New price, from 0.01 to 1,000,000.' }),
    },
    resolve: (_root, { symbol, price }, { viewer, services }) => {
      authorize(viewer, 'setStockPrice');
      return services.market.setStockPrice(symbol, price);
    },
  }),
);

builder.subscriptionField('stockTicked', (t) =>
  t.field({
    type: StockTick,
    description: 'One event per price change (simulator, game master, turn effects), optionally only for `symbols`.',
    args: {
      symbols: t.arg.stringList({ description: 'Only these symbols (case-insensitive), at most 50. All when omitted.' }),
      after: t.arg.string({ description: 'Replay every tick after this cursor first, then continue live.' }),
    },
    subscribe: (_root, args, { services }) => services.market.ticks(args),
    resolve: (event) => event,
  }),
);
