/**
 * What the Telegram bot keeps across restarts (the `BOT_STATE` file), and the
 * bounds on everything a chat can make it hold.
 *
 * Delivery follows the transactional-outbox pattern: when a Realmcast event
 * arrives, the message for every interested chat is put in that chat's
 * `outbox` and the stream's cursor advances, in one atomic write. Messages
 * leave the outbox only once Telegram accepted them. So a crash loses
 * nothing (the outbox and the cursor are on disk together) and repeats
 * nothing, except a message Telegram accepted in the instant before the write
 * that removes it from the outbox (Telegram has no idempotency key).
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { readJsonFile } from '../state-file.js';

/** Which world events a chat gets pushed: all, or only WARNING and CRITICAL. */
export type EventsFilter = 'all' | 'important';

export interface Watch {
  /** Alert when the price moves this many percent from `reference`. */
  percent: number;
  /** The price of the last alert (or when the watch was set). */
  reference: number;
}

export interface LiveMarket {
  /** The message edited in place. */
  messageId: number;
  /** When it stops (epoch ms). */
  until: number;
}

export interface ChatState {
  /** World events pushed to the chat; absent: none. */
  events?: EventsFilter;
  /** Followed games: join code → game name. */
  games: Record<string, string>;
  /** Price watches: symbol → watch. */
  watches: Record<string, Watch>;
  /** The running live market message, if any. */
  live?: LiveMarket;
  /** Messages waiting to be sent, oldest first. */
  outbox: OutboxItem[];
  /** Id of the next outbox item. */
  nextItemId: number;
  /** Messages dropped because the outbox was full, not yet reported to the chat. */
  dropped: number;
}

/** A message (Telegram HTML) waiting in a chat's outbox. */
export interface OutboxItem {
  id: number;
  text: string;
}

export interface TelegramBotState {
  version: 1;
  /**
   * The last Telegram update handled. Telegram sends updates again until a
   * later `getUpdates` confirms them, so after a crash the last batch comes
   * back: those are skipped, never handled twice.
   */
  lastUpdateId: number;
  /** Realmcast stream cursors: `world`, `market`, `game:<CODE>`. */
  cursors: Record<string, string>;
  /** Per chat, keyed by Telegram chat id. */
  chats: Record<string, ChatState>;
}

/** Bounds on what chats can make the bot hold; each is documented in docs/bots.md ("Bounds"). */
export interface TelegramBotLimits {
  /** Chats with anything running (events, games, watches, live market). @default 1_000 */
  maxChats?: number;
  /** Price watches per chat. @default 10 */
  maxWatchesPerChat?: number;
  /** Games followed per chat. @default 5 */
  maxGamesPerChat?: number;
  /** Distinct games followed by all chats together (one subscription each). @default 200 */
  maxGames?: number;
  /**
   * Messages waiting per chat besides those being sent (a chat Telegram keeps
   * answering 429, or a huge burst); beyond it the oldest are dropped with a
   * note. @default 200
   */
  maxOutboxPerChat?: number;
}

export const defaultLimits: Required<TelegramBotLimits> = {
  maxChats: 1_000,
  maxWatchesPerChat: 10,
  maxGamesPerChat: 5,
  maxGames: 200,
  maxOutboxPerChat: 200,
};

/** An empty state (first run). */
export function emptyState(): TelegramBotState {
  return { version: 1, lastUpdateId: 0, cursors: {}, chats: {} };
}

/** A chat with nothing running. */
export function emptyChat(): ChatState {
  return { games: {}, watches: {}, outbox: [], nextItemId: 1, dropped: 0 };
}

/** Whether a chat has anything running or waiting (otherwise it is not kept). */
export function isActive(chat: ChatState): boolean {
  return Boolean(chat.events || chat.live || chat.outbox.length || Object.keys(chat.games).length || Object.keys(chat.watches).length);
}

/**
 * The state file for `BOT_STATE`: the path itself, or `telegram-state.json`
 * inside it when it names a folder (an existing one, or one ending in `/`).
 */
export async function resolveStateFile(botState: string): Promise<string> {
  if (botState.endsWith('/') || botState.endsWith(path.sep)) return path.join(botState, 'telegram-state.json');
  const info = await stat(botState).catch(() => undefined);
  return info?.isDirectory() ? path.join(botState, 'telegram-state.json') : botState;
}

/** Loads the state, or an empty one on the first run. */
export async function loadState(file: string): Promise<TelegramBotState> {
  const stored = await readJsonFile<Partial<TelegramBotState>>(file);
  if (!stored) return emptyState();
  const state = { ...emptyState(), ...stored };
  for (const [id, chat] of Object.entries(state.chats)) state.chats[id] = { ...emptyChat(), ...chat };
  return state;
}
