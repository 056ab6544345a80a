import { randomUUID } from 'node:crypto';
import { Repeater } from 'graphql-yoga';
import { Streams } from '../events/topics.js';
import type { EventLog } from '../events/event-log.js';
import type { RealmPubSub } from '../events/pubsub.js';
import { apiError, badInput, ErrorCode } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Store, Tx } from '../store/store.js';
import { roundMoney, validInt } from './validate.js';

/** Cash every new portfolio starts with. */
export const startingCash = 10_000;
/** Largest quantity one order may trade. */
export const maxOrderQuantity = 1_000_000;

export type OrderSide = 'BUY' | 'SELL';

export interface PositionView {
  symbol: string;
  quantity: number;
  averageCost: number;
  marketValue: number;
  unrealizedPnl: number;
}

export interface PortfolioView {
  playerId: string;
  cash: number;
  positions: PositionView[];
  realizedPnl: number;
  unrealizedPnl: number;
  totalValue: number;
}

export type Portfolios = ReturnType<typeof createPortfolios>;

/** Orders and portfolios; no GraphQL in here. */
export function createPortfolios({
  store,
  events,
  pubsub,
  coalesceMs,
  logger,
}: {
  store: Store;
  events: EventLog;
  pubsub: RealmPubSub;
  /** Minimum gap between two updates caused by price moves. */
  coalesceMs: number;
  logger: Logger;
}) {
  const ensureAccount = async (tx: Tx, playerId: string) => {
    await tx.insertInto('accounts').values({ playerId, cash: startingCash, realizedPnl: 0 }).onConflict((oc) => oc.doNothing()).execute();
    return store.lockForUpdate(tx.selectFrom('accounts').selectAll().where('playerId', '=', playerId)).executeTakeFirstOrThrow();
  };

  const portfolios = {
    /** The player's portfolio valued at current prices (a fresh one holds only starting cash). */
    async portfolio(playerId: string): Promise<PortfolioView> {
      const account = await store.db.selectFrom('accounts').selectAll().where('playerId', '=', playerId).executeTakeFirst();
      const rows = await store.db
        .selectFrom('positions')
        .innerJoin('stocks', 'stocks.symbol', 'positions.symbol')
        .select(['positions.symbol', 'positions.quantity', 'positions.averageCost', 'stocks.price'])
        .where('positions.playerId', '=', playerId)
        .orderBy('positions.symbol')
        .execute();
      const positions = rows.map((row) => {
        const marketValue = roundMoney(row.quantity * row.price);
        return {
          symbol: row.symbol,
          quantity: row.quantity,
          averageCost: row.averageCost,
          marketValue,
          unrealizedPnl: roundMoney(marketValue - row.quantity * row.averageCost),
        };
      });
      const cash = account?.cash ?? startingCash;
      const held = positions.reduce((sum, p) => sum + p.marketValue, 0);
      return {
        playerId,
        cash,
        positions,
        realizedPnl: account?.realizedPnl ?? 0,
        unrealizedPnl: roundMoney(positions.reduce((sum, p) => sum + p.unrealizedPnl, 0)),
        totalValue: roundMoney(cash + held),
      };
    },

    /** Symbols the player holds (to know which ticks move their portfolio). */
    async heldSymbols(playerId: string): Promise<Set<string>> {
      const rows = await store.db.selectFrom('positions').select('symbol').where('playerId', '=', playerId).execute();
      return new Set(rows.map((r) => r.symbol));
    },

    /**
     * Fills an order at the current price in one transaction: cash, position,
     * average cost, realized P&L, stock volume and the trade record change
     * together or not at all.
     */
    async placeOrder(playerId: string, symbolInput: string, side: OrderSide, quantity: number) {
      validInt('quantity', quantity, 1, maxOrderQuantity);
      const symbol = symbolInput.toUpperCase();
      const trade = await events.transact(async (tx) => {
        const stock = await store.lockForUpdate(tx.selectFrom('stocks').selectAll().where('symbol', '=', symbol)).executeTakeFirst();
        if (!stock) throw apiError(ErrorCode.NotFound, `No stock with symbol "${symbolInput}".`, { field: 'symbol' });
        const account = await ensureAccount(tx, playerId);
        const position = await tx
          .selectFrom('positions')
          .selectAll()
          .where('playerId', '=', playerId)
          .where('symbol', '=', symbol)
          .executeTakeFirst();
        const held = position?.quantity ?? 0;
        const averageCost = position?.averageCost ?? 0;
        const amount = roundMoney(stock.price * quantity);

        if (side === 'BUY') {
          if (amount > account.cash) {
            throw badInput('quantity', `Not enough cash: ${quantity} ${symbol} cost ${amount}, you have ${account.cash}.`);
          }
          const newQuantity = held + quantity;
          const newAverage = Math.round(((held * averageCost + amount) / newQuantity) * 10_000) / 10_000;
          await tx
            .insertInto('positions')
            .values({ playerId, symbol, quantity: newQuantity, averageCost: newAverage })
            .onConflict((oc) => oc.columns(['playerId', 'symbol']).doUpdateSet({ quantity: newQuantity, averageCost: newAverage }))
            .execute();
          await tx.updateTable('accounts').set({ cash: roundMoney(account.cash - amount) }).where('playerId', '=', playerId).execute();
        } else {
          if (quantity > held) throw badInput('quantity', `Not enough shares: you hold ${held} ${symbol}, tried to sell ${quantity}.`);
          const realized = roundMoney((stock.price - averageCost) * quantity);
          if (quantity === held) {
            await tx.deleteFrom('positions').where('playerId', '=', playerId).where('symbol', '=', symbol).execute();
          } else {
            await tx.updateTable('positions').set({ quantity: held - quantity }).where('playerId', '=', playerId).where('symbol', '=', symbol).execute();
          }
          await tx
            .updateTable('accounts')
            .set({ cash: roundMoney(account.cash + amount), realizedPnl: roundMoney(account.realizedPnl + realized) })
            .where('playerId', '=', playerId)
            .execute();
        }
        await tx.updateTable('stocks').set({ volume: stock.volume + quantity }).where('symbol', '=', symbol).execute();
        const record = { id: randomUUID(), playerId, symbol, side, quantity, price: stock.price, at: new Date().toISOString() };
        await tx.insertInto('trades').values(record).execute();
        return record;
      });
      // The trade is committed: a failed notice (Redis away) must not turn it into an error the client retries.
      await pubsub.publish('portfolioChanged', playerId, { playerId }).catch((error: unknown) => logger.error({ err: error, playerId }, 'portfolioChanged publish failed'));
      return trade;
    },

    /**
     * The player's portfolio after each of their trades (at once), and after
     * ticks of held stocks (coalesced: at most one per `coalesceMs`, so a busy
     * market does not flood the client).
     */
    watch(playerId: string): Repeater<PortfolioView> {
      return new Repeater<PortfolioView>(async (push, stop) => {
        let held = new Set<string>();
        let queue: Promise<unknown> = Promise.resolve();
        let timer: NodeJS.Timeout | undefined;
        let lastPriceUpdate = 0;
        const emit = () => {
          queue = queue
            .then(async () => {
              const view = await portfolios.portfolio(playerId);
              held = new Set(view.positions.map((p) => p.symbol));
              await push(view);
            })
            .catch((error) => stop(error));
        };
        const onTick = () => {
          if (timer) return;
          const wait = Math.max(0, lastPriceUpdate + coalesceMs - Date.now());
          timer = setTimeout(() => {
            timer = undefined;
            lastPriceUpdate = Date.now();
            emit();
          }, wait);
        };
        const unsubscribes: Array<() => void> = [];
        try {
          // Subscribe before reading the holdings, so a trade in between is not missed.
          unsubscribes.push(await pubsub.subscribe('portfolioChanged', playerId, emit));
          unsubscribes.push(
            await pubsub.subscribe('streamEvent', Streams.market, (event) => {
              if (event.type === 'StockTicked' && held.has(event.payload.symbol)) onTick();
            }),
          );
          const current = await portfolios.heldSymbols(playerId);
          for (const symbol of current) held.add(symbol);
          await stop;
        } finally {
          clearTimeout(timer);
          for (const unsubscribe of unsubscribes) unsubscribe();
        }
      });
    },
  };
  return portfolios;
}
