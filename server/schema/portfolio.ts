import { authorize } from '../auth.js';
import { builder } from '../builder.js';
import type { OrderSide, PortfolioView, PositionView } from '../domain/portfolio.js';

const OrderSideEnum = builder.enumType('OrderSide', {
  description: 'Whether an order buys or sells.',
  values: {
    BUY: { description: 'Buy shares with cash.' },
    SELL: { description: 'Sell shares you hold for cash.' },
  } satisfies Record<OrderSide, unknown>,
});

const Trade = builder
  .objectRef<{ id: string; symbol: string; side: string; quantity: number; price: number; at: string }>('Trade')
  .implement({
    description: 'A filled order.',
    fields: (t) => ({
      id: t.exposeID('id', { description: 'Trade identifier.' }),
      symbol: t.exposeString('symbol', { description: 'Stock traded.' }),
      side: t.field({ type: OrderSideEnum, description: 'Buy or sell.', resolve: (trade) => trade.side as OrderSide }),
      quantity: t.exposeInt('quantity', { description: 'Shares traded.' }),
      price: t.exposeFloat('price', { description: 'Fill price per share (the price at the moment of the order).' }),
      at: t.field({ type: 'DateTime', description: 'When it filled.', resolve: (trade) => trade.at }),
    }),
  });

const Position = builder.objectRef<PositionView>('Position').implement({
  description: 'Shares of one stock held in a portfolio.',
  fields: (t) => ({
    symbol: t.exposeString('symbol', { description: 'Stock held.' }),
    quantity: t.exposeInt('quantity', { description: 'Shares held.' }),
    averageCost: t.exposeFloat('averageCost', { description: 'Average price paid per share held.' }),
    marketValue: t.exposeFloat('marketValue', { description: 'Quantity × current price.' }),
    unrealizedPnl: t.exposeFloat('unrealizedPnl', { description: 'Market value minus cost of the shares held.' }),
  }),
});

const Portfolio = builder.objectRef<PortfolioView>('Portfolio').implement({
  description: "A player's cash and holdings, valued at current prices.",
  fields: (t) => ({
    cash: t.exposeFloat('cash', { description: 'Cash available (every player starts with 10,000).' }),
    positions: t.field({ type: [Position], description: 'Holdings, by symbol.', resolve: (p) => p.positions }),
    realizedPnl: t.exposeFloat('realizedPnl', { description: 'Profit or loss locked in by sales.' }),
    unrealizedPnl: t.exposeFloat('unrealizedPnl', { description: 'Profit or loss of holdings at current prices.' }),
    totalValue: t.exposeFloat('totalValue', { description: 'Cash plus market value of holdings.' }),
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
    description: 'Buys or sells at the current price. Fails with BAD_USER_INPUT (field `quantity`) without enough cash or shares.',
    args: {
      symbol: t.arg.string({ required: true, description: 'Ticker symbol.' }),
      side: t.arg({ type: OrderSideEnum, required: true, description: 'Buy or sell.' }),
      quantity: t.arg.int({ required: true, description: 'Shares, at least 1.' }),
    },
    resolve: (_root, { symbol, side, quantity }, { viewer, services }) =>
      services.portfolios.placeOrder(authorize(viewer, 'trade').id, symbol, side, quantity),
  }),
);

builder.subscriptionField('portfolioChanged', (t) =>
  t.field({
    type: Portfolio,
    description:
      "The caller's portfolio after each of their trades, and when prices of held stocks move (at most one such update per coalescing window, 500 ms by default).",
    subscribe: (_root, _args, { viewer, services }) => services.portfolios.watch(authorize(viewer, 'trade').id),
    resolve: (portfolio) => portfolio,
  }),
);
