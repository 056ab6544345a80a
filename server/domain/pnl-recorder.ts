import { createHash } from 'node:crypto';
import type { RealmPubSub } from '../events/pubsub.js';
import { everyone, Streams } from '../events/topics.js';
import type { Logger } from '../logger.js';
import type { Db, Store } from '../store/store.js';
import { pnlTick } from './pnl.js';
import { writeSeries, type SeriesPoint } from './pnl-series.js';
import { pnlCents, valuePlayers, wholeAccount, type Valuation } from './portfolio.js';

/** Players the recorder remembers at most ({@link createPnlRecorder}' `cachePlayers`). */
export const defaultCachePlayers = 10_000;

export interface RecorderOptions {
  /** Period of recording, in milliseconds; `0` records only when `flush()` is called. @default 1_000 // 1 second */
  periodMs?: number;
}

/** What the recorder remembers of a player between flushes, to write and publish only changes. */
interface RecordedPlayer {
  /** Last recorded P&L per series of the player (`*` and each strategy, so at most 21). */
  series: Map<string, number>;
  /** Digest of the figures of the last `pnlTicked` published (undefined: none since the player was remembered). */
  tick?: string;
}

/** Players per read of {@link recall} (keeps `IN (…)` lists small). */
const recallChunk = 500;

/**
 * What the recorder knows of `playerIds`: from `recorded`, or (for players
 * not in it) from each series' newest day row, whose close is the last value
 * recorded. Returned whole, so a batch larger than the cache is compared
 * against what it read even when remembering it pushes some out.
 */
async function recall(db: Db, recorded: ReadonlyMap<string, RecordedPlayer>, playerIds: string[]) {
  const known = new Map<string, RecordedPlayer>();
  const missing: string[] = [];
  for (const id of playerIds) {
    const entry = recorded.get(id);
    if (entry) known.set(id, entry);
    else missing.push(id);
  }
  for (let start = 0; start < missing.length; start += recallChunk) {
    const ids = missing.slice(start, start + recallChunk);
    for (const id of ids) known.set(id, { series: new Map() });
    const rows = await db
      .selectFrom('pnlSeries as s')
      .select(['s.playerId', 's.strategy', 's.closeCents'])
      .where('s.playerId', 'in', ids)
      .where('s.resolution', '=', 'd')
      .where(({ eb, selectFrom }) =>
        eb(
          's.bucket',
          '=',
          selectFrom('pnlSeries as n')
            .select((e) => e.fn.max('n.bucket').as('b'))
            .whereRef('n.playerId', '=', 's.playerId')
            .whereRef('n.strategy', '=', 's.strategy')
            .where('n.resolution', '=', 'd'),
        ),
      )
      .execute();
    for (const row of rows) known.get(row.playerId)!.series.set(row.strategy, Number(row.closeCents));
  }
  return known;
}

/** The series points of `valuations` whose value differs from what `known` last recorded. */
function changedPoints(valuations: Iterable<Valuation>, known: ReadonlyMap<string, RecordedPlayer>, atMs: number): SeriesPoint[] {
  const points: SeriesPoint[] = [];
  for (const valuation of valuations) {
    const { series } = known.get(valuation.playerId)!;
    for (const strategy of [wholeAccount, ...valuation.strategies.map((s) => s.strategy)]) {
      const value = pnlCents(valuation, strategy);
      if (series.get(strategy) === value) continue;
      points.push({ playerId: valuation.playerId, strategy, pnlCents: value, atMs });
    }
  }
  return points;
}

export interface PnlRecorderOptions {
  store: Store;
  pubsub: RealmPubSub;
  logger: Logger;
  /** Current time in epoch milliseconds. */
  clock: () => number;
  /**
   * Players whose last recorded values and last tick the recorder keeps in
   * memory, least recently recorded dropped first; one dropped costs one
   * read when it changes again.
   */
  cachePlayers: number;
}

export type PnlRecorder = ReturnType<typeof createPnlRecorder>;

/**
 * The recorder of P&L over time: writes each player's equity series (at
 * most once a second per series, only while the value changes) and
 * publishes `pnlTicked` when a player's figures changed. No GraphQL in here.
 */
