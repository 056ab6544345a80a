/**
 * Measures the P&L recorder under the red-team load: `guests` players each
 * holding one share of GRAIN under each of `strategies` strategies, GRAIN
 * moving every second. Prints, per phase, the series points (each upserts
 * four rows: second, minute, hour, day) and the time of each flush.
 * Phases: right after the trades (every strategy active), then idle (no
 * trade for 11 minutes), then with every guest's tokens expired.
 *
 * Usage: npx tsx scripts/pnl-recorder-load.ts [guests=400] [strategies=20] [seconds=20]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createApp } from '../server/app.js';
import { createLogger } from '../server/logger.js';

const [guests = 400, strategies = 20, seconds = 20] = process.argv.slice(2).map(Number);
const dataDir = mkdtempSync(path.join(tmpdir(), 'realmcast-pnl-load-'));
let now = Date.now();
const app = await createApp({ port: 0, host: '127.0.0.1', dataDir, marketTickMs: 0, pnlRecordMs: 0, clock: () => now, logger: createLogger('silent') });
const { services } = app;

try {
  for (let g = 0; g < guests; g++) {
    const player = await services.players.create(`guest-${g}`, 'PLAYER');
    for (let s = 0; s < strategies; s++) {
      now += 1;
      await services.portfolios.placeOrder(player.id, { symbol: 'GRAIN', side: 'BUY', quantity: 1, strategy: `s${s}` });
      services.analytics.markPlayer(player.id, `s${s}`);
    }
  }
  await services.analytics.flush();
  let price = 20;
  const phase = async (label: string) => {
    const points: number[] = [];
    const ms: number[] = [];
    for (let i = 0; i < seconds; i++) {
      now += 1_000;
      await services.market.setStockPrice('GRAIN', (price = price === 20 ? 21 : 20));
      services.analytics.markSymbol('GRAIN');
      const started = performance.now();
      points.push(await services.analytics.flush());
      ms.push(performance.now() - started);
    }
    const sorted = [...ms].sort((a, b) => a - b);
    const total = points.reduce((a, b) => a + b, 0);
    console.log(
      `${label}: ${guests} guests × ${strategies} strategies, ${seconds} flushes: points/flush avg ${(total / seconds).toFixed(1)} (max ${Math.max(...points)}), row upserts/flush avg ${((4 * total) / seconds).toFixed(0)}, flush ms median ${sorted[Math.floor(seconds / 2)]!.toFixed(1)} max ${sorted.at(-1)!.toFixed(1)}`,
    );
  };
  await phase('active (just traded)');
  now += 11 * 60_000;
  await phase('idle (no trade for 11 min)');
  now += 31 * 86_400_000;
  await phase('tokens expired (created over TOKEN_MAX_TTL ago)');
} finally {
  await app.dispose();
  rmSync(dataDir, { recursive: true, force: true });
}
