import { sql } from 'kysely';
import type { Database, Dialect, Db, Tx } from '../store/store.js';

/**
 * The resolutions of the P&L series and how long each is kept. Every
 * recording updates one bucket of each resolution at once (write-through
 * roll-up: the minute, hour and day rows keep the first, highest, lowest and
 * last value of their bucket), so nothing needs a separate roll-up job and
 * older fine rows can simply be deleted.
 */
export const resolutions = {
  s: { seconds: 1, keepSeconds: 86_400 }, // a day of seconds
  m: { seconds: 60, keepSeconds: 30 * 86_400 }, // a month of minutes
  h: { seconds: 3_600, keepSeconds: 365 * 86_400 }, // a year of hours
  d: { seconds: 86_400, keepSeconds: Number.POSITIVE_INFINITY }, // days, forever
} as const;

export type Resolution = keyof typeof resolutions;
/** Finest first. */
export const resolutionOrder: readonly Resolution[] = ['s', 'm', 'h', 'd'];

/** Start (epoch seconds) of the bucket of `resolution` holding instant `atSeconds`. */
export const bucketOf = (resolution: Resolution, atSeconds: number) =>
  Math.floor(atSeconds / resolutions[resolution].seconds) * resolutions[resolution].seconds;

/** One value of one series at one instant. */
export interface SeriesPoint {
  playerId: string;
  /** A strategy name, or `*` for the whole account. */
  strategy: string;
  pnlCents: number;
  /** When, in epoch milliseconds. */
  atMs: number;
}

export type SeriesRow = Database['pnlSeries'];

/** Rows per insert statement: 8 parameters each, well under SQLite's and PostgreSQL's limits. */
const writeChunk = 500;

/**
 * Records points (in time order): one upsert per resolution bucket, so writing the same
 * bucket twice (two flushes in one second, two instances) never adds a row,
 * it moves the bucket's high, low and close.
 */
export async function writeSeries(db: Db | Tx, dialect: Dialect, points: readonly SeriesPoint[]): Promise<void> {
  const [larger, smaller] = dialect === 'postgres' ? ['greatest', 'least'] : ['max', 'min'];
  // Points of one batch that share a bucket are merged first: PostgreSQL
  // refuses to update one row twice in one INSERT … ON CONFLICT.
  const merged = new Map<string, SeriesRow>();
  for (const p of points) {
    for (const resolution of resolutionOrder) {
      const bucket = bucketOf(resolution, Math.floor(p.atMs / 1000));
      const key = `${p.playerId}\u0000${p.strategy}\u0000${resolution}\u0000${bucket}`;
      const row = merged.get(key);
      if (row) {
        row.highCents = Math.max(row.highCents, p.pnlCents);
        row.lowCents = Math.min(row.lowCents, p.pnlCents);
        row.closeCents = p.pnlCents;
      } else {
        merged.set(key, { playerId: p.playerId, strategy: p.strategy, resolution, bucket, openCents: p.pnlCents, highCents: p.pnlCents, lowCents: p.pnlCents, closeCents: p.pnlCents });
      }
    }
  }
  const rows = [...merged.values()];
  for (let start = 0; start < rows.length; start += writeChunk) {
    await db
      .insertInto('pnlSeries')
      .values(rows.slice(start, start + writeChunk))
      .onConflict((oc) =>
        oc.columns(['playerId', 'strategy', 'resolution', 'bucket']).doUpdateSet({
          highCents: sql<number>`${sql.raw(larger)}(pnl_series.high_cents, excluded.high_cents)`,
          lowCents: sql<number>`${sql.raw(smaller)}(pnl_series.low_cents, excluded.low_cents)`,
          closeCents: sql<number>`excluded.close_cents`,
        }),
      )
      .execute();
  }
}

/** Rows of one series and resolution with `fromBucket <= bucket < toBucket`, oldest first. */
export async function readSeries(db: Db, key: { playerId: string; strategy: string }, resolution: Resolution, fromBucket: number, toBucket: number) {
  const rows = await db
    .selectFrom('pnlSeries')
    .selectAll()
    .where('playerId', '=', key.playerId)
    .where('strategy', '=', key.strategy)
    .where('resolution', '=', resolution)
    .where('bucket', '>=', fromBucket)
    .where('bucket', '<', toBucket)
    .orderBy('bucket')
    .execute();
  return rows.map(numericRow);
}

/** One part of a stitched range: a resolution and its buckets `from <= bucket < to`. */
export type Segment = readonly [resolution: Resolution, fromBucket: number, toBucket: number];

/**
 * The parts of `[fromSeconds, toSeconds)` at the finest resolution still kept
 * for each (seconds for the last day, minutes for the last month, hours for
 * the last year, days before), oldest first. They never overlap: each starts
 * on a bucket boundary of the next coarser resolution.
 */
