/**
 * Sends what the bot owes each chat: the chat's outbox (world events, turn
 * results, watch alerts; a burst is joined into as few messages as fit) and
 * the edits of its live market message, conflated so that each edit shows the
 * latest prices and no more edits are made than the pacer allows.
 *
 * Each chat has at most one sender loop running. Outbox items leave the state
 * only after Telegram accepted them (see `state.ts`). A chat that blocked the
 * bot or no longer exists (403, "chat not found") is forgotten: its
 * subscriptions, watches and waiting messages are dropped.
 *
 * The parts, in the order a message goes: {@link addToOutbox} (the outbox
 * bound), {@link runSender} (a chat's loop, paced, backing off on failures),
 * {@link sendOutbox} and {@link editLive} (one message or one edit),
 * {@link callTelegram} (what Telegram's answer means for the chat).
 */
import { GrammyError, type Api } from 'grammy';
import { delay } from '../../backoff.js';
import { firstBatch, liveMarketMessage, type StockRow } from './format.js';
import type { ChatPacer } from './pacer.js';
import { isActive, type ChatState, type TelegramBotState } from './state.js';

export interface DeliveryOptions {
  api: Api;
  state: TelegramBotState;
  /** Persists `state` (see `createStateWriter`). */
  save(): Promise<void>;
  pacer: ChatPacer;
  /** The current prices, in display order, and when the last one moved. */
  market: { rows(): StockRow[]; updatedAt(): number | undefined };
  /** Messages waiting per chat (besides the one being sent); beyond it the oldest are dropped with a note. @default 200 */
  maxOutboxPerChat?: number;
  /** Called after a chat was forgotten (to drop game subscriptions nobody follows). */
  onChatForgotten?(chatId: string): void;
  logger(message: string): void;
}

export interface Delivery {
  /** Adds a message to a chat's outbox (the caller saves the state, then calls {@link kick}). */
  post(chatId: string, text: string): void;
  /** Starts the chat's sender if it has anything to send. */
  kick(chatId: string): void;
  /** Prices moved: every live market message needs an edit. */
  marketMoved(): void;
  /** Records a live market message (already sent) and edits it until `until`. */
  startLive(chatId: string, messageId: number, until: number): Promise<void>;
  /** Ends a chat's live market with a last edit saying `reason`. */
  endLive(chatId: string, reason: string): void;
  /** Drops everything about a chat. */
  forget(chatId: string, why: string): Promise<void>;
  /** Stops sending; resolves when the messages in flight are answered. */
  dispose(): Promise<void>;
}

/** What became of one Telegram call. */
type Outcome = 'ok' | 'rejected' | 'gone' | 'failed';

/** Telegram HTML without link previews, like every message of the bot. */
const html = { parse_mode: 'HTML', link_preview_options: { is_disabled: true } } as const;

/**
 * The live market messages' bookkeeping: which need an edit (the prices
 * moved), which must end (with the reason shown in the last edit), and the
 * timer that ends each when its time is up.
 */
interface LiveMarkets {
  /** Chats whose live message shows older prices than the market. */
  readonly dirty: Set<string>;
  /** Chats whose live market must end, with the reason shown in its last edit. */
  readonly ending: Map<string, string>;
  /** (Re)arms the chat's end at `until`. */
  scheduleEnd(chatId: string, until: number): void;
  /** Disarms the chat's end (the live market ended or was forgotten). */
  clearEnd(chatId: string): void;
  /** Disarms every end (the bot stops). */
  clearAll(): void;
}

function createLiveMarkets(onExpired: (chatId: string) => void): LiveMarkets {
  const timers = new Map<string, NodeJS.Timeout>();
  const clearEnd = (chatId: string) => {
    clearTimeout(timers.get(chatId));
    timers.delete(chatId);
  };
  return {
    dirty: new Set(),
    ending: new Map(),
    scheduleEnd(chatId, until) {
      clearTimeout(timers.get(chatId));
      const timer = setTimeout(() => onExpired(chatId), Math.max(0, until - Date.now()));
      timer.unref();
      timers.set(chatId, timer);
    },
    clearEnd,
    clearAll: () => {
      for (const timer of timers.values()) clearTimeout(timer);
    },
  };
}

/** What the senders of all chats share. */
interface Senders extends Required<Pick<DeliveryOptions, 'maxOutboxPerChat'>>, Omit<DeliveryOptions, 'maxOutboxPerChat'> {
  stopping: AbortController;
  /** Chats whose sender loop runs. */
  running: Set<string>;
  /** Telegram calls not answered yet (awaited by `dispose`). */
  inFlight: Set<Promise<unknown>>;
  live: LiveMarkets;
  /** Per chat, the outbox items of the message being sent. */
  sendingIds: Map<string, Set<number>>;
  /** Chats where a joined batch was refused: send their items one by one for a while. */
  singles: Set<string>;
  kick(chatId: string): void;
  forget(chatId: string, why: string): Promise<void>;
}

