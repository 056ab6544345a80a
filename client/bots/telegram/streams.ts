/**
 * The Realmcast streams the Telegram bot follows, one subscription each for
 * the whole bot (never one per chat): `worldEvents`, `stockTicked`, and
 * `gameEvents` for every game some chat follows. Each starts `after:` its
 * stored cursor. Events are handled one at a time, in arrival order: the
 * messages for every interested chat go into their outboxes and the cursor
 * advances in the same state write (see `state.ts`), then the chats' senders
 * are started.
 *
 * The parts: `stream-follower.ts` follows a stream and recovers from its
 * failures, `stream-posts.ts` says which chat gets what for each stream's
 * events, `market-table.ts` keeps the prices; this file wires them per stream.
 */
import { delay } from '../../backoff.js';
import { backoffDelay, type RealmcastClient } from '../../index.js';
import { MarketTickerDocument, StocksDocument, TelegramGameDocument, TelegramGameResultsDocument, WorldEventsDocument, WorldFeedDocument } from '../../generated/graphql.js';
import type { MarketTickerSubscription, StocksQuery, TelegramGameResultsSubscription, WorldFeedSubscription } from '../../generated/graphql.js';
import type { Delivery } from './delivery.js';
import { createMarketTable, type MarketTable } from './market-table.js';
import { isActive, type TelegramBotState } from './state.js';
import { createStreamFollower } from './stream-follower.js';
import { gameEventPosts, gameRefusalPosts, gameRefusals, watchAlertPosts, worldEventPosts, type Post } from './stream-posts.js';

export interface StreamsOptions {
  realm: RealmcastClient;
  state: TelegramBotState;
  save(): Promise<void>;
  delivery: Delivery;
  logger(message: string): void;
  /** First delay before following a failed stream again; doubles up to a minute. @default 1_000 // 1 second */
  retryDelayMs?: number;
  /** How long a market cursor may wait to be saved when no alert forced a write. @default 5_000 // 5 seconds */
  marketSaveDelayMs?: number;
}

export interface Streams {
  market: MarketTable;
  /** Reads the stocks (retrying until the server answers) and follows every stream the state needs. */
  start(): Promise<void>;
  /** Reads the stocks again (a symbol the bot does not know yet). */
  refreshStocks(): Promise<void>;
  /** Follows a game's results from its stored cursor, or else `cursor`, unless they are followed already. */
  followGame(code: string, cursor?: string): void;
  /** Stops following games no chat follows any more. */
  prune(): void;
  dispose(): Promise<void>;
}

const worldKey = 'world';
const marketKey = 'market';
const gamePrefix = 'game:';
const gameKey = (code: string) => `${gamePrefix}${code}`;

