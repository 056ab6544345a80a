/**
 * Measures what the P&L series costs per active player: records a full day
 * of one point per second for an account and one strategy (the worst case:
 * the value changes every second, all day) through the recorder's own write
 * path, then reads the table's size from the database.
 *
 * Usage: npx tsx scripts/pnl-storage.ts [postgres://…]   (default: a temporary SQLite file)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { resolutions, writeSeries, type SeriesPoint } from '../server/domain/pnl-series.js';
import { createStore } from '../server/store/store.js';

const databaseUrl = process.argv[2];
const dataDir = mkdtempSync(path.join(tmpdir(), 'realmcast-pnl-storage-'));
const store = await createStore(databaseUrl ? { databaseUrl } : { dataDir });
const playerId = '7f1c2a4e-0000-4000-8000-000000000000'; // a UUID, like real player ids
const series = ['*', 'market-maker'];
const day = Date.parse('2026-11-02T00:00:00Z');

try {
  await store.db.deleteFrom('pnlSeries').execute();
  let pnl = 0;
  for (let second = 0; second < 86_400; second += 600) {
    const points: SeriesPoint[] = [];
    for (let s = second; s < second + 600; s++) {
      pnl += (s % 7) - 3; // changes every second
      for (const strategy of series) points.push({ playerId, strategy, pnlCents: pnl, atMs: day + s * 1000 });
    }
    await store.transaction((tx) => writeSeries(tx, store.dialect, points));
  }
  const counts = await store.db.selectFrom('pnlSeries').select(['resolution', (eb) => eb.fn.countAll<number>().as('rows')]).groupBy('resolution').execute();
  const rows = Object.fromEntries(counts.map((c) => [c.resolution, Number(c.rows)]));
  let bytes: number;
  if (store.dialect === 'postgres') {
    await sql`vacuum full analyze pnl_series`.execute(store.db);
    const size = await sql<{ bytes: string }>`select pg_total_relation_size('pnl_series') as bytes`.execute(store.db);
    bytes = Number(size.rows[0]!.bytes);
  } else {
    await sql`vacuum`.execute(store.db);
    const size = await sql<{ bytes: number }>`select sum(pgsize) as bytes from dbstat where name in ('pnl_series', 'sqlite_autoindex_pnl_series_1')`.execute(store.db);
    bytes = Number(size.rows[0]!.bytes);
  }
  const total = Object.values(rows).reduce((a, b) => a + b, 0);
  const perRow = bytes / total;
  const kept = (r: keyof typeof resolutions) => (Number.isFinite(resolutions[r].keepSeconds) ? resolutions[r].keepSeconds / 86_400 : Infinity);
  const perSeriesDay = { s: 86_400, m: 1_440, h: 24, d: 1 } as const;
  console.log(`${store.dialect}: ${total} rows for ${series.length} series × 1 day, ${bytes} bytes → ${perRow.toFixed(1)} bytes per row (index included)`);
  console.log('resolution | rows per series per day | kept (days) | most rows standing per series | MB standing per series');
  let standing = 0;
  for (const r of ['s', 'm', 'h'] as const) {
    const rowsStanding = perSeriesDay[r] * kept(r);
    standing += rowsStanding;
    console.log(`${r} | ${perSeriesDay[r]} | ${kept(r)} | ${rowsStanding} | ${((rowsStanding * perRow) / 1e6).toFixed(2)}`);
  }
  console.log(`d | 1 | forever | +1 per day | ${(perRow / 1e3).toFixed(2)} kB per day`);
  console.log(`per series: at most ${((standing * perRow) / 1e6).toFixed(1)} MB standing (seconds, minutes, hours) + ${perRow.toFixed(0)} bytes per active day forever`);
  console.log(`first day of a series, worst case: ${(((perSeriesDay.s + perSeriesDay.m + perSeriesDay.h + 1) * perRow) / 1e6).toFixed(2)} MB`);
} finally {
  await store.dispose();
  rmSync(dataDir, { recursive: true, force: true });
}
