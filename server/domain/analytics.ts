import type { RealmPubSub } from '../events/pubsub.js';
import type { Logger } from '../logger.js';
import type { Store } from '../store/store.js';
import { createPnlQueries } from './pnl.js';
import { createPnlRecorder, defaultCachePlayers } from './pnl-recorder.js';

export type Analytics = ReturnType<typeof createAnalytics>;

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
}) {
  return { ...createPnlRecorder({ store, pubsub, logger, clock, cachePlayers }), ...createPnlQueries({ store, clock }) };
}
