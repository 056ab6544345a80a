import { describe, expect, it } from 'vitest';
import { errorCode, gql, startServer } from '../support/harness.js';

const history = '{ portfolio { pnlHistory(interval: MINUTE) { at } } }';
const desk = '{ portfolio { totalPnl pnlHistory(interval: DAY) { at } pnlCalendar(month: "2026-11") { date } drawdown { max } } }';

/** A promise and the function that settles it. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

describe('analytics queries in flight per player', () => {
  it('should run at most ANALYTICS_IN_FLIGHT analytics operations per player at once, refuse the next with RATE_LIMITED (429) before it runs, and free the slot when one ends', async () => {
    const app = await startServer({ analyticsInFlight: 2 });
    const [alice, bob] = [await app.token(), await app.token()];
    // Hold every history read until the gate opens; count the reads that started.
    const held = gate();
    let started = 0;
    let startedTwo!: () => void;
    const twoStarted = new Promise<void>((resolve) => (startedTwo = resolve));
    const read = app.services.analytics.history;
    app.services.analytics.history = async (...args) => {
      if (++started === 2) startedTwo();
      await held.opened;
      return read(...args);
    };

    // The dashboard's query counts once, though it asks three analytics fields.
    const first = gql(app.url, desk, {}, alice);
    const second = gql(app.url, history, {}, alice);
    await twoStarted;
    const third = await gql(app.url, history, {}, alice);
    expect(third.status).toBe(429);
    expect(third.errors![0]!.extensions).toMatchObject({ code: 'RATE_LIMITED', limit: 'analyticsInFlight', retryAfterMs: 1_000 });
    expect(started).toBe(2);
    // Other players and other operations are not held up.
    expect((await gql(app.url, '{ portfolio { totalPnl } }', {}, alice)).errors).toBeUndefined();
    const other = gql(app.url, history, {}, bob);

    held.open();
    const results = await Promise.all([first, second, other]);
    for (const result of results) expect(result.errors).toBeUndefined();
    expect(results[0]!.data!.portfolio).toHaveProperty('drawdown');
    // Both slots are free again.
    expect((await Promise.all([gql(app.url, history, {}, alice), gql(app.url, history, {}, alice)])).map(errorCode)).toEqual([undefined, undefined]);
  });

  it('should free the slot of an operation whose analytics read failed', async () => {
    const app = await startServer({ analyticsInFlight: 1 });
    const token = await app.token();
    const read = app.services.analytics.history;
    let fail = true;
    app.services.analytics.history = async (...args) => {
      if (fail) throw new Error('database away');
      return read(...args);
    };
    expect(errorCode(await gql(app.url, history, {}, token))).toBe('INTERNAL_SERVER_ERROR');
    fail = false;
    const after = await gql(app.url, history, {}, token);
    expect(after.errors).toBeUndefined();
  });
});