/**
 * Runs one Telegram call and sorts its failure: a group that became a
 * supergroup moves to its new id, a chat that blocked the bot or is gone is
 * forgotten, a 400 is the message's fault. 429s never get here (auto-retry
 * waits them out).
 */
async function callTelegram(senders: Senders, chatId: string, run: () => Promise<unknown>): Promise<{ outcome: Outcome; description?: string }> {
  const { state, save, logger, inFlight } = senders;
  const pending = run();
  inFlight.add(pending);
  try {
    await pending;
    return { outcome: 'ok' };
  } catch (error) {
    if (!(error instanceof GrammyError)) {
      logger(`telegram call for chat ${chatId} failed: ${(error as Error).message}`);
      return { outcome: 'failed' };
    }
    const migratedTo = error.parameters?.migrate_to_chat_id;
    if (migratedTo !== undefined && state.chats[chatId]) {
      // A group became a supergroup: same chat, new id.
      state.chats[String(migratedTo)] = state.chats[chatId];
      delete state.chats[chatId];
      await save();
      senders.kick(String(migratedTo));
      return { outcome: 'gone' };
    }
    if (error.error_code === 403 || /chat not found/i.test(error.description)) {
      await senders.forget(chatId, error.description);
      return { outcome: 'gone' };
    }
    if (error.error_code === 400) return { outcome: 'rejected', description: error.description };
    logger(`telegram refused a call for chat ${chatId}: ${error.description}`);
    return { outcome: 'failed' };
  } finally {
    inFlight.delete(pending);
  }
}

/**
 * Sends the oldest outbox items joined into one message (after a note of the
 * dropped ones); they leave the outbox once Telegram accepted them. A joined
 * batch Telegram refuses is sent again item by item, and a single item it
 * refuses is dropped.
 */
async function sendOutbox(senders: Senders, chatId: string, chat: ChatState): Promise<Outcome> {
  const { api, state, save, logger, sendingIds, singles } = senders;
  const noted = chat.dropped;
  const note = noted > 0 ? [`⚠️ ${noted} older message${noted === 1 ? ' was' : 's were'} dropped: too many were waiting.`] : [];
  const texts = [...note, ...chat.outbox.map((item) => item.text)];
  const count = singles.has(chatId) ? 1 : firstBatch(texts);
  const sentIds = new Set(chat.outbox.slice(0, count - note.length).map((item) => item.id));
  sendingIds.set(chatId, sentIds);
  const { outcome, description } = await callTelegram(senders, chatId, () => api.sendMessage(Number(chatId), texts.slice(0, count).join('\n\n'), html)).finally(() =>
    sendingIds.delete(chatId),
  );
  const current = state.chats[chatId];
  if (!current) return outcome;
  if (outcome === 'rejected') {
    if (count > 1) {
      singles.add(chatId);
      return outcome;
    }
    logger(`telegram refused a message for chat ${chatId} (${description}); dropping it`);
  } else if (outcome !== 'ok') return outcome;
  else singles.delete(chatId);
  current.outbox = current.outbox.filter((item) => !sentIds.has(item.id));
  current.dropped -= noted;
  if (!isActive(current)) delete state.chats[chatId];
  await save();
  return outcome;
}

/** Edits the live market message with the latest prices, or ends it (its time is up, it was stopped, or Telegram refused the edit). */
async function editLive(senders: Senders, chatId: string, chat: ChatState): Promise<Outcome> {
  const { api, state, save, logger, market, live: liveMarkets } = senders;
  const live = chat.live!;
  const ended = liveMarkets.ending.get(chatId) ?? (Date.now() >= live.until ? 'Live market ended' : undefined);
  liveMarkets.dirty.delete(chatId);
  liveMarkets.ending.delete(chatId);
  const text = liveMarketMessage(market.rows(), { until: live.until, updatedAt: market.updatedAt(), ended });
  const { outcome, description } = await callTelegram(senders, chatId, () => api.editMessageText(Number(chatId), live.messageId, text, html));
  const current = state.chats[chatId];
  if (!current?.live || current.live.messageId !== live.messageId) return outcome; // forgotten or replaced meanwhile
  const unchanged = outcome === 'rejected' && /not modified/i.test(description ?? '');
  if (ended || (outcome === 'rejected' && !unchanged)) {
    if (!ended) logger(`live market of chat ${chatId} ends: ${description}`);
    delete current.live;
    liveMarkets.clearEnd(chatId);
    if (!isActive(current)) delete state.chats[chatId];
    await save();
  }
  return outcome;
}

