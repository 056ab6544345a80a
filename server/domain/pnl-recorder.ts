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
/** Series per player recorded every second at most: the whole account and the strategies traded most recently. */
export const defaultSecondSeries = 2;
/** A strategy not traded for this long is idle: recorded at most once per {@link idleRecordMs}. */
export const activeStrategyMs = 10 * 60_000;
/** How often an idle strategy's series is recorded at most: its minute, hour and day rows stay right, its second rows are one a minute. */
export const idleRecordMs = 60_000;

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
  /** When each strategy last traded, as this recorder saw it (a strategy absent is idle). */
  tradedAt?: Map<string, number>;
  /** When each strategy series was last written by this recorder (absent: due). */
  writtenAt?: Map<string, number>;
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

/**
 * The strategies of a player recorded every second at `atMs`: those traded
 * within {@link activeStrategyMs}, most recent first, at most `slots`.
 */
function everySecond(entry: RecordedPlayer, atMs: number, slots: number): Set<string> {
  const active = [...(entry.tradedAt ?? [])].filter(([, at]) => atMs - at < activeStrategyMs);
  if (active.length > slots) active.sort((a, b) => b[1] - a[1]);
  return new Set(active.slice(0, slots).map(([strategy]) => strategy));
}

/**
 * The series points of `valuations` whose value differs from what `known`
 * last recorded: the whole account always; a strategy every second while it
 * is among the player's `secondSeries - 1` most recently traded active ones,
 * else at most once per {@link idleRecordMs}. A strategy holding nothing
 * keeps its value, so it writes nothing at all.
 */
function changedPoints(valuations: Iterable<Valuation>, known: ReadonlyMap<string, RecordedPlayer>, atMs: number, secondSeries: number): SeriesPoint[] {
  const points: SeriesPoint[] = [];
  for (const valuation of valuations) {
    const entry = known.get(valuation.playerId)!;
    const { series } = entry;
    const account = pnlCents(valuation, wholeAccount);
    if (series.get(wholeAccount) !== account) points.push({ playerId: valuation.playerId, strategy: wholeAccount, pnlCents: account, atMs });
    if (!valuation.strategies.length) continue;
    const fast = everySecond(entry, atMs, secondSeries - 1);
    for (const { strategy } of valuation.strategies) {
      const value = pnlCents(valuation, strategy);
      if (series.get(strategy) === value) continue;
      const written = entry.writtenAt?.get(strategy);
      if (!fast.has(strategy) && written !== undefined && atMs - written < idleRecordMs) continue;
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
  /** Series per player recorded every second at most (the account and the most recently traded strategies); the others once a minute. */
  secondSeries: number;
  /**
   * Longest life of a token, in seconds (TOKEN_MAX_TTL): a player created
   * longer ago holds no token Realmcast issued, so price moves no longer
   * record them (a trade, which needs a valid token, still does).
   */
  tokenMaxTtlSeconds: number;
}

export type PnlRecorder = ReturnType<typeof createPnlRecorder>;

/**
 * The recorder of P&L over time: writes each player's equity series (at
 * most once a second per series, only while the value changes; see
 * {@link changedPoints} for which series, and `createdSince` for whom) and
 * publishes `pnlTicked` when a player's figures changed. No GraphQL in here.
 */
export function createPnlRecorder({ store, pubsub, logger, clock, cachePlayers, secondSeries, tokenMaxTtlSeconds }: PnlRecorderOptions) {
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
  /** Strategies that traded since the last flush, per player, with when (they become active). */
  const tradedStrategies = new Map<string, Map<string, number>>();
  /** Players whose tokens may still be valid: created within TOKEN_MAX_TTL of `nowMs` (ISO text compares in time order). */
  const createdSince = (nowMs: number) => new Date(nowMs - tokenMaxTtlSeconds * 1000).toISOString();
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
    const traded = new Map(tradedStrategies);
    tradedStrategies.clear();
    try {
      return await recordFor(nowMs, players, symbols, traded);
    } catch (error) {
      // A failed run (the database away) must not forget what changed: the
      // next run values these players again, or their series would stay stale.
      for (const playerId of players) dirtyPlayers.add(playerId);
      for (const symbol of symbols) movedSymbols.add(symbol);
      for (const [playerId, strategies] of traded) for (const [strategy, at] of strategies) markTraded(playerId, strategy, at);
      throw error;
    }
  };

  const markTraded = (playerId: string, strategy: string, atMs: number) => {
    let strategies = tradedStrategies.get(playerId);
    if (!strategies) tradedStrategies.set(playerId, (strategies = new Map()));
    strategies.set(strategy, Math.max(atMs, strategies.get(strategy) ?? atMs));
  };

  const recordFor = async (nowMs: number, players: Set<string>, symbols: string[], traded: ReadonlyMap<string, ReadonlyMap<string, number>>): Promise<number> => {
    if (symbols.length) {
      // Holders whose tokens have all expired are not valued on a price move (abandoned guests cost nothing).
      const holders = await db
        .selectFrom('positions')
        .leftJoin('players', 'players.id', 'positions.playerId')
        .select('positions.playerId')
        .distinct()
        .where('positions.symbol', 'in', symbols)
        // No player row (a token that outlived a database reset trades without one): its age is unknown, so it is valued.
        .where((eb) => eb.or([eb('players.createdAt', '>', createdSince(nowMs)), eb('players.id', 'is', null)]))
        .execute();
      for (const { playerId } of holders) players.add(playerId);
    }
    if (!players.size) return 0;
    const ids = [...players];
    const valuations = await valuePlayers(db, ids);
    const known = await recall(db, recorded, ids);
    for (const [playerId, strategies] of traded) {
      const entry = known.get(playerId);
      if (!entry) continue;
      entry.tradedAt ??= new Map();
      for (const [strategy, at] of strategies) entry.tradedAt.set(strategy, at);
    }
    const points = changedPoints(valuations.values(), known, nowMs, secondSeries);
    if (points.length) await store.transaction((tx) => writeSeries(tx, store.dialect, points));
    for (const p of points) {
      const entry = known.get(p.playerId)!;
      entry.series.set(p.strategy, p.pnlCents);
      if (p.strategy !== wholeAccount) (entry.writtenAt ??= new Map()).set(p.strategy, nowMs);
    }
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
    /** Marks a player whose value may have changed (a trade; `strategy`: the one that traded, recorded every second for a while). */
    markPlayer(playerId: string, strategy?: string) {
      dirtyPlayers.add(playerId);
      if (strategy !== undefined) markTraded(playerId, strategy, clock());
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
        await pubsub.subscribe('playerTraded', everyone, ({ playerId, strategy }) => recorder.markPlayer(playerId, strategy)),
        await pubsub.subscribe('streamEvent', Streams.market, (event) => {
          if (event.type === 'StockTicked') recorder.markSymbol(event.payload.symbol);
        }),
      ];
      const markEveryone = async () => {
        const holders = await db
          .selectFrom('strategies')
          .leftJoin('players', 'players.id', 'strategies.playerId')
          .select('strategies.playerId')
          .distinct()
          .where((eb) => eb.or([eb('players.createdAt', '>', createdSince(clock())), eb('players.id', 'is', null)]))
          .execute();
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
