import type { TokenIssuer } from './auth.js';
import { createTurnEconomy, type TurnEconomyOptions } from './domain/economy.js';
import { createFactions } from './domain/factions.js';
import { createGameViews } from './domain/game-views.js';
import { createGames } from './domain/games.js';
import { createMarket } from './domain/market.js';
import { createAnalytics } from './domain/analytics.js';
import { createPlayers } from './domain/players.js';
import { createPortfolios } from './domain/portfolio.js';
import { createTurns } from './domain/turns.js';
import { createTyping, type SharedTypingLimit } from './domain/typing.js';
import { createWorld } from './domain/world.js';
import type { EventLog } from './events/event-log.js';
import type { RealmPubSub } from './events/pubsub.js';
import type { RateLimits } from './limits/rate-limits.js';
import { createPnlLive } from './live/pnl.js';
import { createPortfolioLive } from './live/portfolio.js';
import { createPresenceLive } from './live/presence.js';
import type { Logger } from './logger.js';
import { createMemoryPresenceTracker } from './presence/memory.js';
import type { PresenceHooks, PresenceTracker } from './presence/tracker.js';
import { createPresenceTransitions } from './presence/transitions.js';
import type { Store } from './store/store.js';

export interface ServiceDeps {
  store: Store;
  events: EventLog;
  pubsub: RealmPubSub;
  tokens: TokenIssuer;
  logger: Logger;
  guestSignIn: boolean;
  portfolioCoalesceMs: number;
  /** Players the P&L recorder keeps in memory. @default defaultCachePlayers // 10,000 */
  pnlCachePlayers?: number;
  /** P&L series per player recorded every second at most. @default defaultSecondSeries // 2 */
  pnlSecondSeries?: number;
  /** TOKEN_MAX_TTL in seconds (the recorder stops valuing players whose tokens have all expired). @default 2_592_000 // 30 days */
  tokenMaxTtlSeconds?: number;
  presenceGraceMs: number;
  typingTimeoutMs: number;
  /**
   * Builds the presence tracker around the services' hooks (e.g. a Redis
   * one when scaled out). @default an in-memory tracker with `presenceGraceMs`
   */
  presenceTracker?: (hooks: PresenceHooks) => PresenceTracker;
  /** Where the `setTyping` rate limit is counted across instances. @default undefined (per instance) */
  typingLimit?: SharedTypingLimit;
  /** Current time in epoch milliseconds for trades and P&L (tests). @default Date.now */
  clock?: () => number;
  /** Rate limits of signIn, createGame, turns and join-code guesses. */
  limits: RateLimits;
  /** How far turns may move the world. @default createTurnEconomy's defaults */
  economy?: Omit<TurnEconomyOptions, 'store'>;
}

/** The domain services of one app instance, as resolvers see them. */
export function createServices(deps: ServiceDeps) {
  const { store, events, pubsub, tokens, logger, guestSignIn, portfolioCoalesceMs, presenceGraceMs, typingTimeoutMs, clock = Date.now } = deps;
  const market = createMarket({ store, events });
  const factions = createFactions({ store, events });
  // The tracker's transitions are recorded and published by `presence/transitions.ts`; game changes publish through it too.
  const transitions = createPresenceTransitions({ events, pubsub, logger });
  const presence = deps.presenceTracker?.(transitions) ?? createMemoryPresenceTracker({ graceMs: presenceGraceMs, ...transitions });
  const economy = createTurnEconomy({ store, ...deps.economy });
  const turns = createTurns({ store, market, factions, economy });
  const gameViews = createGameViews({ store, events, presence });
  const games = createGames({ store, events, views: gameViews, turns, presenceChanged: transitions.onChange });
  const portfolios = createPortfolios({ store, events, pubsub, logger, clock });
  const analytics = createAnalytics({
    store,
    pubsub,
    logger,
    clock,
    cachePlayers: deps.pnlCachePlayers,
    secondSeries: deps.pnlSecondSeries,
    tokenMaxTtlSeconds: deps.tokenMaxTtlSeconds,
  });
  /**
   * The live views: per-viewer snapshots built once per change per
   * instance, outside the domain (which they read through its services).
   */
  const live = {
    portfolio: createPortfolioLive({ pubsub, coalesceMs: portfolioCoalesceMs, read: portfolios.portfolios, heldSymbols: portfolios.heldSymbols }),
    pnl: createPnlLive({ pubsub, logger, tick: analytics.tick }),
    presence: createPresenceLive({ pubsub, presence, read: gameViews.presence }),
  };
  const typing = createTyping({ events, games, expireMs: typingTimeoutMs, sharedLimit: deps.typingLimit });
  return {
    store,
    events,
    pubsub,
    tokens,
    logger,
    guestSignIn,
    limits: deps.limits,
    economy,
    players: createPlayers({ store }),
    market,
    factions,
    world: createWorld({ events }),
    portfolios,
    analytics,
    games,
    /** Games as the API shows them (a game, a page, a presence snapshot) and their event feeds. */
    gameViews,
    live,
    presence,
    typing,
    /** Stops presence and typing timers; call after subscriptions ended, before the store closes. */
    async dispose() {
      typing.dispose();
      await presence.dispose();
    },
  };
}

export type Services = ReturnType<typeof createServices>;
