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

/**
 * Rows covering `[fromSeconds, toSeconds)` at the finest resolution still
 * kept for each part of the range (seconds for the last day, minutes for the
 * last month, hours for the last year, days before), oldest first.
 */
export async function readStitched(db: Db, key: { playerId: string; strategy: string }, fromSeconds: number, toSeconds: number, nowSeconds: number) {
  // Where each finer resolution starts to be kept, on a boundary of the next coarser one.
  const keptFrom = (r: Resolution, coarser: Resolution) => {
    const step = resolutions[coarser].seconds;
    return Math.ceil((nowSeconds - resolutions[r].keepSeconds) / step) * step;
  };
  const starts: Record<Resolution, number> = { s: keptFrom('s', 'm'), m: keptFrom('m', 'h'), h: keptFrom('h', 'd'), d: Number.NEGATIVE_INFINITY };
  const segments: Array<[Resolution, number, number]> = [];
  let end = toSeconds;
  for (const r of resolutionOrder) {
    const from = Math.max(fromSeconds, starts[r]);
    if (from < end) {
      segments.unshift([r, bucketOf(r, from), end]);
      end = from;
    }
    if (end <= fromSeconds) break;
  }
  const parts = await Promise.all(segments.map(([r, from, to]) => readSeries(db, key, r, from, to)));
  return parts.flat().map((row) => ({ ...row, endBucket: row.bucket + resolutions[row.resolution as Resolution].seconds }));
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
