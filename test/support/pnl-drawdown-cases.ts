/**
 * Random P&L series for checking that the database computes a drawdown
 * exactly as folding the same rows in memory does (SQLite here, PostgreSQL
 * in `scale/`). Values are small integers so that ties (equal peaks, equal
 * drops) are everywhere: the first of equals must win in both.
 */
import { expect } from 'vitest';
import { drawdownInDb, drawdownStep, readStitched, resolutions, stitchedSegments, valueBefore, type Resolution } from '../../server/domain/pnl-series.js';
import type { Store } from '../../server/store/store.js';

/** A small seeded generator (mulberry32), so a failing case can be replayed. */
export function seeded(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  return { next, int: (min: number, max: number) => min + Math.floor(next() * (max - min + 1)) };
}

const day = 86_400;
/** How far back rows of each resolution are made: past what each keeps, so stitching is exercised too. */
const spread: Record<Resolution, number> = { s: 2 * day, m: 40 * day, h: 400 * day, d: 800 * day };

/**
 * Writes `series` random series ending at `nowSeconds` and, for each, asks
 * `windows` random ranges (with and without `from`); expects the database's
 * state to equal the in-memory fold of the rows `readStitched` returns.
 */
export async function expectDrawdownsToAgree(store: Store, { seed, series, windows, nowSeconds }: { seed: number; series: number; windows: number; nowSeconds: number }) {
  const random = seeded(seed);
  let compared = 0;
  for (let n = 0; n < series; n++) {
    const key = { playerId: `random-${seed}-${n}`, strategy: n % 2 ? '*' : 'alpha' };
    const rows = new Map<string, Record<string, string | number>>();
    for (const resolution of ['s', 'm', 'h', 'd'] as const) {
      const step = resolutions[resolution].seconds;
      for (let i = random.int(0, 40); i > 0; i--) {
        const bucket = Math.floor((nowSeconds - random.int(0, spread[resolution])) / step) * step;
        const [a, b, c, d] = [0, 0, 0, 0].map(() => random.int(-5, 5)) as [number, number, number, number];
        const low = Math.min(a, b, c, d);
        const high = Math.max(a, b, c, d);
        rows.set(`${resolution}${bucket}`, { ...key, resolution, bucket, openCents: a, highCents: high, lowCents: low, closeCents: d });
      }
    }
    if (rows.size) await store.db.insertInto('pnlSeries').values([...rows.values()] as never).execute();
    for (let w = 0; w < windows; w++) {
      const scale = spread[(['s', 'm', 'h', 'd'] as const)[random.int(0, 3)]!];
      const withFrom = random.next() < 0.7;
      const fromSeconds = withFrom ? nowSeconds - random.int(0, scale) : 0;
      const toSeconds = random.next() < 0.5 ? nowSeconds + 1 : random.int(fromSeconds + 1, nowSeconds + 1);
      const atStart = withFrom ? await valueBefore(store.db, key, fromSeconds) : undefined;
      const start = atStart === undefined ? undefined : { at: fromSeconds, value: atStart };
      const points = (await readStitched(store.db, key, fromSeconds, toSeconds, nowSeconds)).map((row) => ({
        at: row.bucket,
        open: row.openCents,
        high: row.highCents,
        low: row.lowCents,
        close: row.closeCents,
      }));
      if (start) points.unshift({ at: start.at, open: start.value, high: start.value, low: start.value, close: start.value });
      const expected = points.reduce(drawdownStep, undefined);
      const actual = await drawdownInDb(store.db, store.dialect, key, stitchedSegments(fromSeconds, toSeconds, nowSeconds), start);
      expect({ seed, series: n, window: w, state: actual }).toEqual({ seed, series: n, window: w, state: expected });
      if (expected?.worst) compared++;
    }
  }
  return compared;
}
