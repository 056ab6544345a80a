/**
 * The dashboard end to end: built once with Vite, served by a real server,
 * driven in Debian's Chromium through playwright-core. Screenshots of the main
 * states go to test-artifacts/ (not committed) for a human to look at.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Page, ViewportSize } from 'playwright-core';
import { build } from 'vite';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { browserAvailable, launchBrowser } from '../support/browser.js';
import { gql, listening, startServer, type TestServer } from '../support/harness.js';

const root = path.resolve(import.meta.dirname, '../..');
const artifacts = path.join(root, 'test-artifacts');
const desktop: ViewportSize = { width: 1440, height: 1000 };
const phone: ViewportSize = { width: 375, height: 812 };
/** The server gives players this long to come back before showing them offline; short here. */
const presenceGraceMs = 300;

const money = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });

let server: TestServer;
let browser: Browser;
let gmToken: string;
/** The anonymous dashboard most tests watch. */
let main: Page;

/**
 * Console errors and uncaught exceptions of every page, checked after each
 * test. Only while the server is down on purpose are the browser's own
 * reports of refused connections expected.
 */
const consoleErrors: string[] = [];
let serverDown = false;
const refusedConnection = /WebSocket connection to '.*' failed|Failed to load resource: net::ERR_CONNECTION_REFUSED/;

async function openDashboard(
  viewport: ViewportSize,
  label: string,
  prepare?: (context: BrowserContext) => Promise<void>,
  address = '/',
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport, baseURL: `http://127.0.0.1:${server.port}`, reducedMotion: 'reduce' });
  await prepare?.(context);
  // Fail on the locator that did not show up, well before the test's own timeout.
  context.setDefaultTimeout(10_000);
  const page = await context.newPage();
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    if (serverDown && refusedConnection.test(message.text())) return;
    consoleErrors.push(`${label}: ${message.text()}`);
  });
  page.on('pageerror', (error) => consoleErrors.push(`${label} (uncaught): ${error.message}`));
  await page.goto(address);
  return { context, page };
}

const screenshot = (page: Page, name: string) => page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: true });

/** The price cell of one stock, once it shows `price`. */
const priceShown = (page: Page, symbol: string, price: number) =>
  page.locator(`tr[data-symbol="${symbol}"] [data-testid="price"]`, { hasText: new RegExp(`^${money.format(price)}$`) }).waitFor();

async function gm<T = Record<string, any>>(query: string, variables: Record<string, unknown>) {
  const result = await gql<T>(server.url, query, variables, gmToken);
  expect(result.errors).toBeUndefined();
  return result.data!;
}

const setPrice = (symbol: string, price: number) =>
  gm('mutation ($symbol: String!, $price: Float!) { setStockPrice(symbol: $symbol, price: $price) { price } }', { symbol, price });
const announce = (message: string, severity: 'INFO' | 'WARNING' | 'CRITICAL') =>
  gm('mutation ($message: String!, $severity: Severity) { announceWorldEvent(message: $message, severity: $severity) { id } }', { message, severity });

async function signIn(page: Page, name: string) {
  await page.getByLabel('Play as').fill(name);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('session').filter({ hasText: name }).waitFor();
}

/** Gives every stock a short, deterministic price history so the sparklines have a shape. */
async function seedPriceHistory() {
  const { stocks } = await gm<{ stocks: Array<{ symbol: string; price: number }> }>('{ stocks { symbol price } }', {});
  let seed = 7;
  const random = () => ((seed = (seed * 16_807) % 2_147_483_647) - 1) / 2_147_483_646;
  for (const stock of stocks) {
    let price = stock.price;
    for (let i = 0; i < 16; i++) {
      price = Math.round(price * (1 + (random() - 0.48) * 0.03) * 100) / 100;
      await setPrice(stock.symbol, price);
    }
  }
}

const available = browserAvailable();

beforeAll(async () => {
  if (!available) return;
  mkdirSync(artifacts, { recursive: true });
  // The production bundle, whatever NODE_ENV the test runner set: the same files `npm run build` writes.
  const nodeEnv = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    await build({ configFile: path.join(root, 'vite.config.ts'), mode: 'production', logLevel: 'warn' });
  } finally {
    process.env.NODE_ENV = nodeEnv;
  }
  server = await startServer({ presenceGraceMs });
  gmToken = await server.token('GAME_MASTER', 'ops');
  await seedPriceHistory();
  browser = await launchBrowser();
  ({ page: main } = await openDashboard(desktop, 'main'));
});

afterEach(() => {
  expect(consoleErrors).toEqual([]);
});

