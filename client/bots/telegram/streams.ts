/**
 * The Realmcast streams the Telegram bot follows, one subscription each for
 * the whole bot (never one per chat): `worldEvents`, `stockTicked`, and
 * `gameEvents` for every game some chat follows. Each starts `after:` its
 * stored cursor. Events are handled one at a time, in arrival order: the
 * messages for every interested chat go into their outboxes and the cursor
 * advances in the same state write (see `state.ts`), then the chats' senders
 * are started.
 */
import { CombinedGraphQLErrors } from '@apollo/client';
import type { Observable } from 'rxjs';
import { delay } from '../../backoff.js';
import { backoffDelay, type RealmcastClient } from '../../index.js';
import { MarketTickerDocument, StocksDocument, TelegramGameDocument, TelegramGameResultsDocument, WorldEventsDocument, WorldFeedDocument } from '../../generated/graphql.js';
import type { MarketTickerSubscription, StocksQuery, TelegramGameResultsSubscription, WorldFeedSubscription } from '../../generated/graphql.js';
import type { Delivery } from './delivery.js';
import { gameOverMessage, turnResultMessage, watchAlert, worldEventLine, type StockRow } from './format.js';
import { isActive, type TelegramBotState } from './state.js';

/** The latest price of every stock, kept current by the ticker. */
export interface MarketTable {
  rows(): StockRow[];
  /** When the latest applied tick happened (epoch ms). */
  updatedAt(): number | undefined;
  get(symbol: string): StockRow | undefined;
  symbols(): string[];
}

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

type Row = StockRow & { at: number };

const worldKey = 'world';
const marketKey = 'market';
const gameKey = (code: string) => `game:${code}`;

/** Error codes that mean "this game's results will never come": stop following it. */
const gameRefusals = new Set(['NOT_FOUND', 'FORBIDDEN', 'NOT_IN_GAME', 'UNAUTHENTICATED']);

