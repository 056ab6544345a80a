import { describe, expect, it } from 'vitest';
import { createStore } from '../../server/store/store.js';
import { onTeardown } from '../support/harness.js';
import { expectDrawdownsToAgree } from '../support/pnl-drawdown-cases.js';
import { createTestDatabase, servicesAvailable } from '../support/scale.js';

const available = await servicesAvailable({ postgres: true });

describe.skipIf(!available)('P&L drawdown on PostgreSQL', () => {
  it('should compute drawdown in the database exactly as folding the rows in memory (ties, stitched resolutions, a value at "from")', async () => {
    const db = await createTestDatabase();
    const store = await createStore({ databaseUrl: db.url });
    onTeardown(() => store.dispose());
    const withDrops = await expectDrawdownsToAgree(store, { seed: 29, series: 30, windows: 12, nowSeconds: Date.parse('2026-11-30T12:34:56Z') / 1000 });
    expect(withDrops).toBeGreaterThan(150);
  });
});