export function createStreams(options: StreamsOptions): Streams {
  const { realm, state, save, delivery, logger, retryDelayMs = 1_000, marketSaveDelayMs = 5_000 } = options;
  const market = createMarketTable();
  const follower = createStreamFollower({ state, save, logger, retryDelayMs });
  let marketSaveTimer: NodeJS.Timeout | undefined;

  /** Posts to the chats, saves (with the cursor the caller set), then starts their senders. */
  const deliver = async (posts: Post[]) => {
    for (const [chatId, text] of posts) delivery.post(chatId, text);
    await save();
    for (const chatId of new Set(posts.map(([chatId]) => chatId))) delivery.kick(chatId);
  };

  const onWorldEvent = async (event: WorldFeedSubscription['worldEvents']) => {
    const posts = worldEventPosts(state, event);
    state.cursors[worldKey] = event.cursor;
    await deliver(posts);
  };

  const onTick = async (tick: MarketTickerSubscription['stockTicked']) => {
    if (market.applyTick(tick)) delivery.marketMoved();
    const { posts, watched } = watchAlertPosts(state, tick);
    if (!watched) {
      // Nothing depends on past ticks: after a restart, start from the present.
      delete state.cursors[marketKey];
      return;
    }
    state.cursors[marketKey] = tick.cursor;
    if (posts.length) {
      clearTimeout(marketSaveTimer);
      marketSaveTimer = undefined;
      await deliver(posts);
    } else {
      // Ticks without alerts are replayed harmlessly after a crash (they alert
      // nothing then either), so their cursor is saved lazily: no write per tick.
      marketSaveTimer ??= setTimeout(() => {
        marketSaveTimer = undefined;
        save().catch((error) => logger(`saving state failed: ${(error as Error).message}`));
      }, marketSaveDelayMs);
    }
  };

  const onGameEvent = async (code: string, event: TelegramGameResultsSubscription['gameEvents']) => {
    const { posts, over } = gameEventPosts(state, code, event);
    state.cursors[gameKey(code)] = event.cursor;
    await deliver(posts);
    if (over) prune();
  };

  /** The server refuses the game's results: tells its followers when that is for good. */
  const onGameRefused = async (code: string, errorCode: string | undefined) => {
    if (!errorCode || !gameRefusals.has(errorCode)) return false;
    const key = gameKey(code);
    logger(`${key}: the server refuses it (${errorCode}); no longer following`);
    const posts = gameRefusalPosts(state, code, errorCode);
    delete state.cursors[key];
    await deliver(posts);
    return true;
  };

  const followGame = (code: string, cursor?: string) => {
    const key = gameKey(code);
    if (follower.has(key)) return;
    if (cursor) state.cursors[key] ??= cursor;
    follower.follow(
      key,
      (after) => realm.client.subscribe({ query: TelegramGameResultsDocument, variables: { code, after } }),
      (data) => onGameEvent(code, data.gameEvents),
      {
        present: async () =>
          (await realm.client.query({ query: TelegramGameDocument, variables: { code }, fetchPolicy: 'network-only' })).data?.game?.cursor,
        refused: (errorCode) => onGameRefused(code, errorCode),
      },
    );
  };

  const prune = () => {
    const followed = new Set(Object.values(state.chats).flatMap((chat) => Object.keys(chat.games)));
    for (const key of follower.keys()) {
      if (!key.startsWith(gamePrefix) || followed.has(key.slice(gamePrefix.length))) continue;
      follower.unfollow(key);
      delete state.cursors[key];
    }
    for (const [chatId, chat] of Object.entries(state.chats)) if (!isActive(chat)) delete state.chats[chatId];
  };

  const refreshStocks = async () => {
    const { data } = await realm.client.query({ query: StocksDocument, fetchPolicy: 'network-only' });
    market.applyStocks((data as StocksQuery | undefined)?.stocks ?? []);
  };

  return {
    market,
    async start() {
      for (let attempt = 0; ; attempt++) {
        try {
          await refreshStocks();
          break;
        } catch (error) {
          const wait = backoffDelay(attempt, { initialDelayMs: retryDelayMs, maxDelayMs: 30_000 });
          logger(`cannot read the market yet (${(error as Error).message}); retrying in ${wait} ms`);
          await delay(wait, follower.signal);
        }
      }
      follower.follow(worldKey, (after) => realm.client.subscribe({ query: WorldFeedDocument, variables: { after } }), (data) => onWorldEvent(data.worldEvents), {
        present: async () => (await realm.client.query({ query: WorldEventsDocument, variables: { last: 1 }, fetchPolicy: 'network-only' })).data?.worldEvents[0]?.cursor,
      });
      follower.follow(marketKey, (after) => realm.client.subscribe({ query: MarketTickerDocument, variables: { after } }), (data) => onTick(data.stockTicked));
      for (const chat of Object.values(state.chats)) for (const code of Object.keys(chat.games)) followGame(code);
    },
    refreshStocks,
    followGame,
    prune,
    async dispose() {
      clearTimeout(marketSaveTimer);
      await follower.dispose();
    },
  };
}
