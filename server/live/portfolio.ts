import { Repeater } from 'graphql-yoga';
import type { RealmPubSub } from '../events/pubsub.js';
import { Streams, type StreamEvent } from '../events/topics.js';
import type { PortfolioView } from '../domain/portfolio.js';
import { batchedReads, createLiveView } from './live-view.js';
import { orderedPush, type MemberCounts } from './shared-watchers.js';

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
  /** Leaves the market listener (set once the watcher joined it). */
  leaveMarket: (() => void) | undefined;
  stopped: boolean;
}

/** Counters of the portfolio watchers of one instance (tests, metrics). */
export interface PortfolioWatchStats {
  /** Players watched (one watcher each). */
  players: number;
  /** `portfolioChanged` subscriptions over all of them. */
  subscribers: number;
  /** Market-stream pub/sub listeners of the portfolio view (1 while anyone watches, else 0). */
  marketListeners: number;
  /** Batch reads so far (each values every player that changed since the previous one). */
  reads: number;
  /** Portfolios valued by those reads: one per change per player, whoever subscribes. */
  valuations: number;
}

export interface PortfolioLiveOptions {
  pubsub: RealmPubSub;
  /** Values players' portfolios in one batch read. */
  read: (playerIds: readonly string[]) => Promise<Map<string, PortfolioView>>;
  /** The symbols a player holds (read once when their watcher starts). */
  heldSymbols: (playerId: string) => Promise<Set<string>>;
  /** Minimum gap between two updates of a player caused by price moves, in milliseconds. */
  coalesceMs: number;
}

export type PortfolioLive = ReturnType<typeof createPortfolioLive>;

/**
 * `portfolioChanged` for every subscriber of the instance, a {@link createLiveView}
 * keyed by player: one watcher per player, shared by all of that player's
 * subscriptions: one `portfolioChanged` pub/sub listener, one coalescing
 * timer, one valuation per change. For the whole view one market-stream
 * listener (a live view with one key, whose members are the player
 * watchers), which hands a tick only to the watchers of players holding that
 * symbol (an index from symbol to watchers), so a tick costs O(holders
 * watched), not O(subscribers). Valuations due at the same moment (a tick
 * moving many portfolios) share one batch read ({@link batchedReads}), and a
 * read already queued covers every change before it starts. After a pub/sub
 * reconnect each watched portfolio is read once again.
 */
export function createPortfolioLive({ pubsub, read, heldSymbols, coalesceMs }: PortfolioLiveOptions) {
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

  // One queue for the whole view: everything due until the batch starts is valued in the same read.
  const refresh = batchedReads<PlayerWatcher>(async (due) => {
    const batch = due.filter((watcher) => !watcher.stopped);
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
  });
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

  /**
   * The view's one market-stream listener, kept while any player is watched
   * (its members are the player watchers, it reads nothing itself: the
   * players' view resyncs them).
   */
  const market = createLiveView<'streamEvent', object, PlayerWatcher>({
    pubsub,
    topic: 'streamEvent',
    create: () => ({}),
    changed(_watcher, event: StreamEvent) {
      if (event.type !== 'StockTicked') return;
      const holders = bySymbol.get(event.payload.symbol);
      if (holders) for (const watcher of holders) onTick(watcher);
    },
  });

  const players = createLiveView<'portfolioChanged', PlayerWatcher, Subscriber>({
    pubsub,
    topic: 'portfolioChanged',
    create: (playerId, subscribers) => ({
      playerId,
      subscribers,
      held: new Set(),
      timer: undefined,
      lastPriceUpdate: 0,
      leaveMarket: undefined,
      stopped: false,
    }),
    changed: (watcher) => refresh(watcher),
    async prepare(watcher) {
      watcher.leaveMarket = (await market.join(Streams.market, watcher)).leave;
      const current = await heldSymbols(watcher.playerId);
      // A trade's read may already have set the holdings: add to them.
      setHeld(watcher, [...watcher.held, ...current]);
    },
    // Trades and ticks published while pub/sub was away are lost: value each watched portfolio once.
    resync: (watcher) => refresh(watcher),
    dispose(watcher) {
      watcher.stopped = true;
      clearTimeout(watcher.timer);
      setHeld(watcher, []);
      watcher.leaveMarket?.();
    },
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
