import { createHash } from 'node:crypto';
import { Repeater } from 'graphql-yoga';
import { sql } from 'kysely';
import type { RealmPubSub } from '../events/pubsub.js';
import { createSharedWatchers, orderedPush, type MemberCounts } from '../live/shared-watchers.js';
import { everyone, Streams, type PnlTickView, type StrategyView } from '../events/topics.js';
import { badInput } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Store } from '../store/store.js';
import {
  bucketOf,
  closeBefore,
  dayBaseline,
  drawdownInDb,
  drawdownStep,
  pruneSeries,
  readSeries,
  resolutions,
  stitchedSegments,
  valueBefore,
  writeSeries,
  type DrawdownPoint,
  type DrawdownState,
  type Resolution,
  type SeriesPoint,
} from './pnl-series.js';
import {
  pnlCents,
  portfolioView,
  startingCashCents,
  strategyView,
  valuePlayers,
  wholeAccount,
  type Valuation,
} from './portfolio.js';
import { fromCents, validStrategy } from './validate.js';

/** Granularity of `pnlHistory`. */
export type PnlInterval = 'SECOND' | 'MINUTE' | 'HOUR' | 'DAY';

const intervalResolution: Record<PnlInterval, Resolution> = { SECOND: 's', MINUTE: 'm', HOUR: 'h', DAY: 'd' };
/** Most points one `pnlHistory` answer may hold. */
export const maxHistoryPoints = 5_000;
/**
 * Extra query cost of one `drawdown` (graphql-armor's estimate, see
 * `server/limits/cost.ts`): the database scans every point of the period, up
 * to about 137,000 rows for all time, to answer one object. Nested in
 * `portfolio` (× 1.5 like every field), at the default MAX_COST of 20,000 an
 * operation can ask three drawdowns, not four.
 */
export const drawdownCost = 4_000;
/** Points of the default window (`from` omitted) per interval: 10 minutes, a day, a month, a year. */
const defaultHistoryPoints: Record<PnlInterval, number> = { SECOND: 600, MINUTE: 1_440, HOUR: 720, DAY: 365 };

export interface PnlPointView {
  at: string;
  equity: number;
  pnl: number;
  drawdown: number;
  drawdownPercent: number;
}

export interface PnlDayView {
  date: string;
  pnl: number;
  trades: number;
  wins: number;
  losses: number;
}

export interface DrawdownView {
  max: number;
  maxPercent: number;
  peakAt: string | null;
  troughAt: string | null;
  recoveredAt: string | null;
  current: number;
  currentPercent: number;
}

/** A `pnlTicked` subscription as its player's watcher sees it. */
interface PnlSubscriber {
  tick(tick: PnlTickView): void;
}

/** The one watcher of a player's P&L ticks on this instance. */
interface PnlWatcher {
  unsubscribe(): void;
  /** The player's tick valued now, shared by subscribers that ask at the same moment. */
  snapshot(): Promise<PnlTickView>;
}

/** What the recorder remembers of a player between flushes, to write and publish only changes. */
interface RecordedPlayer {
  /** Last recorded P&L per series of the player (`*` and each strategy, so at most 21). */
  series: Map<string, number>;
  /** Digest of the figures of the last `pnlTicked` published (undefined: none since the player was remembered). */
  tick?: string;
}

/** Players the recorder remembers at most ({@link createAnalytics}' `cachePlayers`). */
export const defaultCachePlayers = 10_000;

export interface RecorderOptions {
  /** Period of recording, in milliseconds; `0` records only when `flush()` is called. @default 1_000 // 1 second */
  periodMs?: number;
}

export type Analytics = ReturnType<typeof createAnalytics>;

const iso = (seconds: number) => new Date(seconds * 1000).toISOString();
const percentOf = (drop: number, peakPnl: number) => {
  const peakEquity = startingCashCents + peakPnl;
  return peakEquity > 0 ? Math.round((drop / peakEquity) * 1_000_000) / 10_000 : 0;
};
const dayStartSeconds = (ms: number) => bucketOf('d', Math.floor(ms / 1000));

