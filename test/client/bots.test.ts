import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decide, createMarketMaker } from '../../client/bots/market-maker.js';
import { createRelay } from '../../client/bots/relay.js';
import { formatTick } from '../../client/bots/ticker.js';
import { AnnounceWorldEventDocument, SetStockPriceDocument, ShiftFactionInfluenceDocument } from '../../client/generated/graphql.js';
import { realmcastClient } from '../support/client-harness.js';
import { createGame, joinGame, readGame, signIn, submitChoice } from '../support/games.js';
import { gql, listening, onTeardown, startServer, tempDataDir } from '../support/harness.js';

interface Post {
  text: string;
  key: string | undefined;
  status: number;
}

/** A chat webhook stand-in: records every POST; answers with `statuses` in turn, then 200. */
async function startReceiver(statuses: number[] = []) {
  const posts: Post[] = [];
  const waiters = new Set<() => void>();
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const status = statuses.shift() ?? 200;
      posts.push({ text: JSON.parse(body).text, key: req.headers['idempotency-key'] as string | undefined, status });
      res.writeHead(status).end();
      for (const wake of [...waiters]) wake();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTeardown(() => new Promise((resolve) => server.close(resolve)));
  const delivered = () => posts.filter((p) => p.status === 200).map((p) => p.text);
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    posts,
    delivered,
    /** Resolves once `count` posts were accepted. */
    until: (count: number) =>
      new Promise<string[]>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`only ${delivered().length} of ${count} posts: ${delivered().join(' | ')}`)), 10_000);
        const check = () => {
          if (delivered().length < count) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(delivered());
        };
        waiters.add(check);
        check();
      }),
  };
}

describe('relay bot', () => {
  it('should post chosen events, retry a failed post, and neither lose nor repeat posts across a restart', async () => {
    const app = await startServer();
    const gm = realmcastClient(app.url, { token: await app.token('GAME_MASTER') });
    const announce = (message: string, kind?: string) => gm.client.mutate({ mutation: AnnounceWorldEventDocument, variables: { message, kind } });
    const setPrice = (price: number) => gm.client.mutate({ mutation: SetStockPriceDocument, variables: { symbol: 'IRON', price } });
    const receiver = await startReceiver([500]);
    const stateFile = path.join(tempDataDir(), 'relay', 'state.json');
    const startRelay = async () => {
      const relay = createRelay({
        realm: realmcastClient(app.url),
        webhookUrl: receiver.url,
        stateFile,
        worldKinds: ['announcement'],
        priceMoveThreshold: 5,
        retryDelayMs: 10,
        logger: () => {},
      });
      await relay.start();
      return relay;
    };

    const first = await startRelay();
    await Promise.all([listening(app, 'streamEvent', 'world'), listening(app, 'streamEvent', 'market')]);
    await announce('Gates open');
    await announce('Not for chat', 'other');
    await setPrice(44); // +3.5% from 42.50: below the threshold
    await setPrice(45); // +5.9% from the last reported 42.50
    expect(await receiver.until(2)).toEqual(['[INFO] Gates open', '📈 IRON 42.50 → 45.00 (+5.9%)']);
    // The first attempt got a 500 and was retried with the same idempotency key.
    expect(receiver.posts[0]).toMatchObject({ text: '[INFO] Gates open', status: 500 });
    expect(receiver.posts[1]).toMatchObject({ text: '[INFO] Gates open', status: 200, key: receiver.posts[0]!.key });
    await first.stop();
    expect(JSON.parse(readFileSync(stateFile, 'utf8'))).toMatchObject({ cursors: { world: expect.any(String), market: expect.any(String) }, reportedPrices: { IRON: 45 } });

    // While the relay is down:
    await announce('While you were away');
    await setPrice(40); // -11.1% from 45

    await startRelay();
    const replayed = await receiver.until(4);
    expect(replayed.slice(2).sort()).toEqual(['[INFO] While you were away', '📉 IRON 45.00 → 40.00 (-11.1%)'].sort());
    await announce('Welcome back');
    await setPrice(50); // +25% from 40
    const all = await receiver.until(6);
    expect(all.slice(4).sort()).toEqual(['[INFO] Welcome back', '📈 IRON 40.00 → 50.00 (+25.0%)'].sort());
    expect(new Set(all).size).toBe(all.length);
    expect(receiver.posts).toHaveLength(7); // six messages, one retry
  });
});

describe('relay bot: game turn results', () => {
  it('should post each resolved turn of a game once, with a GAME_MASTER token, across a restart', async () => {
    const app = await startServer();
    const [alice, bob] = [await signIn(app.url, 'Alice'), await signIn(app.url, 'Bob')];
    const game = await createGame(app.url, alice.token, 'Dragon Council');
    await joinGame(app.url, bob.token, game.code);
    /** Both players choose: the second choice resolves the turn. */
    const playTurn = async () => {
      const { turnNumber, scenario } = await readGame(app.url, alice.token, game.code);
      for (const player of [alice, bob]) {
        expect((await submitChoice(app.url, player.token, game.code, scenario.choices[0].id, turnNumber)).errors).toBeUndefined();
      }
      return turnNumber as number;
    };
    const receiver = await startReceiver();
    const stateFile = path.join(tempDataDir(), 'relay', 'state.json');
    const gmToken = await app.token('GAME_MASTER');
    const startRelay = async () => {
      const relay = createRelay({
        realm: realmcastClient(app.url, { token: gmToken }),
        webhookUrl: receiver.url,
        stateFile,
        worldKinds: [],
        priceMoveThreshold: 0,
        games: [game.code.toLowerCase()],
        retryDelayMs: 10,
        logger: () => {},
      });
      await relay.start();
      return relay;
    };
    const turnMessage = (turn: number) => new RegExp(`^🎲 Dragon Council \\(${game.code}\\) turn ${turn}: \\S`);

    // No stored cursor: the relay starts from the game's cursor read at start, so no wait for the subscription.
    const first = await startRelay();
    expect(await playTurn()).toBe(1);
    const [turn1] = await receiver.until(1);
    expect(turn1).toMatch(turnMessage(1));
    await first.stop();
    expect(JSON.parse(readFileSync(stateFile, 'utf8')).cursors).toEqual({ [`game:${game.code}`]: expect.any(String) });

    await startRelay();
    expect(await playTurn()).toBe(2);
    const afterRestart = await receiver.until(2);
    expect(afterRestart[1]).toMatch(turnMessage(2));
    // Posts are in order: if turn 1 or 2 came again, it would show before turn 3.
    expect(await playTurn()).toBe(3);
    const all = await receiver.until(3);
    expect(all).toHaveLength(3);
    expect(all[2]).toMatch(turnMessage(3));
    expect(receiver.posts.map((p) => p.key)).toEqual([...new Set(receiver.posts.map((p) => p.key))]);
  });
});