describe.skipIf(!available)('dashboard', () => {
  it('should serve the built dashboard at / with index.html revalidated and hashed assets cached for good', async () => {
    const base = `http://127.0.0.1:${server.port}`;
    const index = await fetch(`${base}/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('cache-control')).toBe('no-cache');
    const html = await index.text();
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(asset).toBeDefined();
    const script = await fetch(`${base}${asset}`);
    expect(script.status).toBe(200);
    expect(script.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    const graphiql = await fetch(`${base}/graphql`, { headers: { accept: 'text/html' } });
    expect(await graphiql.text()).toContain('GraphiQL');
  });

  it('should load every stock with its price and go live', async () => {
    const { stocks } = await gm<{ stocks: Array<{ symbol: string; price: number }> }>('{ stocks { symbol price } }', {});
    for (const stock of stocks) await priceShown(main, stock.symbol, stock.price);
    await main.locator('[data-status="connected"]').waitFor();
    expect(await main.locator('tr[data-symbol] svg.sparkline').count()).toBe(stocks.length);
    await main.locator('.feed-item').first().waitFor();
    await screenshot(main, 'desktop-market');
  });

  it('should show a price a game master sets, without a reload', async () => {
    await listening(server, 'streamEvent', 'market');
    await setPrice('IRON', 47.25);
    await priceShown(main, 'IRON', 47.25);
    // Change against the open price (42.50), colored as a rise.
    await main.locator('tr[data-symbol="IRON"] td.up .pct', { hasText: '+11.18%' }).waitFor();
  });

  it('should put a new world event at the top of the feed and move faction bars live', async () => {
    await Promise.all([listening(server, 'streamEvent', 'world'), listening(server, 'streamEvent', 'factions')]);
    await announce('A dragon was sighted over the Ironforge mines', 'CRITICAL');
    await main.locator('.feed-item').first().filter({ hasText: 'A dragon was sighted over the Ironforge mines' }).waitFor();
    expect(await main.locator('.feed-item').first().getAttribute('class')).toContain('sev-critical');

    await gm('mutation { shiftFactionInfluence(factionId: "flame", delta: 12, reason: "Zealots march on the capital") { influence } }', {});
    await main.locator('[data-faction="flame"] [role="meter"][aria-valuenow="32"]').waitFor();
    await main.locator('[data-faction="flame"]', { hasText: 'Zealots march on the capital' }).waitFor();
    await screenshot(main, 'desktop-feed-factions');
  });

  it('should let two guests play a turn together with presence, progress and the outcome', async () => {
    const alice = await openDashboard(desktop, 'alice');
    const bob = await openDashboard(phone, 'bob');
    await signIn(alice.page, 'Alice');
    await signIn(bob.page, 'Bob');

    await alice.page.getByLabel('Game name').fill('Council of Ash');
    await alice.page.getByLabel('Players').selectOption('2');
    await alice.page.getByRole('button', { name: 'Create' }).click();
    const room = alice.page.locator('[data-game]');
    await room.waitFor();
    const code = (await room.getAttribute('data-game'))!;
    expect(code).toMatch(/^[A-Z2-9]{6}$/);

    await bob.page.getByLabel('Join code').fill(code.toLowerCase());
    await bob.page.getByRole('button', { name: 'Join' }).click();
    await bob.page.locator(`[data-game="${code}"]`).waitFor();

    // Both watch the room, so both are online for each other.
    await listening(server, 'streamEvent', `game:${code}`, 2);
    await alice.page.locator('li[data-player="Bob"][data-online="true"]').waitFor();
    await bob.page.locator('li[data-player="Alice"][data-online="true"]').waitFor();
    await alice.page.getByTestId('online-count').filter({ hasText: '2/2 online' }).waitFor();
    await alice.page.getByTestId('progress').filter({ hasText: '0 / 2 chosen' }).waitFor();

    // Picking an option shows Bob that Alice is making up her mind.
    await alice.page.getByRole('radio').first().check();
    await bob.page.locator('li[data-player="Alice"] [data-testid="player-state"]', { hasText: 'choosing…' }).waitFor();
    await alice.page.getByRole('button', { name: 'Submit choice' }).click();
    for (const { page } of [alice, bob]) {
      await page.getByTestId('progress').filter({ hasText: '1 / 2 chosen' }).waitFor();
      await page.locator('li[data-player="Alice"][data-chosen="true"]').waitFor();
    }
    await alice.page.getByTestId('waiting').filter({ hasText: 'Waiting for Bob' }).waitFor();
    await bob.page.getByTestId('waiting').filter({ hasText: 'Waiting for you' }).waitFor();
    await screenshot(alice.page, 'desktop-game-waiting');
    await screenshot(bob.page, 'phone-game-waiting');

    await bob.page.getByRole('radio').nth(1).check();
    await bob.page.getByRole('button', { name: 'Submit choice' }).click();
    for (const { page } of [alice, bob]) {
      await page.locator('[data-testid="outcome"][data-turn="1"]').waitFor();
      await page.getByTestId('turn').filter({ hasText: /^2$/ }).waitFor();
      await page.getByTestId('progress').filter({ hasText: '0 / 2 chosen' }).waitFor();
    }
    await screenshot(alice.page, 'desktop-game-outcome');

    // Only the host may force a turn; Bob sees who did.
    expect(await bob.page.getByRole('button', { name: /Force resolve/ }).count()).toBe(0);
    await alice.page.getByRole('button', { name: 'Force resolve turn 2' }).click();
    await bob.page.locator('[data-testid="outcome"][data-turn="2"]', { hasText: 'Forced by Alice' }).waitFor();
    await screenshot(bob.page, 'phone-game-outcome');

    // Bob closes his tab: after the grace period his dot turns gray for Alice.
    await bob.context.close();
    await alice.page.locator('li[data-player="Bob"][data-online="false"]').waitFor();
    await alice.page.getByTestId('online-count').filter({ hasText: '1/2 online' }).waitFor();
    await alice.page.getByTestId('toasts').getByText('Bob went offline').waitFor();
    await alice.context.close();
  });

  it('should trade from the portfolio panel, show P&L live and the server’s errors inline', async () => {
    const carol = await openDashboard(phone, 'carol');
    await signIn(carol.page, 'Carol');
    await carol.page.getByTestId('cash').filter({ hasText: '10,000.00' }).waitFor();
    await setPrice('IRON', 48); // turn effects may have nudged it
    await priceShown(carol.page, 'IRON', 48);
    await carol.page.getByLabel('Stock').selectOption('IRON');
    await carol.page.getByLabel('Shares').fill('10');
    await carol.page.getByRole('button', { name: /^Buy/ }).click();
    await carol.page.getByTestId('order-ok').filter({ hasText: 'Bought 10 IRON at 48.00.' }).waitFor();
    await carol.page.getByTestId('cash').filter({ hasText: '9,520.00' }).waitFor();
    await carol.page.locator('tr[data-position="IRON"]').waitFor();

    const { me } = (await gql<{ me: { id: string } }>(server.url, '{ me { id } }', {}, await carol.page.evaluate(() => localStorage.getItem('realmcast-token')!))).data!;
    await listening(server, 'portfolioChanged', me.id);
    await setPrice('IRON', 51);
    await carol.page.getByTestId('unrealized').filter({ hasText: '+30.00' }).waitFor();

    await carol.page.getByRole('radio', { name: 'Sell' }).check();
    await carol.page.getByLabel('Shares').fill('1000');
    await carol.page.getByRole('button', { name: /^Sell/ }).click();
    const error = carol.page.getByTestId('order-error');
    await error.filter({ hasText: /\S/ }).waitFor();
    expect(await error.textContent()).toMatch(/shares/i);
    await screenshot(carol.page, 'phone-portfolio');
    await carol.context.close();
  });

  it('should color each sparkline like its change column, even when the recent prices fell but the day is up', async () => {
    // SHIP opened at 67: forty falling prices that all stay above it.
    for (let i = 0; i < 40; i++) await setPrice('SHIP', 100 - i * 0.5);
    await priceShown(main, 'SHIP', 80.5);
    const rows = await main.locator('tr[data-symbol]').evaluateAll((trs) =>
      trs.map((tr) => ({
        symbol: tr.getAttribute('data-symbol'),
        sparkline: ['up', 'down', 'flat'].find((d) => tr.querySelector('svg.sparkline')!.classList.contains(d)),
        change: ['up', 'down', 'flat'].find((d) => tr.querySelector('td.col-change')!.classList.contains(d)),
      })),
    );
    expect(rows.find((r) => r.symbol === 'SHIP')).toEqual({ symbol: 'SHIP', sparkline: 'up', change: 'up' });
    for (const row of rows) expect(row.sparkline).toBe(row.change);
  });

  it('should show the trading view live: equity curve with drawdown, calendar, strategies and trade log', async () => {
    const dana = await openDashboard(desktop, 'dana');
    const page = dana.page;
    await signIn(page, 'Dana');
    await page.getByTestId('cash').filter({ hasText: '10,000.00' }).waitFor();
    await page.locator('[data-status="connected"]').waitFor();
    await setPrice('IRON', 50);
    await priceShown(page, 'IRON', 50);
    const trading = page.locator('[data-panel="trading"]');
    await trading.getByText('No trades yet').waitFor();

    // Buy under a strategy from the order form; the price rises, then falls below the peak.
    await page.getByLabel('Stock').selectOption('IRON');
    await page.getByLabel('Shares').fill('20');
    await page.getByLabel('Strategy').fill('swing');
    await page.getByRole('button', { name: /^Buy/ }).click();
    await page.getByTestId('order-ok').filter({ hasText: 'Bought 20 IRON at 50.00.' }).waitFor();
    await trading.locator('.trade-list li', { hasText: 'Bought' }).filter({ hasText: '20 IRON @ 50.00' }).waitFor();
    await setPrice('IRON', 55);
    await trading.getByTestId('total-pnl').filter({ hasText: '+100.00' }).waitFor();
    await setPrice('IRON', 52);
    await trading.getByTestId('total-pnl').filter({ hasText: '+40.00' }).waitFor();
    await trading.getByTestId('drawdown-now').filter({ hasText: '60.00' }).waitFor();
    await trading.locator('tr[data-strategy="swing"] [data-testid="strategy-total"]').filter({ hasText: '+40.00' }).waitFor();

    // Sell half: the log shows the fill with its realized P&L, the table the strategy's trades.
    await page.getByRole('radio', { name: 'Sell' }).check();
    await page.getByLabel('Shares').fill('10');
    await page.getByRole('button', { name: /^Sell/ }).click();
    await trading.locator('.trade-list li.sell').filter({ hasText: '+20.00' }).waitFor();
    await trading.locator('tr[data-strategy="swing"]').filter({ hasText: '50%' }).or(trading.locator('tr[data-strategy="swing"]').filter({ hasText: '100%' })).waitFor();

    // Today's calendar cell and the curve follow.
    const today = new Date().toISOString().slice(0, 10);
    await trading.locator(`.calendar-day.up[data-date="${today}"]`).filter({ hasText: '2×' }).waitFor();
    const chart = trading.getByTestId('equity-chart');
    await chart.locator('canvas').waitFor();
    await expect.poll(async () => Number(await chart.getAttribute('data-points')), { timeout: 10_000 }).toBeGreaterThanOrEqual(3);
    // uPlot drew its own axes and legend.
    expect(await chart.locator('.u-legend').textContent()).toMatch(/Equity.*Peak/s);
    await trading.scrollIntoViewIfNeeded();
    await trading.screenshot({ path: path.join(artifacts, 'desktop-trading.png') });

    // On a phone the trading view stacks into one column without horizontal scrolling.
    await page.setViewportSize(phone);
    // The chart follows its container's width (ResizeObserver), a frame or two after the resize.
    await expect.poll(() => page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)).toBe(0);
    await trading.scrollIntoViewIfNeeded();
    await trading.screenshot({ path: path.join(artifacts, 'phone-trading.png') });
    await dana.context.close();
  });

  it('should show reconnecting while the server restarts, then recover and fill in what was published meanwhile', async () => {
    await Promise.all([listening(server, 'streamEvent', 'world'), listening(server, 'streamEvent', 'market')]);
    const { port, dataDir } = server;
    // A small move: 10% or more would also post a world event and change the feed's order.
    const { stock } = await gm<{ stock: { price: number } }>('{ stock(symbol: "SPICE") { price } }', {});
    const spice = Math.round(stock.price * 102) / 100;
    serverDown = true;
    await server.dispose();
    await main.getByTestId('connection-overlay').waitFor();
    await main.locator('[data-status="reconnecting"], [data-status="offline"]').waitFor();
    await screenshot(main, 'desktop-reconnecting');

    // Published while the page's server is down: by another instance on the same data, then gone.
    const meanwhile = await startServer({ dataDir, presenceGraceMs });
    await gql(meanwhile.url, 'mutation { announceWorldEvent(message: "Published while the dashboard was away", severity: WARNING) { id } }', {}, gmToken);
    await gql(meanwhile.url, 'mutation ($price: Float!) { setStockPrice(symbol: "SPICE", price: $price) { price } }', { price: spice }, gmToken);
    await meanwhile.dispose();

    server = await startServer({ port, dataDir, presenceGraceMs });
    await announce('Published right after the restart', 'INFO');
    // Live over the WebSocket again, never the SSE fallback: a retry made while the server was
    // down that fails late, after HTTP answers again, says nothing about WebSockets.
    await main.locator('[data-status="connected"]').waitFor({ timeout: 15_000 });
    await main.getByTestId('connection-overlay').waitFor({ state: 'detached' });
    await main.getByTestId('toasts').getByText('Reconnected', { exact: true }).waitFor();
    serverDown = false;

    await priceShown(main, 'SPICE', spice);
    const feed = main.locator('.feed-item');
    await feed.first().filter({ hasText: 'Published right after the restart' }).waitFor();
    await feed.nth(1).filter({ hasText: 'Published while the dashboard was away' }).waitFor();
    expect(await main.locator('.feed-item', { hasText: 'A dragon was sighted' }).count()).toBe(1);
    await screenshot(main, 'desktop-recovered');
  });

  it('should stay live over SSE when a network blocks WebSockets', async () => {
    const { context, page } = await openDashboard(desktop, 'sse', async (context) => {
      // Stands in for a proxy that refuses the upgrade: every WebSocket to the API ends abnormally (1006) at once.
      await context.routeWebSocket(/\/graphql/, (socket) => socket.close({ code: 1006 }));
    });
    await page.locator('[data-status="fallback-sse"]', { hasText: 'SSE fallback' }).waitFor({ timeout: 15_000 });
    await listening(server, 'streamEvent', 'market', 2);
    await setPrice('GRAIN', 12.95);
    await priceShown(page, 'GRAIN', 12.95);
    expect(await page.getByTestId('connection-overlay').count()).toBe(0);
    await context.close();
  });

  it('should lay the dashboard out in one column on a phone without horizontal scrolling', async () => {
    const { context, page } = await openDashboard(phone, 'phone');
    await page.locator('[data-status="connected"]').waitFor();
    await page.locator('tr[data-symbol="IRON"]').waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBe(0);
    await screenshot(page, 'phone-dashboard');
    await context.close();
  });

  it('should be usable with the keyboard alone', async () => {
    const { context, page } = await openDashboard(desktop, 'keyboard');
    const focused = () => page.evaluate(() => document.activeElement?.getAttribute('aria-label') ?? document.activeElement?.textContent?.trim() ?? '');
    await page.getByLabel('Play as').waitFor();
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('Skip to the dashboard');
    await page.keyboard.press('Tab');
    await page.keyboard.type('Dana');
    await page.keyboard.press('Enter');
    await page.getByTestId('session').filter({ hasText: 'Dana' }).waitFor();

    // Straight to the game room's first field; from here on only keys.
    await page.getByLabel('Game name').focus();
    await page.keyboard.type('Keyboard court');
    await page.keyboard.press('Enter');
    await page.locator('[data-game]').waitFor();
    await page.getByRole('radio').first().focus();
    await page.keyboard.press('ArrowDown'); // moves to and selects the second choice
    expect(await page.getByRole('radio').nth(1).isChecked()).toBe(true);
    await page.keyboard.press('Enter'); // submits the form the radio is in
    await page.getByTestId('progress').filter({ hasText: /chosen/ }).waitFor();
    await page.locator('[data-testid="outcome"][data-turn="1"]').waitFor(); // alone in the room: resolves at once
    await page.getByRole('button', { name: 'Leave game' }).focus();
    await screenshot(page, 'desktop-keyboard-focus');
    await page.keyboard.press('Enter');
    await page.getByLabel('Game name').waitFor();
    await context.close();
  });

  it('should offer a reload once a page opened with ?maxRetries gives up, and be live again after it', async () => {
    const { context, page } = await openDashboard(desktop, 'gives-up', undefined, '/?maxRetries=2');
    await page.locator('[data-status="connected"]').waitFor();
    const { port, dataDir } = server;
    serverDown = true;
    await server.dispose();

    // The first attempt and two retries fail: the page stops retrying and says so.
    const overlay = page.getByTestId('connection-overlay');
    await page.locator('[data-status="failed"]', { hasText: 'Disconnected' }).waitFor({ timeout: 15_000 });
    await overlay.getByText('The live connection could not be restored').waitFor();
    expect(await overlay.getByRole('button', { name: 'Retry now' }).count()).toBe(0);
    await screenshot(page, 'desktop-gave-up');

    server = await startServer({ port, dataDir, presenceGraceMs });
    await Promise.all([page.waitForEvent('load'), overlay.getByRole('button', { name: 'Reload' }).click()]);
    expect(new URL(page.url()).search).toBe('?maxRetries=2');
    await page.locator('[data-status="connected"]').waitFor();
    await overlay.waitFor({ state: 'detached' });
    // The page that retries forever is back by itself, over the WebSocket.
    await main.locator('[data-status="connected"]').waitFor({ timeout: 15_000 });
    serverDown = false;
    await context.close();
  });
});
