import { Repeater } from 'graphql-yoga';
import type { RealmPubSub } from '../events/pubsub.js';
import { createSharedWatchers, orderedPush, type MemberCounts } from '../live/shared-watchers.js';
import { Streams, type StreamEvent } from '../events/topics.js';
import type { PortfolioView } from './portfolio.js';

/** What one `portfolioChanged` subscriber gets from its player's watcher. */
interface Subscriber {
  deliver(view: PortfolioView): void;
  fail(error: unknown): void;
}

/** The one watcher of a player's portfolio on this instance. */
interface PlayerWatcher {
  playerId: string;
  subscribers: ReadonlySet<Subscriber>;
  /** Symbols the player holds: ticks of these move the portfolio. */
  held: Set<string>;
  /** Pending coalesced update after price moves. */
  timer: NodeJS.Timeout | undefined;
  /** When the last update caused by price moves was read. */
  lastPriceUpdate: number;
  stopped: boolean;
}

/** Counters of the portfolio watchers of one instance (tests, metrics). */
export interface PortfolioWatchStats {
  /** Players watched (one watcher each). */
  players: number;
  /** `portfolioChanged` subscriptions over all of them. */
  subscribers: number;
  /** Market-stream pub/sub listeners of the portfolio domain (1 while anyone watches, else 0). */
  marketListeners: number;
  /** Batch reads so far (each values every player that changed since the previous one). */
  reads: number;
  /** Portfolios valued by those reads: one per change per player, whoever subscribes. */
  valuations: number;
}

export interface PortfolioWatchOptions {
  pubsub: RealmPubSub;
  /** Values players' portfolios in one batch read. */
  read: (playerIds: readonly string[]) => Promise<Map<string, PortfolioView>>;
  /** The symbols a player holds (read once when their watcher starts). */
  heldSymbols: (playerId: string) => Promise<Set<string>>;
  /** Minimum gap between two updates of a player caused by price moves, in milliseconds. */
  coalesceMs: number;
}

/**
 * `portfolioChanged` for every subscriber of the instance. Per player one
 * watcher, shared by all of that player's subscriptions: one
 * `portfolioChanged` pub/sub listener, one coalescing timer, one valuation
 * per change. For the whole domain one market-stream listener, which hands a
 * tick only to the watchers of players holding that symbol (an index from
 * symbol to watchers), so a tick costs O(holders watched), not O(subscribers).
 * Valuations due at the same moment (a tick moving many portfolios) share one
 * batch read, and a read already queued covers every change before it starts.
 * After a pub/sub reconnect each watched portfolio is read once again.
 */
