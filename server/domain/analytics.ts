import type { RealmPubSub } from '../events/pubsub.js';
import type { Logger } from '../logger.js';
import type { Store } from '../store/store.js';
import { createPnlQueries } from './pnl.js';
import { createPnlRecorder, defaultCachePlayers, defaultSecondSeries } from './pnl-recorder.js';

export type Analytics = ReturnType<typeof createAnalytics>;

/** TOKEN_MAX_TTL's default, 30 days. */
const defaultTokenMaxTtlSeconds = 2_592_000;

/**
 * P&L over time: the recorder that writes each player's equity series and
 * publishes `pnlTicked` ({@link createPnlRecorder}), and the reads behind
 * `pnlHistory`, `pnlCalendar`, `drawdown` and `todayPnl`
 * ({@link createPnlQueries}), over the same store and clock. The live
 * `pnlTicked` view is `server/live/pnl.ts`. No GraphQL in here.
 */
export function createAnalytics({
  store,
  pubsub,
  logger,
  clock = Date.now,
  cachePlayers = defaultCachePlayers,
  secondSeries = defaultSecondSeries,
  tokenMaxTtlSeconds = defaultTokenMaxTtlSeconds,
}: {
  store: Store;
  pubsub: RealmPubSub;
  logger: Logger;
  /** Current time in epoch milliseconds (tests drive a whole trading day with it). @default Date.now */
  clock?: () => number;
  /**
   * Players whose last recorded values and last tick the recorder keeps in
   * memory, least recently recorded dropped first; one dropped costs one
   * read when it changes again. @default defaultCachePlayers // 10,000
   */
  cachePlayers?: number;
  /** Series per player recorded every second at most (PNL_SECOND_SERIES). @default defaultSecondSeries // 2 */
  secondSeries?: number;
  /** TOKEN_MAX_TTL in seconds: players created longer ago are not recorded on price moves. @default 2_592_000 // 30 days */
  tokenMaxTtlSeconds?: number;
}) {
  return { ...createPnlRecorder({ store, pubsub, logger, clock, cachePlayers, secondSeries, tokenMaxTtlSeconds }), ...createPnlQueries({ store, clock }) };
}