describe('market-maker bot', () => {
  it('should buy a dip and sell the rally with a BOT token scoped to trade', async () => {
    const app = await startServer();
    const gm = realmcastClient(app.url, { token: await app.token('GAME_MASTER') });
    const setPrice = (price: number) => gm.client.mutate({ mutation: SetStockPriceDocument, variables: { symbol: 'IRON', price } });
    const botToken = await app.token('BOT', 'maker', ['trade']);
    const lines: string[] = [];
    const waiters = new Set<() => void>();
    const logged = (pattern: RegExp) =>
      new Promise<string>((resolve) => {
        const check = () => {
          const line = lines.find((l) => pattern.test(l));
          if (!line) return;
          waiters.delete(check);
          resolve(line);
        };
        waiters.add(check);
        check();
      });
    const bot = createMarketMaker({
      realm: realmcastClient(app.url, { token: botToken }),
      symbols: ['IRON'],
      lot: 10,
      dipPercent: 2,
      rallyPercent: 2,
      cooldownMs: 0,
      logger: (line) => {
        lines.push(line);
        for (const wake of [...waiters]) wake();
      },
    });
    await bot.start();
    onTeardown(() => bot.stop());
    await listening(app, 'streamEvent', 'market');

    await setPrice(41); // -3.5% from 42.50
    expect(await logged(/^BUY/)).toMatch(/^BUY 10 IRON @ 41\.00 \(dip/);
    expect(await logged(/^P&L/)).toBe('P&L market-maker: +0.00 (realized +0.00, unrealized +0.00), drawdown 0.00 from best +0.00');
    await gm.client.mutate({ mutation: ShiftFactionInfluenceDocument, variables: { factionId: 'crown', delta: -15, reason: 'scandal' } });
    expect(await logged(/no buying/)).toMatch(/The Crown -15 \(scandal\)/);
    await setPrice(40); // cautious, so no buying: a loss on the position, and the drawdown shows it
    expect(await logged(/^P&L .*-10\.00/)).toBe('P&L market-maker: -10.00 (realized +0.00, unrealized -10.00), drawdown 10.00 from best +0.00');
    await setPrice(42); // +5% over the cost of 41
    expect(await logged(/^SELL/)).toMatch(/^SELL 10 IRON @ 42\.00 \(rally/);
    expect(await logged(/^P&L .*\+10\.00/)).toBe('P&L market-maker: +10.00 (realized +10.00, unrealized +0.00), drawdown 0.00 from best +10.00');
    // Its orders are labelled with its strategy.
    const trades = await gql(app.url, '{ portfolio { strategies { strategy trades realizedPnl } } }', {}, botToken);
    expect(trades.data!.portfolio.strategies).toEqual([{ strategy: 'market-maker', trades: 2, realizedPnl: 10 }]);
  });

  it('should buy dips and sell rallies within its limits', () => {
    const flat = { price: 100, reference: 100, position: { quantity: 0, averageCost: 0 }, cash: 10_000, cautious: false };
    expect(decide(flat)).toBeNull();
    expect(decide({ ...flat, price: 97 })).toMatchObject({ side: 'BUY', quantity: 10 });
    expect(decide({ ...flat, price: 97, cautious: true })).toBeNull();
    expect(decide({ ...flat, price: 97, position: { quantity: 100, averageCost: 100 } })).toBeNull(); // at the position limit
    expect(decide({ ...flat, price: 97, position: { quantity: 95, averageCost: 100 } }, { maxPosition: 100 })).toMatchObject({ side: 'BUY', quantity: 5 });
    expect(decide({ ...flat, price: 97, cash: 1_500 }, { minCash: 1_000 })).toMatchObject({ side: 'BUY', quantity: 5 });
    expect(decide({ ...flat, price: 97, cash: 1_050 }, { minCash: 1_000 })).toBeNull();
    expect(decide({ ...flat, price: 103, position: { quantity: 4, averageCost: 100 } })).toMatchObject({ side: 'SELL', quantity: 4 });
  });
});

describe('ticker', () => {
  it('should color a rise green, a fall red, and print plain text without colors', () => {
    const tick = { cursor: 'c', symbol: 'IRON', price: 43, change: 0.5, changePercent: 1.18, at: '2026-01-31T12:00:00.000Z' };
    expect(formatTick(tick, 42, true)).toContain('\x1b[32m');
    expect(formatTick(tick, 44, true)).toContain('\x1b[31m');
    expect(formatTick(tick, 42, false)).toBe('12:00:00  IRON         43.00 ▲    +1.00  session +0.50 (+1.18%)');
  });
});
