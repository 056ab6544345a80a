import { sql } from 'kysely';
import type { PnlTickView } from '../events/topics.js';
import { badInput } from '../errors.js';
import type { Db, Store } from '../store/store.js';
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
  type DrawdownPoint,
  type DrawdownState,
  type Resolution,
} from './pnl-series.js';
import {
  pnlCents,
  portfolioView,
  startingCashCents,
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
 * Extra query cost of an all-time `drawdown` (graphql-armor's estimate, see
 * `server/limits/cost.ts`): the database scans every point of the period, up
 * to about 137,000 rows for all time, to answer one object. Nested in
 * `portfolio` (× 1.5 like every field), at the default MAX_COST of 20,000 an
 * operation can ask three all-time drawdowns, not four. A shorter window
 * costs its share ({@link drawdownCostOf}).
 */
export const drawdownCost = 4_000;
/** Rows an all-time drawdown scans for a player recorded every second for a year: what {@link drawdownCost} pays for. */
export const drawdownAllTimeRows = 137_000;
/**
 * Extra query cost of one point `pnlHistory` may return: serializing points
 * is its work. With the 5,000-point cap an unknown range costs 5,000 (× 1.5
 * in `portfolio`), so the dashboard's query fits MAX_COST with a drawdown and
 * 30 aliased default-window `pnlHistory(interval: SECOND)` (18,000 points) do not.
 */
export const historyPointCost = 1;
/** Points of the default window (`from` omitted) per interval: 10 minutes, a day, a month, a year. */
const defaultHistoryPoints: Record<PnlInterval, number> = { SECOND: 600, MINUTE: 1_440, HOUR: 720, DAY: 365 };

/**
 * A bound as an operation writes it, before it runs: epoch milliseconds,
 * `'variable'` (unknown until it runs) or undefined (omitted: its default).
 */
export type BoundAsWritten = number | 'variable' | undefined;

/**
 * Most points a `pnlHistory` may return for its arguments as written (1 to
 * {@link maxHistoryPoints}), assuming the worst wherever a variable decides:
 * an unknown interval is the finest one, an unknown bound the cap.
 */
export function historyPointsAtMost(options: { interval: PnlInterval | 'variable'; from: BoundAsWritten; to: BoundAsWritten }, nowMs: number): number {
  const { interval, from, to } = options;
  if (from === undefined) return interval === 'variable' ? Math.max(...Object.values(defaultHistoryPoints)) : defaultHistoryPoints[interval];
  if (from === 'variable' || to === 'variable') return maxHistoryPoints;
  const resolution = intervalResolution[interval === 'variable' ? 'SECOND' : interval];
  const [fromSeconds, toSeconds] = [Math.floor(from / 1000), Math.floor((to ?? nowMs) / 1000)];
  if (fromSeconds > toSeconds) return 1; // refused when it runs
  const buckets = (bucketOf(resolution, toSeconds) - bucketOf(resolution, fromSeconds)) / resolutions[resolution].seconds + 1;
  return Math.min(buckets, maxHistoryPoints);
}

/**
 * The extra query cost of a `drawdown` over its window as written: its share
 * of {@link drawdownCost} by the rows the window can make the database scan
 * (each part at the finest resolution still kept, as it reads them), at
 * most {@link drawdownCost}. An omitted or unknown `from` is all time, an
 * omitted or unknown `to` now.
 */
export function drawdownCostOf(options: { from: BoundAsWritten; to: BoundAsWritten }, nowMs: number): number {
  const nowSeconds = Math.floor(nowMs / 1000);
  const fromSeconds = typeof options.from === 'number' ? Math.floor(options.from / 1000) : 0;
  const toSeconds = typeof options.to === 'number' ? Math.floor(options.to / 1000) + 1 : nowSeconds + 1;
  if (fromSeconds >= toSeconds) return 1; // refused when it runs, or nothing to read
  let rows = 0;
  for (const [resolution, start, end] of stitchedSegments(fromSeconds, toSeconds, nowSeconds)) rows += Math.ceil((end - start) / resolutions[resolution].seconds);
  return Math.max(1, Math.min(drawdownCost, Math.ceil((rows * drawdownCost) / drawdownAllTimeRows)));
}

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

const iso = (seconds: number) => new Date(seconds * 1000).toISOString();
const percentOf = (drop: number, peakPnl: number) => {
  const peakEquity = startingCashCents + peakPnl;
  return peakEquity > 0 ? Math.round((drop / peakEquity) * 1_000_000) / 10_000 : 0;
};
const dayStartSeconds = (ms: number) => bucketOf('d', Math.floor(ms / 1000));

/** P&L at the start of the UTC day of `nowMs` for a series (undefined: no history yet). */
const startOfDay = (db: Db, playerId: string, strategy: string, nowMs: number) => dayBaseline(db, { playerId, strategy }, dayStartSeconds(nowMs));

/** Highest P&L ever recorded for the whole account (the peak drawdown is measured from). */
async function peakPnl(db: Db, playerId: string) {
  const row = await db
    .selectFrom('pnlSeries')
    .select((eb) => eb.fn.max('highCents').as('peak'))
    .where('playerId', '=', playerId)
    .where('strategy', '=', wholeAccount)
    .where('resolution', '=', 'd')
    .executeTakeFirst();
  return row?.peak === null || row?.peak === undefined ? undefined : Number(row.peak);
}

/**
 * The `pnlTicked` tick of one valued player at `nowMs`: baseline and peak
 * come from the store (two indexed reads). What the recorder publishes and
 * what a new subscription gets first.
 */
export async function pnlTick(db: Db, valuation: Valuation, nowMs: number): Promise<PnlTickView> {
  const view = portfolioView(valuation);
  const current = pnlCents(valuation);
  const [baseline, peak] = await Promise.all([startOfDay(db, valuation.playerId, wholeAccount, nowMs), peakPnl(db, valuation.playerId)]);
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
}

/**
 * The rows of `pnlCalendar`: one per day of `month` (up to today, `nowMs`):
 * the day's P&L (its last value minus the previous day's), and its trades,
 * wins and losses.
 */
async function calendarDays(db: Db, playerId: string, options: { month: string; strategy?: string }, nowMs: number): Promise<PnlDayView[]> {
  const match = /^(\d{4})-(0[1-9]|1[0-2])$/.exec(options.month);
  if (!match) throw badInput('month', '"month" must look like "2026-11".');
  const strategy = options.strategy === undefined ? wholeAccount : validStrategy(options.strategy);
  const [year, month] = [Number(match[1]), Number(match[2])];
  // Date.UTC maps years 0–99 to 1900–1999, and nothing is recorded before the epoch anyway.
  if (year < 1970) throw badInput('month', '"month" must be 1970-01 or later.');
  const monthStart = Date.UTC(year, month - 1, 1) / 1000;
  const monthEnd = Date.UTC(year, month, 1) / 1000;
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
}

export type PnlQueries = ReturnType<typeof createPnlQueries>;

/**
 * The reads of P&L over time behind `pnlHistory`, `pnlCalendar`,
 * `drawdown`, `todayPnl` and the first tick of `pnlTicked`, over the series
 * the recorder (`pnl-recorder.ts`) writes. No GraphQL in here.
 */
export function createPnlQueries({
  store,
  clock = Date.now,
}: {
  store: Store;
  /** Current time in epoch milliseconds (tests drive a whole trading day with it). @default Date.now */
  clock?: () => number;
}) {
  const { db } = store;
  return {
    /** The player's live tick, valued now (first event of `pnlTicked`). */
    async tick(playerId: string): Promise<PnlTickView> {
      const valuation = (await valuePlayers(db, [playerId])).get(playerId)!;
      return pnlTick(db, valuation, clock());
    },

    /** Total value minus its value at 00:00 UTC today (0 before the first recording). */
    async todayPnl(playerId: string, currentPnl: number): Promise<number> {
      const current = Math.round(currentPnl * 100);
      const baseline = await startOfDay(db, playerId, wholeAccount, clock());
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
    calendar: (playerId: string, options: { month: string; strategy?: string }): Promise<PnlDayView[]> => calendarDays(db, playerId, options, clock()),

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