export function stitchedSegments(fromSeconds: number, toSeconds: number, nowSeconds: number): Segment[] {
  // Where each finer resolution starts to be kept, on a boundary of the next coarser one.
  const keptFrom = (r: Resolution, coarser: Resolution) => {
    const step = resolutions[coarser].seconds;
    return Math.ceil((nowSeconds - resolutions[r].keepSeconds) / step) * step;
  };
  const starts: Record<Resolution, number> = { s: keptFrom('s', 'm'), m: keptFrom('m', 'h'), h: keptFrom('h', 'd'), d: Number.NEGATIVE_INFINITY };
  const segments: Segment[] = [];
  let end = toSeconds;
  for (const r of resolutionOrder) {
    const from = Math.max(fromSeconds, starts[r]);
    if (from < end) {
      segments.unshift([r, bucketOf(r, from), end]);
      end = from;
    }
    if (end <= fromSeconds) break;
  }
  return segments;
}

/** Rows covering `[fromSeconds, toSeconds)` from {@link stitchedSegments}, oldest first. */
export async function readStitched(db: Db, key: { playerId: string; strategy: string }, fromSeconds: number, toSeconds: number, nowSeconds: number) {
  const segments = stitchedSegments(fromSeconds, toSeconds, nowSeconds);
  const parts = await Promise.all(segments.map(([r, from, to]) => readSeries(db, key, r, from, to)));
  return parts.flat().map((row) => ({ ...row, endBucket: row.bucket + resolutions[row.resolution as Resolution].seconds }));
}

/**
 * What the drawdown of a run of points comes to: enough to finish it with one
 * more point ({@link drawdownStep}) or to answer it. Amounts in cents, times
 * in epoch seconds.
 */
export interface DrawdownState {
  /** Highest value so far (the first point's open counts), and when it was first reached. */
  peak: number;
  peakAt: number;
  /** The largest drop from a peak to a later low (the first one of that size), if any. */
  worst?: { drop: number; peak: number; peakAt: number; troughAt: number; recoveredAt: number | null };
  /** The last point's close. */
  last: number;
}

/** A point of a series as the drawdown sees it: a bucket's open, high, low and close at its start `at`. */
export interface DrawdownPoint {
  at: number;
  open: number;
  high: number;
  low: number;
  close: number;
}

/**
 * One point more. Within a bucket only its high and low are known, not their
 * order: the low is compared with the peak of the points before it (never
 * with its own high), so a coarse bucket can hide a drop inside it but never
 * invents one. `state` undefined: `p` is the first point.
 */
export function drawdownStep(state: DrawdownState | undefined, p: DrawdownPoint): DrawdownState {
  const s: DrawdownState = state ? { ...state } : { peak: p.open, peakAt: p.at, last: p.close };
  const drop = s.peak - p.low;
  if (drop > 0 && (!s.worst || drop > s.worst.drop)) s.worst = { drop, peak: s.peak, peakAt: s.peakAt, troughAt: p.at, recoveredAt: null };
  else if (s.worst && s.worst.recoveredAt === null && p.at > s.worst.troughAt && p.high >= s.worst.peak) s.worst = { ...s.worst, recoveredAt: p.at };
  if (p.high > s.peak) {
    s.peak = p.high;
    s.peakAt = p.at;
  }
  s.last = p.close;
  return s;
}

/**
 * The {@link DrawdownState} of a series over `segments` (after `start`, the
 * value the range starts at, when given), computed by the database in one
 * statement: window functions give each row the peak before it, so however
 * many rows the range covers (up to a day of seconds, a month of minutes, a
 * year of hours and every day before: about 140,000 for a player active all
 * year), the server reads one row and holds nothing per point. The same
 * answer as folding {@link drawdownStep} over the rows in order.
 */