export function createPortfolioWatch({ pubsub, read, heldSymbols, coalesceMs }: PortfolioWatchOptions) {
  const bySymbol = new Map<string, Set<PlayerWatcher>>();
  let reads = 0;
  let valuations = 0;

  const setHeld = (watcher: PlayerWatcher, symbols: Iterable<string>) => {
    const next = new Set(symbols);
    for (const symbol of watcher.held) {
      if (next.has(symbol)) continue;
      const holders = bySymbol.get(symbol);
      holders?.delete(watcher);
      if (holders?.size === 0) bySymbol.delete(symbol);
    }
    for (const symbol of next) {
      if (watcher.held.has(symbol)) continue;
      let holders = bySymbol.get(symbol);
      if (!holders) bySymbol.set(symbol, (holders = new Set()));
      holders.add(watcher);
    }
    watcher.held = next;
  };

  // Reads are serialized (one batch at a time, so a player's views arrive in
  // the order of their changes) and batched: everything that became due until
  // the batch starts is valued in the same read.
  const due = new Set<PlayerWatcher>();
  let queue: Promise<unknown> = Promise.resolve();
  let scheduled = false;
  const readDue = async () => {
    scheduled = false;
    const batch = [...due].filter((watcher) => !watcher.stopped);
    due.clear();
    if (!batch.length) return;
    try {
      reads++;
      valuations += batch.length;
      const views = await read(batch.map((watcher) => watcher.playerId));
      for (const watcher of batch) {
        const view = views.get(watcher.playerId);
        if (!view || watcher.stopped) continue;
        setHeld(watcher, view.positions.map((p) => p.symbol));
        for (const subscriber of watcher.subscribers) subscriber.deliver(view);
      }
    } catch (error) {
      for (const watcher of batch) for (const subscriber of watcher.subscribers) subscriber.fail(error);
    }
  };
  const refresh = (watcher: PlayerWatcher) => {
    due.add(watcher);
    if (scheduled) return;
    scheduled = true;
    // After the current I/O phase: coalescing timers firing together and
    // trades published together land in one batch.
    setImmediate(() => (queue = queue.then(readDue)));
  };
  /** A held stock ticked: an update within the coalescing window (at once if the last one is older). */
  const onTick = (watcher: PlayerWatcher) => {
    if (watcher.timer) return;
    const wait = Math.max(0, watcher.lastPriceUpdate + coalesceMs - Date.now());
    watcher.timer = setTimeout(() => {
      watcher.timer = undefined;
      watcher.lastPriceUpdate = Date.now();
      refresh(watcher);
    }, wait);
  };

  const onMarketEvent = (event: StreamEvent) => {
    if (event.type !== 'StockTicked') return;
    const holders = bySymbol.get(event.payload.symbol);
    if (holders) for (const watcher of holders) onTick(watcher);
  };
  /**
   * The domain's one market-stream listener, kept while any player is
   * watched (its members are the player watchers). After a pub/sub reconnect
   * (Redis back after an outage: trades and ticks published meanwhile are
   * lost) every watched portfolio is read again, once per player.
   */
  const market = createSharedWatchers<() => void, PlayerWatcher>({
    async start(_key, watchers) {
      const unsubscribe = await pubsub.subscribe('streamEvent', Streams.market, onMarketEvent);
      const stopResync = pubsub.onReconnect(() => {
        for (const watcher of watchers) refresh(watcher);
      });
      return () => {
        stopResync();
        unsubscribe();
      };
    },
    stop: (unsubscribe) => unsubscribe(),
  });

  const players = createSharedWatchers<{ watcher: PlayerWatcher; stop: () => void }, Subscriber>({
    async start(playerId, subscribers) {
      const watcher: PlayerWatcher = { playerId, subscribers, held: new Set(), timer: undefined, lastPriceUpdate: 0, stopped: false };
      // Listen before reading the holdings, so a trade in between is not missed.
      const unsubscribe = await pubsub.subscribe('portfolioChanged', playerId, () => refresh(watcher));
      let leaveMarket: (() => void) | undefined;
      try {
        leaveMarket = (await market.join('market', watcher)).leave;
        const current = await heldSymbols(playerId);
        // A trade's read may already have set the holdings: add to them.
        setHeld(watcher, [...watcher.held, ...current]);
      } catch (error) {
        unsubscribe();
        leaveMarket?.();
        throw error;
      }
      const stop = () => {
        watcher.stopped = true;
        clearTimeout(watcher.timer);
        unsubscribe();
        setHeld(watcher, []);
        leaveMarket?.();
      };
      return { watcher, stop };
    },
    stop: ({ stop }) => stop(),
  });

  return {
    /**
     * The player's portfolio after each of their trades, and after ticks of
     * held stocks (coalesced: at most one such update per `coalesceMs`, so a
     * busy market does not flood the client). The view is built once per
     * change for all of the player's subscriptions on this instance.
     */
    watch(playerId: string): Repeater<PortfolioView> {
      return new Repeater<PortfolioView>(async (push, stop) => {
        const subscriber: Subscriber = { deliver: orderedPush(push, stop), fail: stop };
        const { leave } = await players.join(playerId, subscriber);
        try {
          await stop;
        } finally {
          leave();
        }
      });
    },
    /** `portfolioChanged` subscriptions per player that receive updates right now. */
    subscribers: { count: players.count, onCountChanged: players.onCountChanged } satisfies MemberCounts,
    stats(): PortfolioWatchStats {
      const { watchers, members } = players.stats();
      return { players: watchers, subscribers: members, marketListeners: market.stats().watchers, reads, valuations };
    },
  };
}
