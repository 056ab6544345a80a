/**
 * Terminal ticker: prints the current prices, then one line per price change,
 * green when it went up and red when it went down (ANSI colors; off when
 * stdout is not a terminal, with NO_COLOR set, or with --no-color).
 *
 * Usage: npm run ticker -- [--symbols IRON,GOLD] [--no-color]
 */
import type { MarketTickerSubscription } from '../generated/graphql.js';
import { MarketTickerDocument, StocksDocument } from '../generated/graphql.js';
import { connect, connectionUsage, isMain, list, parseCommandLine, untilSignal } from './cli.js';

const ansi = { reset: '\x1b[0m', bold: '\x1b[1m', dim: '\x1b[2m', red: '\x1b[31m', green: '\x1b[32m' } as const;
type Style = keyof typeof ansi;

/** Wraps text in an ANSI style, or leaves it alone when colors are off. */
export const paint = (color: boolean) => (style: Style, text: string) => (color ? `${ansi[style]}${text}${ansi.reset}` : text);

const signed = (value: number, digits = 2) => `${value > 0 ? '+' : ''}${value.toFixed(digits)}`;

/**
 * One ticker line: time, symbol, price with an arrow and color for the move
 * from `previous`, and the session change.
 */
export function formatTick(tick: MarketTickerSubscription['stockTicked'], previous: number | undefined, color: boolean): string {
  const style = paint(color);
  const move = previous === undefined ? 0 : tick.price - previous;
  const direction: Style = move > 0 ? 'green' : move < 0 ? 'red' : 'dim';
  const arrow = move > 0 ? '▲' : move < 0 ? '▼' : '•';
  const time = new Date(tick.at).toISOString().slice(11, 19);
  return [
    style('dim', time),
    style('bold', tick.symbol.padEnd(6)),
    style(direction, `${tick.price.toFixed(2).padStart(10)} ${arrow} ${signed(move).padStart(8)}`),
    style('dim', `session ${signed(tick.change)} (${signed(tick.changePercent)}%)`),
  ].join('  ');
}

const usage = `Prints live stock prices with colored changes.

Usage: npm run ticker -- [--symbols IRON,GOLD] [--no-color]

  --symbols <A,B>   Only these stocks (default: all)
  --no-color        Plain text (also when NO_COLOR is set or stdout is not a terminal)

${connectionUsage}`;

async function main() {
  const values = parseCommandLine({ symbols: { type: 'string' }, 'no-color': { type: 'boolean' } }, usage);
  const color = !values['no-color'] && !process.env.NO_COLOR && process.stdout.isTTY === true;
  const style = paint(color);
  const symbols = list(values.symbols, (s) => s.toUpperCase());
  const realm = connect(values, (message) => console.log(style('dim', message)));
  const last = new Map<string, number>();

  let stocks;
  try {
    stocks = (await realm.client.query({ query: StocksDocument })).data?.stocks ?? [];
  } catch (error) {
    console.error(`Cannot read the market: ${(error as Error).message}`);
    await realm.dispose();
    process.exit(1);
  }
  for (const stock of stocks) {
    if (symbols && !symbols.includes(stock.symbol)) continue;
    last.set(stock.symbol, stock.price);
    console.log(`${style('bold', stock.symbol.padEnd(6))}  ${stock.price.toFixed(2).padStart(10)}  ${style('dim', stock.name)}`);
  }
  const unknown = symbols?.filter((s) => !last.has(s));
  if (unknown?.length) console.error(`Unknown symbols: ${unknown.join(', ')}`);

  realm.client.subscribe({ query: MarketTickerDocument, variables: { symbols: symbols?.filter((s) => last.has(s)) } }).subscribe(({ data, error }) => {
    if (error) return console.error(`Ticker failed: ${error.message}`);
    if (!data) return;
    const tick = data.stockTicked;
    console.log(formatTick(tick, last.get(tick.symbol), color));
    last.set(tick.symbol, tick.price);
  });

  await untilSignal();
  await realm.dispose();
}

if (isMain(import.meta.url)) await main();