/**
 * P&L over time: the recorder that writes each player's equity series (at
 * most once a second per series, only while the value changes) and
 * publishes `pnlTicked`, and the reads behind `pnlHistory`, `pnlCalendar`,
 * `drawdown` and `todayPnl`. No GraphQL in here.
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

  /** P&L at the start of the UTC day of `nowMs` for a series (undefined: no history yet). */
  const startOfDay = (playerId: string, strategy: string, nowMs: number) => dayBaseline(db, { playerId, strategy }, dayStartSeconds(nowMs));

  /** Highest P&L ever recorded for the whole account (the peak drawdown is measured from). */
  const peakPnl = async (playerId: string) => {
    const row = await db
      .selectFrom('pnlSeries')
      .select((eb) => eb.fn.max('highCents').as('peak'))
      .where('playerId', '=', playerId)
      .where('strategy', '=', wholeAccount)
      .where('resolution', '=', 'd')
      .executeTakeFirst();
    return row?.peak === null || row?.peak === undefined ? undefined : Number(row.peak);
  };

  /** The tick of one valued player: baseline and peak come from the store (two indexed reads). */
  const tickOf = async (valuation: Valuation, nowMs: number): Promise<PnlTickView> => {
    const view = portfolioView(valuation);
    const current = pnlCents(valuation);
    const [baseline, peak] = await Promise.all([startOfDay(valuation.playerId, wholeAccount, nowMs), peakPnl(valuation.playerId)]);
    return {
      playerId: valuation.playerId,
      at: new Date(nowMs).toISOString(),
      totalValue: view.totalValue,
      totalPnl: view.totalPnl,
      todayPnl: fromCents(current - (baseline ?? current)),
      realizedPnl: view.realizedPnl,
      unrealizedPnl: view.unrealizedPnl,
      drawdown: fromCents(Math.max(0, (peak ?? current) - current)),
      strategies: view.strategies,
    };
  };

  /**
   * What the recorder knows of `playerIds`: from memory, or (for players not
   * in it) from each series' newest day row, whose close is the last value
   * recorded. Returned whole, so a batch larger than the cache is compared
   * against what it read even when remembering it pushes some out.
   */
  const recall = async (playerIds: string[]) => {
    const known = new Map<string, RecordedPlayer>();
    const missing: string[] = [];
    for (const id of playerIds) {
      const entry = recorded.get(id);
      if (entry) known.set(id, entry);
      else missing.push(id);
    }
    for (let start = 0; start < missing.length; start += 500) {
      const ids = missing.slice(start, start + 500);
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
  };

  /** Keeps `entry` as the most recently recorded player, dropping the least recent past `cachePlayers`. */
  const remember = (playerId: string, entry: RecordedPlayer) => {
    recorded.delete(playerId);
    recorded.set(playerId, entry);
    while (recorded.size > cachePlayers) recorded.delete(recorded.keys().next().value!);
  };

  /** One run of {@link Analytics.flush}. */
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
    const known = await recall(ids);
    const points: SeriesPoint[] = [];
    for (const valuation of valuations.values()) {
      const { series } = known.get(valuation.playerId)!;
      for (const strategy of [wholeAccount, ...valuation.strategies.map((s) => s.strategy)]) {
        const value = pnlCents(valuation, strategy);
        if (series.get(strategy) === value) continue;
        points.push({ playerId: valuation.playerId, strategy, pnlCents: value, atMs: nowMs });
      }
    }
    if (points.length) await store.transaction((tx) => writeSeries(tx, store.dialect, points));
    for (const p of points) known.get(p.playerId)!.series.set(p.strategy, p.pnlCents);
    let ticked = 0;
    for (const valuation of valuations.values()) {
      const entry = known.get(valuation.playerId)!;
      remember(valuation.playerId, entry);
      const tick = await tickOf(valuation, nowMs);
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

  const tickNow = async (playerId: string): Promise<PnlTickView> => {
    const valuation = (await valuePlayers(db, [playerId])).get(playerId)!;
    return tickOf(valuation, clock());
  };

  /** Valuations made for the first tick of `pnlTicked` subscriptions. */
  let snapshots = 0;
  /** One per player per instance, shared by that player's `pnlTicked` subscriptions. */
  const pnlWatchers = createSharedWatchers<PnlWatcher, PnlSubscriber>({
    async start(playerId, subscribers) {
      const unsubscribe = await pubsub.subscribe('pnlTicked', playerId, (tick) => {
        for (const subscriber of subscribers) subscriber.tick(tick);
      });
      let next: Promise<PnlTickView> | undefined;
      const watcher: PnlWatcher = {
        unsubscribe() {
          stopResync();
          unsubscribe();
        },
        snapshot() {
          // Valued after every subscriber of this moment joined (so it is at least as new as
          // their subscriptions), once for all of them; a later one gets a fresh valuation.
          next ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
            next = undefined;
            snapshots++;
            return tickNow(playerId);
          });
          return next;
        },
      };
      // Ticks published while pub/sub was away are lost: value the player once it is back.
      const stopResync = pubsub.onReconnect(() => {
        watcher
          .snapshot()
          .then((tick) => {
            for (const subscriber of subscribers) subscriber.tick(tick);
          })
          .catch((error: unknown) => logger.error({ err: error, playerId }, 'pnlTicked resync failed'));
      });
      return watcher;
    },
    stop: (watcher) => watcher.unsubscribe(),
  });

  const analytics = {
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
        await pubsub.subscribe('playerTraded', everyone, ({ playerId }) => analytics.markPlayer(playerId)),
        await pubsub.subscribe('streamEvent', Streams.market, (event) => {
          if (event.type === 'StockTicked') analytics.markSymbol(event.payload.symbol);
        }),
      ];
      const markEveryone = async () => {
        const holders = await db.selectFrom('strategies').select('playerId').distinct().execute();
        for (const { playerId } of holders) analytics.markPlayer(playerId);
      };
      // Messages published while pub/sub was away are lost: value everyone once it is back.
      unsubscribes.push(pubsub.onReconnect(() => void markEveryone().catch((error) => logger.error({ err: error }, 'P&L resync failed'))));
      await markEveryone();
      const run = () => analytics.flush().catch((error) => logger.error({ err: error }, 'P&L recording failed'));
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

    /** The player's live tick, valued now (first event of `pnlTicked`). */
    tick: tickNow,

    /**
     * `pnlTicked`: the current tick at once, then each one the recorder
     * publishes. The player's subscriptions on this instance share one
     * watcher: one pub/sub listener, and one valuation for the first tick of
     * everyone who subscribes at the same moment.
     */
    watch(playerId: string): Repeater<PnlTickView> {
      return new Repeater<PnlTickView>(async (push, stop) => {
        const send = orderedPush(push, stop);
        /** `at` of the last tick sent; undefined until the first one. */
        let latest: string | undefined;
        /** The newest tick published while the first one was being valued. */
        let early: PnlTickView | undefined;
        const subscriber: PnlSubscriber = {
          tick(tick) {
            if (latest === undefined) {
              if (!early || tick.at >= early.at) early = tick;
              return;
            }
            // A tick valued before the one already sent is older than what the subscriber has.
            if (tick.at < latest) return;
            latest = tick.at;
            send(tick);
          },
        };
        const { watcher, leave } = await pnlWatchers.join(playerId, subscriber);
        try {
          const first = await watcher.snapshot();
          latest = first.at;
          send(first);
          if (early && early.at >= first.at) subscriber.tick(early);
          early = undefined;
          await stop;
        } catch (error) {
          stop(error);
        } finally {
          leave();
        }
      });
    },
    /** `pnlTicked` subscriptions per player that receive ticks right now (tests wait on it). */
    subscribers: { count: pnlWatchers.count, onCountChanged: pnlWatchers.onCountChanged } satisfies MemberCounts,
    /** Counters of the shared `pnlTicked` watchers: players watched, subscriptions, first-tick valuations. */
    watchStats() {
      const { watchers, members } = pnlWatchers.stats();
      return { players: watchers, subscribers: members, snapshots };
    },

    /** Total value minus its value at 00:00 UTC today (0 before the first recording). */
    async todayPnl(playerId: string, currentPnl: number): Promise<number> {
      const current = Math.round(currentPnl * 100);
      const baseline = await startOfDay(playerId, wholeAccount, clock());
      return fromCents(current - (baseline ?? current));
    },

    /** Points of one resolution between `from` and `to` (default: a window ending now), oldest first. */
    async history(playerId: string, options: { interval: PnlInterval; from?: Date; to?: Date; strategy?: string }): Promise<PnlPointView[]> {
      const { interval } = options;
      const resolution = intervalResolution[interval];
      const step = resolutions[resolution].seconds;
      const strategy = options.strategy === undefined ? wholeAccount : validStrategy(options.strategy);
      const toSeconds = Math.floor((options.to?.getTime() ?? clock()) / 1000);
      const fromSeconds = options.from ? Math.floor(options.from.getTime() / 1000) : toSeconds - (defaultHistoryPoints[interval] - 1) * step;
      if (fromSeconds > toSeconds) throw badInput('from', '"from" must not be after "to".');
      const buckets = Math.floor((bucketOf(resolution, toSeconds) - bucketOf(resolution, fromSeconds)) / step) + 1;
      if (buckets > maxHistoryPoints) {
        throw badInput('from', `At most ${maxHistoryPoints} points per query: ${buckets} ${interval.toLowerCase()}s asked. Narrow "from"/"to" or use a coarser interval.`);
      }
      const rows = await readSeries(db, { playerId, strategy }, resolution, bucketOf(resolution, fromSeconds), toSeconds + 1);
      let peak = Number.NEGATIVE_INFINITY;
      return rows.map((row) => {
        peak = Math.max(peak, row.closeCents);
        const drawdown = peak - row.closeCents;
        return {
          at: iso(row.bucket),
          equity: fromCents(startingCashCents + row.closeCents),
          pnl: fromCents(row.closeCents),
          drawdown: fromCents(drawdown),
          drawdownPercent: percentOf(drawdown, peak),
        };
      });
    },

    /**
     * One row per day of `month` (up to today): the day's P&L (its last
     * value minus the previous day's), and its trades, wins and losses.
     */
    async calendar(playerId: string, options: { month: string; strategy?: string }): Promise<PnlDayView[]> {
      const match = /^(\d{4})-(0[1-9]|1[0-2])$/.exec(options.month);
      if (!match) throw badInput('month', '"month" must look like "2026-11".');
      const strategy = options.strategy === undefined ? wholeAccount : validStrategy(options.strategy);
      const [year, month] = [Number(match[1]), Number(match[2])];
      const monthStart = Date.UTC(year, month - 1, 1) / 1000;
      const monthEnd = Date.UTC(year, month, 1) / 1000;
      const nowMs = clock();
      const today = dayStartSeconds(nowMs);
      if (monthStart > today) return [];

      let tradesQuery = db
        .selectFrom('trades')
        .select([
          sql<string>`substr(at, 1, 10)`.as('day'),
          (eb) => eb.fn.countAll<number>().as('trades'),
          sql<number>`sum(case when realized_cents > 0 then 1 else 0 end)`.as('wins'),
          sql<number>`sum(case when realized_cents < 0 then 1 else 0 end)`.as('losses'),
        ])
        .where('playerId', '=', playerId)
        .where('at', '>=', iso(monthStart))
        .where('at', '<', iso(monthEnd));
      if (strategy !== wholeAccount) tradesQuery = tradesQuery.where('strategy', '=', strategy);
      const [rows, tradeRows, before, live] = await Promise.all([
        readSeries(db, { playerId, strategy }, 'd', monthStart, monthEnd),
        tradesQuery.groupBy(sql`substr(at, 1, 10)`).execute(),
        closeBefore(db, { playerId, strategy }, monthStart),
        today < monthEnd ? valuePlayers(db, [playerId]) : undefined,
      ]);
      const byDay = new Map(rows.map((row) => [row.bucket, row]));
      const tradesByDay = new Map(tradeRows.map((row) => [row.day, row]));
      let previous = before;
      const days: PnlDayView[] = [];
      for (let day = monthStart; day < monthEnd && day <= today; day += 86_400) {
        const row = byDay.get(day);
        // Today ends at the live value, so the calendar agrees with todayPnl.
        const close = day === today && live ? pnlCents(live.get(playerId)!, strategy) : row?.closeCents;
        const opening = previous ?? row?.openCents ?? close;
        const date = iso(day).slice(0, 10);
        const counts = tradesByDay.get(date);
        days.push({
          date,
          pnl: fromCents(close === undefined || opening === undefined ? 0 : close - opening),
          trades: Number(counts?.trades ?? 0),
          wins: Number(counts?.wins ?? 0),
          losses: Number(counts?.losses ?? 0),
        });
        // A day without a row kept its value, except before the first recording (nothing to carry).
        if (close !== undefined && (row || previous !== undefined || day === today)) previous = close;
      }
      return days;
    },

    /**
     * The largest peak-to-trough drop of equity between `from` and `to`
     * (default: all time up to now, the live value included), from the
     * finest resolution still kept for each part of the range; and the
     * current drop from the peak. All values ≥ 0. The database folds the
     * rows ({@link drawdownInDb}); only the live value is added here.
     */
    async drawdown(playerId: string, options: { from?: Date; to?: Date; strategy?: string } = {}): Promise<DrawdownView> {
      const strategy = options.strategy === undefined ? wholeAccount : validStrategy(options.strategy);
      const nowMs = clock();
      const nowSeconds = Math.floor(nowMs / 1000);
      const toSeconds = options.to ? Math.floor(options.to.getTime() / 1000) + 1 : nowSeconds + 1;
      const fromSeconds = options.from ? Math.floor(options.from.getTime() / 1000) : 0;
      if (fromSeconds >= toSeconds) throw badInput('from', '"from" must be before "to".');
      const key = { playerId, strategy };
      const atStart = options.from ? await valueBefore(db, key, fromSeconds) : undefined;
      // Computed by the database, however many rows the range covers: the server holds one row.
      let state = await drawdownInDb(db, store.dialect, key, stitchedSegments(fromSeconds, toSeconds, nowSeconds), atStart === undefined ? undefined : { at: fromSeconds, value: atStart });
      if (state && !options.to) {
        const live = pnlCents((await valuePlayers(db, [playerId])).get(playerId)!, strategy);
        state = drawdownStep(state, { at: nowSeconds, open: live, high: live, low: live, close: live });
      }
      return drawdownView(state);
    },

    /** Deletes series rows older than their resolution keeps. */
    prune: () => pruneSeries(db, Math.floor(clock() / 1000)),
  };
  return analytics;
}

/** The drawdown of bucket rows in time order, folded in memory: the reference {@link drawdownInDb} must agree with. */
export function drawdownOf(points: readonly DrawdownPoint[]): DrawdownView {
  return drawdownView(points.reduce<DrawdownState | undefined>(drawdownStep, undefined));
}

/** What `drawdown` answers for a {@link DrawdownState} (undefined: no points, no drawdown). */
export function drawdownView(state: DrawdownState | undefined): DrawdownView {
  const empty: DrawdownView = { max: 0, maxPercent: 0, peakAt: null, troughAt: null, recoveredAt: null, current: 0, currentPercent: 0 };
  if (!state) return empty;
  const { worst, peak } = state;
  const current = Math.max(0, peak - state.last);
  if (!worst) return { ...empty, current: fromCents(current), currentPercent: percentOf(current, peak) };
  return {
    max: fromCents(worst.drop),
    maxPercent: percentOf(worst.drop, worst.peak),
    peakAt: iso(worst.peakAt),
    troughAt: iso(worst.troughAt),
    recoveredAt: worst.recoveredAt === null ? null : iso(worst.recoveredAt),
    current: fromCents(current),
    currentPercent: percentOf(current, peak),
  };
}
