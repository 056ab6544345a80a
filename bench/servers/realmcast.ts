/**
 * Realmcast itself, built by `createApp` with the simulator off. Market
 * events are price changes through the market domain
 * (`services.market.setStockPrice`); the game room's events are players'
 * typing and choices through the games and typing domains. Either way the
 * publish path is the real one: a transaction, the event log, pub/sub.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { App } from '../../server/app.js';
import type { PlayerRef } from '../../server/events/topics.js';
import { Streams } from '../../server/events/topics.js';
import { repoRoot } from '../ipc.js';
import type { ServerOptions } from '../protocol.js';
import { createMarketFeed, type Target } from './target.js';

/**
 * The server modules: the compiled build in `dist/` (what `npm start` runs,
 * built by `bench/run.ts` when stale), or the TypeScript sources through tsx
 * with `--from-source` (quicker to iterate on; tsx's transform costs some
 * heap per closure, so heap figures are not comparable).
 */
async function serverModules(fromSource: boolean) {
  const load = (name: string) => (fromSource ? `../../server/${name}.js` : pathToFileURL(path.join(repoRoot, 'dist', 'server', `${name}.js`)).href);
  const { createApp } = (await import(load('app'))) as typeof import('../../server/app.js');
  const { createLogger } = (await import(load('logger'))) as typeof import('../../server/logger.js');
  return { createApp, createLogger };
}

export async function startRealmcast(options: ServerOptions): Promise<Target> {
  const { createApp, createLogger } = await serverModules(options.fromSource ?? false);
  const dataDir = mkdtempSync(path.join(tmpdir(), 'realmcast-bench-'));
  const app = await createApp({
    port: 0,
    host: '127.0.0.1',
    marketTickMs: 0,
    dataDir,
    redisUrl: options.redisUrl,
    redisPrefix: options.redisPrefix,
    jwtSecret: randomBytes(32).toString('hex'),
    logger: createLogger('warn'),
    // Every bench connection comes from 127.0.0.1; real clients come from many addresses.
    operationRatePerAddress: { points: 1_000_000, seconds: 10 },
    maxConnectionsPerAddress: 1_000_000,
    maxConnections: 1_000_000,
  });
  const url = app.url.replace(/^http/, 'ws');
  const workload = options.workload === 'game' ? await gameRoom(app, options.players ?? 12) : await market(app);
  return {
    ...workload,
    info: { url, ...workload.info },
    async dispose() {
      await app.dispose();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function market(app: App) {
  const stocks = await app.services.market.listStocks();
  const feed = createMarketFeed(
    stocks.map((s) => ({ symbol: s.symbol, price: s.openPrice })),
    async (symbol, price) => {
      await app.services.market.setStockPrice(symbol, price);
    },
  );
  return { info: { keys: feed.keys }, publish: feed.publish, warmup: feed.warmup, count: feed.count };
}

/**
 * A full room of `size` players. Each player in turn starts typing, submits
 * a choice and stops typing (as a client does when the choice is sent); the
 * last choice of a turn resolves it. Three calls per player per turn stay
 * under the typing limit (5 per 5 s) at the bench's default rate, and
 * `typing: false` clears the automatic expiry, so every event the room sees
 * is one the driver caused.
 */
async function gameRoom(app: App, size: number) {
  const { players, games, gameViews, typing, events, tokens } = app.services;
  const refs: PlayerRef[] = [];
  for (let i = 0; i < size; i++) refs.push(await players.create(`bench-player-${i + 1}`, 'PLAYER'));
  const signed = await Promise.all(refs.map((p) => tokens.sign({ ...p, role: 'PLAYER', scopes: [] })));
  const created = await games.create(refs[0]!, 'Bench room', size);
  const code = created.code;
  for (const player of refs.slice(1)) await games.join(player, code);
  let scenario = created.scenario!;

  let step = 0;
  let warmups = 0;
  let typingPublished = 0;
  const setTyping = async (player: PlayerRef, on: boolean) => {
    if (await typing.setTyping(player, code, on)) typingPublished++;
  };
  return {
    info: { keys: ['game'], game: { code, tokens: signed } },
    async publish() {
      const index = Math.floor(step / 3);
      const action = step++ % 3;
      const player = refs[index % size]!;
      if (action === 0) return setTyping(player, true);
      if (action === 2) return setTyping(player, false);
      const choice = scenario.choices[index % scenario.choices.length]!;
      const submitted = await games.submitChoice(player, code, choice.id);
      if (submitted.payload.allSubmitted) scenario = (await gameViews.view(code))!.scenario!;
    },
    // `typing: false` starts no expiry timer: nothing arrives later by itself.
    warmup: () => setTyping(refs[warmups++ % size]!, false),
    count: async () => ({ game: (await events.head(Streams.game(code))) + typingPublished }),
  };
}