export function createPnlRecorder({ store, pubsub, logger, clock, cachePlayers }: PnlRecorderOptions) {
  const { db } = store;
  /**
   * What the recorder remembers of recently recorded players, least recently
   * recorded first (a Map keeps insertion order): at most `cachePlayers`
   * entries. A player dropped from it costs one batched read of their
   * newest day rows when they change again (what every player costs after a
   * restart), never a lost or extra point; only their next `pnlTicked` is
   * sent even if its figures equal the last one (its digest was dropped too).
   */
  const recorded = new Map<string, RecordedPlayer>();
  /** Players and symbols that changed since the last flush. */
  const dirtyPlayers = new Set<string>();
  const movedSymbols = new Set<string>();
  let flushing: Promise<number> | undefined;

  /** Keeps `entry` as the most recently recorded player, dropping the least recent past `cachePlayers`. */
  const remember = (playerId: string, entry: RecordedPlayer) => {
    recorded.delete(playerId);
    recorded.set(playerId, entry);
    while (recorded.size > cachePlayers) recorded.delete(recorded.keys().next().value!);
  };

  /** One run of {@link PnlRecorder.flush}. */
  const recordChanges = async (): Promise<number> => {
    const nowMs = clock();
    const players = new Set(dirtyPlayers);
    dirtyPlayers.clear();
    const symbols = [...movedSymbols];
    movedSymbols.clear();
    try {
      return await recordFor(nowMs, players, symbols);
    } catch (error) {
      // A failed run (the database away) must not forget what changed: the
      // next run values these players again, or their series would stay stale.
      for (const playerId of players) dirtyPlayers.add(playerId);
      for (const symbol of symbols) movedSymbols.add(symbol);
      throw error;
    }
  };

  const recordFor = async (nowMs: number, players: Set<string>, symbols: string[]): Promise<number> => {
    if (symbols.length) {
      const holders = await db.selectFrom('positions').select('playerId').distinct().where('symbol', 'in', symbols).execute();
      for (const { playerId } of holders) players.add(playerId);
    }
    if (!players.size) return 0;
    const ids = [...players];
    const valuations = await valuePlayers(db, ids);
    const known = await recall(db, recorded, ids);
    const points = changedPoints(valuations.values(), known, nowMs);
    if (points.length) await store.transaction((tx) => writeSeries(tx, store.dialect, points));
    for (const p of points) known.get(p.playerId)!.series.set(p.strategy, p.pnlCents);
    let ticked = 0;
    for (const valuation of valuations.values()) {
      const entry = known.get(valuation.playerId)!;
      remember(valuation.playerId, entry);
      const tick = await pnlTick(db, valuation, nowMs);
      const { at: _at, ...figures } = tick;
      // A digest, not the figures: an entry stays a few dozen bytes however many strategies it has.
      const digest = createHash('sha256').update(JSON.stringify(figures)).digest('base64');
      if (entry.tick === digest) continue;
      entry.tick = digest;
      await pubsub.publish('pnlTicked', valuation.playerId, tick);
      ticked++;
    }
    logger.debug({ players: players.size, points: points.length, ticked, ms: clock() - nowMs }, 'P&L recorded');
    return points.length;
  };

  const recorder = {
    /** Marks a player whose value may have changed (a trade). */
    markPlayer(playerId: string) {
      dirtyPlayers.add(playerId);
    },
    /** Marks a stock whose price moved (every holder's value changed). */
    markSymbol(symbol: string) {
      movedSymbols.add(symbol);
    },

    /**
     * Values every marked player once (a batch read for all of them),
     * records the series that changed (one bucket per resolution, upserted)
     * and publishes `pnlTicked` to players whose figures changed. Returns
     * how many series points were written. Concurrent calls share one run.
     */
    flush(): Promise<number> {
      // `.finally` runs as a later microtask, after `flushing` is assigned (a
      // `finally` inside a run that never awaits would run before it, and the
      // settled promise would stay in `flushing` for good).
      flushing ??= recordChanges().finally(() => (flushing = undefined));
      return flushing;
    },

    /**
     * Starts recording on this instance (scaled out: on the lease holder
     * only): listens for trades and price moves, and flushes every
     * `periodMs`. Every holder is valued once at start, so a change made
     * while no recorder ran is recorded. `dispose` flushes what is pending.
     */
    async startRecorder(options: RecorderOptions = {}) {
      const { periodMs = 1_000 } = options;
      const unsubscribes = [
        await pubsub.subscribe('playerTraded', everyone, ({ playerId }) => recorder.markPlayer(playerId)),
        await pubsub.subscribe('streamEvent', Streams.market, (event) => {
          if (event.type === 'StockTicked') recorder.markSymbol(event.payload.symbol);
        }),
      ];
      const markEveryone = async () => {
        const holders = await db.selectFrom('strategies').select('playerId').distinct().execute();
        for (const { playerId } of holders) recorder.markPlayer(playerId);
      };
      // Messages published while pub/sub was away are lost: value everyone once it is back.
      unsubscribes.push(pubsub.onReconnect(() => void markEveryone().catch((error) => logger.error({ err: error }, 'P&L resync failed'))));
      await markEveryone();
      const run = () => recorder.flush().catch((error) => logger.error({ err: error }, 'P&L recording failed'));
      const timer = periodMs > 0 ? setInterval(run, periodMs) : undefined;
      return {
        async dispose() {
          clearInterval(timer);
          for (const unsubscribe of unsubscribes) unsubscribe();
          await run();
        },
      };
    },

    /** Players the recorder remembers right now (at most `cachePlayers`). */
    recorderStats: () => ({ cachedPlayers: recorded.size }),
  };
  return recorder;
}