export async function drawdownInDb(
  db: Db,
  dialect: Dialect,
  key: { playerId: string; strategy: string },
  segments: readonly Segment[],
  start?: { at: number; value: number },
): Promise<DrawdownState | undefined> {
  if (!segments.length && !start) return undefined;
  const larger = sql.raw(dialect === 'postgres' ? 'greatest' : 'max');
  const int = (n: number) => sql`cast(${n} as bigint)`;
  const parts = [];
  // The value at `from` is the first peak: it sorts before every row (its `seq` is 0),
  // even a coarse bucket that began before `from`.
  if (start) parts.push(sql`select 0 as seq, ${int(start.at)} as at, ${int(start.value)} as o, ${int(start.value)} as h, ${int(start.value)} as l, ${int(start.value)} as c`);
  if (segments.length) {
    const ranges = segments.map(([r, from, to]) => sql`(resolution = ${r} and bucket >= ${int(from)} and bucket < ${int(to)})`);
    parts.push(sql`select 1 as seq, bucket as at, open_cents as o, high_cents as h, low_cents as l, close_cents as c from pnl_series
      where player_id = ${key.playerId} and strategy = ${key.strategy} and (${sql.join(ranges, sql` or `)})`);
  }
  // One-word aliases: the app's CamelCasePlugin renames snake_case result keys.
  const { rows } = await sql<{
    n: number; fpeak: number | null; fpeakat: number | null; firstat: number | null; lastclose: number | null;
    fall: number | null; wpeak: number | null; troughat: number | null; wpeakat: number | null; recoveredat: number | null;
  }>`
    with pts as (${sql.join(parts, sql` union all `)}),
    w as materialized (
      select i, at, h, l, c, coalesce(max(h) over (order by i rows between unbounded preceding and 1 preceding), o) as pk
      from (select seq, at, o, h, l, c, row_number() over (order by seq, at) as i from pts) numbered
    ),
    fin as (select count(*) as n, ${larger}(max(h), max(pk)) as peak, max(pk - l) as fall from w),
    worst as materialized (select w.i, w.at, w.pk as peak, fin.fall from w, fin where fin.fall > 0 and w.pk - w.l = fin.fall order by w.i limit 1)
    select
      fin.n as n,
      fin.peak as fpeak,
      (select at from w where h >= fin.peak order by i limit 1) as fpeakat,
      (select at from w where i = 1) as firstat,
      (select c from w where i = fin.n) as lastclose,
      worst.fall as fall,
      worst.peak as wpeak,
      worst.at as troughat,
      (select w.at from w where w.i < worst.i and w.h >= worst.peak order by w.i limit 1) as wpeakat,
      (select w.at from w where w.i > worst.i and w.at > worst.at and w.h >= worst.peak order by w.i limit 1) as recoveredat
    from fin left join worst on 1 = 1`.execute(db);
  const row = rows[0];
  if (!row || Number(row.n) === 0) return undefined;
  const num = (v: number | null) => (v === null ? null : Number(v));
  const firstAt = num(row.firstat)!;
  const state: DrawdownState = { peak: num(row.fpeak)!, peakAt: num(row.fpeakat) ?? firstAt, last: num(row.lastclose)! };
  if (row.fall !== null) {
    state.worst = {
      drop: num(row.fall)!,
      peak: num(row.wpeak)!,
      // None before the trough: the drop is inside the first point (from its open).
      peakAt: num(row.wpeakat) ?? firstAt,
      troughAt: num(row.troughat)!,
      recoveredAt: num(row.recoveredat),
    };
  }
  return state;
}

/** The close of a series' last day row before `dayBucket` (undefined: none). */
export async function closeBefore(db: Db, key: { playerId: string; strategy: string }, dayBucket: number): Promise<number | undefined> {
  const row = await db
    .selectFrom('pnlSeries')
    .select('closeCents')
    .where('playerId', '=', key.playerId)
    .where('strategy', '=', key.strategy)
    .where('resolution', '=', 'd')
    .where('bucket', '<', dayBucket)
    .orderBy('bucket', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row ? Number(row.closeCents) : undefined;
}

/** The value a day starts at: the last close before it, else the open of the first day at or after it. */
export async function dayBaseline(db: Db, key: { playerId: string; strategy: string }, dayBucket: number): Promise<number | undefined> {
  const before = await closeBefore(db, key, dayBucket);
  if (before !== undefined) return before;
  const [first] = await readSeries(db, key, 'd', dayBucket, Number.MAX_SAFE_INTEGER);
  return first?.openCents;
}

/**
 * The last recorded value before instant `atSeconds`: the close of the row,
 * of any resolution, whose bucket ended last at or before it.
 */
export async function valueBefore(db: Db, key: { playerId: string; strategy: string }, atSeconds: number): Promise<number | undefined> {
  const candidates = await Promise.all(
    resolutionOrder.map((r) =>
      db
        .selectFrom('pnlSeries')
        .select(['bucket', 'closeCents'])
        .where('playerId', '=', key.playerId)
        .where('strategy', '=', key.strategy)
        .where('resolution', '=', r)
        .where('bucket', '<=', atSeconds - resolutions[r].seconds)
        .orderBy('bucket', 'desc')
        .limit(1)
        .executeTakeFirst()
        .then((row) => row && { end: Number(row.bucket) + resolutions[r].seconds, close: Number(row.closeCents) }),
    ),
  );
  const latest = candidates.filter((c) => c !== undefined).sort((a, b) => b.end - a.end)[0];
  return latest?.close;
}

/** Deletes rows older than their resolution keeps; returns how many. */
export async function pruneSeries(db: Db, nowSeconds: number): Promise<number> {
  let deleted = 0;
  for (const r of resolutionOrder) {
    const keep = resolutions[r].keepSeconds;
    if (!Number.isFinite(keep)) continue;
    const result = await db.deleteFrom('pnlSeries').where('resolution', '=', r).where('bucket', '<', nowSeconds - keep).executeTakeFirst();
    deleted += Number(result.numDeletedRows);
  }
  return deleted;
}

/** PostgreSQL returns `bigint` as numbers already (see the store's type parsers); SQLite too. This keeps the types honest. */
function numericRow(row: SeriesRow): SeriesRow {
  return {
    ...row,
    bucket: Number(row.bucket),
    openCents: Number(row.openCents),
    highCents: Number(row.highCents),
    lowCents: Number(row.lowCents),
    closeCents: Number(row.closeCents),
  };
}
