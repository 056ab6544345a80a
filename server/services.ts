import type { TokenIssuer } from './auth.js';
import { createFactions } from './domain/factions.js';
import { createMarket } from './domain/market.js';
import { createPlayers } from './domain/players.js';
import { createPortfolios } from './domain/portfolio.js';
import { createWorld } from './domain/world.js';
import type { EventLog } from './events/event-log.js';
import type { RealmPubSub } from './events/pubsub.js';
import type { Logger } from './logger.js';
import type { Store } from './store/store.js';

export interface ServiceDeps {
  store: Store;
  events: EventLog;
  pubsub: RealmPubSub;
  tokens: TokenIssuer;
  logger: Logger;
  guestSignIn: boolean;
  portfolioCoalesceMs: number;
}

/** The domain services of one app instance, as resolvers see them. */
export function createServices(deps: ServiceDeps) {
  const { store, events, pubsub, tokens, logger, guestSignIn, portfolioCoalesceMs } = deps;
  const market = createMarket({ store, events });
  const factions = createFactions({ store, events });
  return {
    store,
    events,
    pubsub,
    tokens,
    logger,
    guestSignIn,
    players: createPlayers({ store }),
    market,
    factions,
    world: createWorld({ events }),
    portfolios: createPortfolios({ store, events, pubsub, coalesceMs: portfolioCoalesceMs }),
  };
}

export type Services = ReturnType<typeof createServices>;