/** Whether the chat has a message waiting or a live market edit due. */
function hasWork(senders: Senders, chatId: string, chat: ChatState | undefined): chat is ChatState {
  const { dirty, ending } = senders.live;
  return Boolean(chat && (chat.outbox.length || chat.dropped || (chat.live && (dirty.has(chatId) || ending.has(chatId) || Date.now() >= chat.live.until))));
}

/**
 * A chat's sender loop: waits for the chat's turn in the pacer, then sends
 * its outbox first and edits its live market otherwise, until nothing is left;
 * a failing chat backs off (2 s doubling up to a minute).
 */
async function runSender(senders: Senders, chatId: string): Promise<void> {
  const { state, pacer, stopping, running } = senders;
  running.add(chatId);
  try {
    for (let failures = 0; !stopping.signal.aborted; ) {
      if (!hasWork(senders, chatId, state.chats[chatId])) return;
      await pacer.wait(Number(chatId), stopping.signal);
      const chat = state.chats[chatId];
      if (!hasWork(senders, chatId, chat)) return;
      const outcome = chat.outbox.length || chat.dropped ? await sendOutbox(senders, chatId, chat) : await editLive(senders, chatId, chat);
      if (outcome === 'gone') return;
      failures = outcome === 'failed' ? failures + 1 : 0;
      if (failures) await delay(Math.min(60_000, 1_000 * 2 ** failures), stopping.signal);
    }
  } finally {
    running.delete(chatId);
  }
}

/** Adds a message to the chat's outbox; beyond `maxOutboxPerChat` waiting, the oldest waiting one is dropped and counted. */
function addToOutbox(senders: Senders, chatId: string, text: string): void {
  const { state, sendingIds, maxOutboxPerChat, logger } = senders;
  const chat = state.chats[chatId];
  if (!chat) return;
  chat.outbox.push({ id: chat.nextItemId++, text });
  // The message being sent may already have arrived: only the others count, and go.
  const sending = sendingIds.get(chatId);
  const waiting = chat.outbox.filter((item) => !sending?.has(item.id));
  if (waiting.length <= maxOutboxPerChat) return;
  chat.outbox.splice(chat.outbox.indexOf(waiting[0]!), 1);
  chat.dropped += 1;
  logger(`chat ${chatId}: ${maxOutboxPerChat} messages waiting, dropped the oldest`);
}

export function createDelivery(options: DeliveryOptions): Delivery {
  const { state, save, maxOutboxPerChat = 200, onChatForgotten, logger } = options;
  const stopping = new AbortController();
  const live = createLiveMarkets((chatId) => endLive(chatId, 'Live market ended'));

  const endLive = (chatId: string, reason: string) => {
    if (!state.chats[chatId]?.live) return;
    live.ending.set(chatId, reason);
    kick(chatId);
  };

  const forget = async (chatId: string, why: string) => {
    if (!state.chats[chatId]) return;
    delete state.chats[chatId];
    live.clearEnd(chatId);
    live.dirty.delete(chatId);
    live.ending.delete(chatId);
    logger(`chat ${chatId} unsubscribed: ${why}`);
    onChatForgotten?.(chatId);
    await save();
  };

  const kick = (chatId: string) => {
    if (senders.running.has(chatId) || stopping.signal.aborted) return;
    runSender(senders, chatId).catch((error) => logger(`sender for chat ${chatId} stopped: ${(error as Error).message}`));
  };

  const senders: Senders = {
    ...options,
    maxOutboxPerChat,
    stopping,
    running: new Set(),
    inFlight: new Set(),
    live,
    sendingIds: new Map(),
    singles: new Set(),
    kick,
    forget,
  };

  // After a restart: live markets continue (refreshed at once), waiting messages go out.
  for (const [chatId, chat] of Object.entries(state.chats)) {
    if (chat.live) {
      live.dirty.add(chatId);
      live.scheduleEnd(chatId, chat.live.until);
    }
    kick(chatId);
  }

  return {
    post: (chatId, text) => addToOutbox(senders, chatId, text),
    kick,
    marketMoved() {
      for (const [chatId, chat] of Object.entries(state.chats)) {
        if (!chat.live) continue;
        live.dirty.add(chatId);
        kick(chatId);
      }
    },
    async startLive(chatId, messageId, until) {
      const chat = state.chats[chatId];
      if (!chat) return;
      chat.live = { messageId, until };
      live.ending.delete(chatId);
      live.scheduleEnd(chatId, until);
      await save();
    },
    endLive,
    forget,
    async dispose() {
      stopping.abort();
      live.clearAll();
      await Promise.allSettled([...senders.inFlight]);
    },
  };
}