export function createStreams(options: StreamsOptions): Streams {
  const { realm, state, save, delivery, logger, retryDelayMs = 1_000, marketSaveDelayMs = 5_000 } = options;
  const rows = new Map<string, Row>();
  let updatedAt: number | undefined;
  const stopping = new AbortController();
  const open = new Map<string, { unsubscribe(): void }>();
  /** Events and stream failures are handled strictly one after another. */
  let queue: Promise<void> = Promise.resolve();
  let marketSaveTimer: NodeJS.Timeout | undefined;

  const enqueue = (work: () => Promise<void>) => {
    queue = queue.then(work).catch((error) => logger(`event handling failed: ${(error as Error).message}`));
  };

  const followers = (code: string) => Object.entries(state.chats).filter(([, chat]) => code in chat.games);

  /** Posts `text` to `chatIds`, saves (with the cursor the caller set), then starts their senders. */
  const deliver = async (posts: Array<[chatId: string, text: string]>) => {
    for (const [chatId, text] of posts) delivery.post(chatId, text);
    await save();
    for (const chatId of new Set(posts.map(([chatId]) => chatId))) delivery.kick(chatId);
  };

  const onWorldEvent = async (event: WorldFeedSubscription['worldEvents']) => {
    const important = event.severity !== 'INFO';
    const text = worldEventLine(event);
    const posts: Array<[string, string]> = [];
    for (const [chatId, chat] of Object.entries(state.chats)) {
      if (chat.events === 'all' || (chat.events === 'important' && important)) posts.push([chatId, text]);
    }
    state.cursors[worldKey] = event.cursor;
    await deliver(posts);
  };

  const onTick = async (tick: MarketTickerSubscription['stockTicked']) => {
    const at = Date.parse(tick.at);
    const row = rows.get(tick.symbol);
    // A replayed tick older than the prices read at start changes nothing on screen.
    if (!row || at >= row.at) {
      rows.set(tick.symbol, { symbol: tick.symbol, price: tick.price, change: tick.change, changePercent: tick.changePercent, at });
      updatedAt = Math.max(updatedAt ?? 0, at);
      delivery.marketMoved();
    }
    const posts: Array<[string, string]> = [];
    let watched = false;
    for (const [chatId, chat] of Object.entries(state.chats)) {
      const watch = chat.watches[tick.symbol];
      if (Object.keys(chat.watches).length) watched = true;
      if (!watch) continue;
      if ((Math.abs(tick.price - watch.reference) / watch.reference) * 100 < watch.percent) continue;
      posts.push([chatId, watchAlert(tick.symbol, watch.reference, tick.price, watch.percent)]);
      watch.reference = tick.price;
    }
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
    const chats = followers(code);
    const posts: Array<[string, string]> = [];
    let over = false;
    if (event.__typename === 'TurnResolved') {
      for (const [chatId, chat] of chats) posts.push([chatId, turnResultMessage({ code, name: chat.games[code]! }, event.turnNumber, event.outcome, event.choice?.label)]);
    } else if (event.__typename === 'PlayerLeft' && event.remainingPlayers === 0) {
      over = true;
      for (const [chatId, chat] of chats) {
        posts.push([chatId, gameOverMessage({ code, name: chat.games[code]! })]);
        delete chat.games[code];
      }
    }
    state.cursors[gameKey(code)] = event.cursor;
    await deliver(posts);
    if (over) prune();
  };

  /** Why a stream failed, as far as the server said. */
  const refusal = (error: unknown): { code?: string; field?: string } => {
    if (!CombinedGraphQLErrors.is(error)) return {};
    const extensions = error.errors[0]?.extensions as { code?: string; field?: string } | undefined;
    return { code: extensions?.code, field: extensions?.field };
  };

  /**
   * Follows one stream from its stored cursor; on failure decides whether to
   * start over from the present (the server cannot continue from the cursor),
   * give up (`refused` returns true), or try again later.
   */
  const follow = <D>(
    key: string,
    subscribe: (after: string | undefined) => Observable<{ data?: D; error?: unknown }>,
    handle: (data: D) => Promise<void>,
    {
      refused = async () => false,
      present = async () => undefined,
    }: {
      /** Whether an error code means the stream will never work (then it is dropped). */
      refused?: (code: string | undefined) => Promise<boolean>;
      /** The stream's newest cursor now, read before following it again from the present. */
      present?: () => Promise<string | undefined>;
    } = {},
  ) => {
    let attempt = 0;
    const start = () => {
      if (stopping.signal.aborted) return;
      let ended = false;
      let subscription: { unsubscribe(): void } | undefined;
      const entry = { unsubscribe: () => subscription?.unsubscribe() };
      open.set(key, entry);
      const fail = (error: unknown) => {
        if (ended) return;
        ended = true;
        entry.unsubscribe();
        if (open.get(key) !== entry) return; // stopped on purpose
        enqueue(async () => {
          const { code, field } = refusal(error);
          if (code === 'BAD_USER_INPUT' && field === 'after') {
            // Older than the server's retention, or from a world that was reset: nothing to
            // resume. Read where the stream is first, so nothing from now on is missed.
            const now = await present().catch(() => undefined);
            if (now) state.cursors[key] = now;
            else delete state.cursors[key];
            await save();
            logger(`${key}: the server cannot continue from the stored cursor (${(error as Error).message}); continuing from now`);
            return start();
          }
          if (await refused(code)) {
            open.delete(key);
            return;
          }
          const wait = backoffDelay(attempt++, { initialDelayMs: retryDelayMs, maxDelayMs: 60_000 });
          logger(`${key}: stream ended (${error instanceof Error ? error.message : String(error)}); following again in ${wait} ms`);
          // Waits outside the queue: the other streams' events keep flowing meanwhile.
          void delay(wait, stopping.signal).then(() => {
            if (open.get(key) === entry) start(); // not unfollowed meanwhile
          });
        });
      };
      subscription = subscribe(state.cursors[key]).subscribe({
        next: ({ data, error }) => {
          if (error) return fail(error);
          if (!data) return;
          attempt = 0;
          enqueue(() => handle(data));
        },
        error: fail,
        complete: () => fail(new Error('completed by the server')),
      });
      if (ended) subscription.unsubscribe(); // failed while subscribing
    };
    start();
  };

  const followGame = (code: string, cursor?: string) => {
    const key = gameKey(code);
    if (open.has(key)) return;
    if (cursor) state.cursors[key] ??= cursor;
    follow(
      key,
      (after) => realm.client.subscribe({ query: TelegramGameResultsDocument, variables: { code, after } }),
      (data) => onGameEvent(code, data.gameEvents),
      {
        present: async () =>
          (await realm.client.query({ query: TelegramGameDocument, variables: { code }, fetchPolicy: 'network-only' })).data?.game?.cursor,
        refused: async (errorCode) => {
          if (!errorCode || !gameRefusals.has(errorCode)) return false;
          logger(`${key}: the server refuses it (${errorCode}); no longer following`);
          const why =
            errorCode === 'NOT_FOUND'
              ? 'the game no longer exists'
              : "this bot's Realmcast token may not watch games (the admin needs a BOT token with the watchAnyGame scope)";
          const posts: Array<[string, string]> = [];
          for (const [chatId, chat] of followers(code)) {
            posts.push([chatId, `⚠️ Stopped following game ${code}: ${why}.`]);
            delete chat.games[code];
          }
          delete state.cursors[key];
          await deliver(posts);
          return true;
        },
      },
    );
  };

  const prune = () => {
    const followed = new Set(Object.values(state.chats).flatMap((chat) => Object.keys(chat.games)));
    for (const [key, subscription] of open) {
      if (!key.startsWith('game:') || followed.has(key.slice('game:'.length))) continue;
      open.delete(key);
      subscription.unsubscribe();
      delete state.cursors[key];
    }
    for (const [chatId, chat] of Object.entries(state.chats)) if (!isActive(chat)) delete state.chats[chatId];
  };

  const refreshStocks = async () => {
    const { data } = await realm.client.query({ query: StocksDocument, fetchPolicy: 'network-only' });
    for (const stock of (data as StocksQuery | undefined)?.stocks ?? []) {
      const at = Date.parse(stock.updatedAt);
      const row = rows.get(stock.symbol);
      if (!row || at >= row.at) rows.set(stock.symbol, { ...stock, at });
    }
  };

  return {
    market: {
      rows: () => [...rows.values()],
      updatedAt: () => updatedAt,
      get: (symbol) => rows.get(symbol),
      symbols: () => [...rows.keys()],
    },
    async start() {
      for (let attempt = 0; ; attempt++) {
        try {
          await refreshStocks();
          break;
        } catch (error) {
          const wait = backoffDelay(attempt, { initialDelayMs: retryDelayMs, maxDelayMs: 30_000 });
          logger(`cannot read the market yet (${(error as Error).message}); retrying in ${wait} ms`);
          await delay(wait, stopping.signal);
        }
      }
      follow(worldKey, (after) => realm.client.subscribe({ query: WorldFeedDocument, variables: { after } }), (data) => onWorldEvent(data.worldEvents), {
        present: async () => (await realm.client.query({ query: WorldEventsDocument, variables: { last: 1 }, fetchPolicy: 'network-only' })).data?.worldEvents[0]?.cursor,
      });
      follow(marketKey, (after) => realm.client.subscribe({ query: MarketTickerDocument, variables: { after } }), (data) => onTick(data.stockTicked));
      for (const chat of Object.values(state.chats)) for (const code of Object.keys(chat.games)) followGame(code);
    },
    refreshStocks,
    followGame,
    prune,
    async dispose() {
      stopping.abort();
      clearTimeout(marketSaveTimer);
      for (const subscription of open.values()) subscription.unsubscribe();
      open.clear();
      await queue;
    },
  };
}
