/**
 * What each Realmcast stream's event means for the chats: which chat gets
 * which message (the texts come from `format.ts`), and what the event changes
 * in a chat's state (a watch's reference price, a game no longer followed).
 * The caller saves the state with the stream's new cursor and then posts.
 */
import type { MarketTickerSubscription, TelegramGameResultsSubscription, WorldFeedSubscription } from '../../generated/graphql.js';
import { gameOverMessage, turnResultMessage, watchAlert, worldEventLine } from './format.js';
import type { ChatState, TelegramBotState } from './state.js';

/** A message (Telegram HTML) owed to a chat. */
export type Post = [chatId: string, text: string];

/** Error codes that mean "this game's results will never come": stop following it. */
export const gameRefusals: ReadonlySet<string> = new Set(['NOT_FOUND', 'FORBIDDEN', 'NOT_IN_GAME', 'UNAUTHENTICATED']);

/** The chats following game `code`. */
export function followersOf(state: TelegramBotState, code: string): Array<[chatId: string, chat: ChatState]> {
  return Object.entries(state.chats).filter(([, chat]) => code in chat.games);
}

/** A world event goes to every chat that wants all events, or only important ones and this is (WARNING, CRITICAL). */
export function worldEventPosts(state: TelegramBotState, event: WorldFeedSubscription['worldEvents']): Post[] {
  const important = event.severity !== 'INFO';
  const text = worldEventLine(event);
  const posts: Post[] = [];
  for (const [chatId, chat] of Object.entries(state.chats)) {
    if (chat.events === 'all' || (chat.events === 'important' && important)) posts.push([chatId, text]);
  }
  return posts;
}

/**
 * A tick alerts every chat whose watch on the symbol moved its percent from
 * the watch's reference price, which becomes the new reference. `watched`:
 * whether any chat watches anything at all (else the market cursor is not kept).
 */
export function watchAlertPosts(state: TelegramBotState, tick: MarketTickerSubscription['stockTicked']): { posts: Post[]; watched: boolean } {
  const posts: Post[] = [];
  let watched = false;
  for (const [chatId, chat] of Object.entries(state.chats)) {
    const watch = chat.watches[tick.symbol];
    if (Object.keys(chat.watches).length) watched = true;
    if (!watch) continue;
    if ((Math.abs(tick.price - watch.reference) / watch.reference) * 100 < watch.percent) continue;
    posts.push([chatId, watchAlert(tick.symbol, watch.reference, tick.price, watch.percent)]);
    watch.reference = tick.price;
  }
  return { posts, watched };
}

/**
 * A resolved turn goes to the game's followers; the last player leaving ends
 * the game: its followers are told and stop following it (`over`).
 */
export function gameEventPosts(state: TelegramBotState, code: string, event: TelegramGameResultsSubscription['gameEvents']): { posts: Post[]; over: boolean } {
  const chats = followersOf(state, code);
  const posts: Post[] = [];
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
  return { posts, over };
}

/** The server refuses a game's results for good (`errorCode` in {@link gameRefusals}): its followers are told and stop following it. */
export function gameRefusalPosts(state: TelegramBotState, code: string, errorCode: string): Post[] {
  const why =
    errorCode === 'NOT_FOUND'
      ? 'the game no longer exists'
      : "this bot's Realmcast token may not watch games (the admin needs a BOT token with the watchAnyGame scope)";
  const posts: Post[] = [];
  for (const [chatId, chat] of followersOf(state, code)) {
    posts.push([chatId, `⚠️ Stopped following game ${code}: ${why}.`]);
    delete chat.games[code];
  }
  return posts;
}
