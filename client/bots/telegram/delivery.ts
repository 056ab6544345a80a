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

export function createDelivery(options: DeliveryOptions): Delivery {
  const { api, state, save, pacer, market, maxOutboxPerChat = 200, onChatForgotten, logger } = options;
  const stopping = new AbortController();
  const running = new Set<string>();
  const inFlight = new Set<Promise<unknown>>();
  /** Chats whose live message shows older prices than the market. */
  const liveDirty = new Set<string>();
  /** Chats whose live market must end, with the reason shown in its last edit. */
  const liveEnding = new Map<string, string>();
  const liveTimers = new Map<string, NodeJS.Timeout>();
  /** Per chat, the outbox items of the message being sent. */
  const sendingIds = new Map<string, Set<number>>();
  /** Chats where a joined batch was refused: send their items one by one for a while. */
  const singles = new Set<string>();

  const scheduleEnd = (chatId: string, until: number) => {
    clearTimeout(liveTimers.get(chatId));
    const timer = setTimeout(() => endLive(chatId, 'Live market ended'), Math.max(0, until - Date.now()));
    timer.unref();
    liveTimers.set(chatId, timer);
  };

  const endLive = (chatId: string, reason: string) => {
    if (!state.chats[chatId]?.live) return;
    liveEnding.set(chatId, reason);
    kick(chatId);
  };

  const forget = async (chatId: string, why: string) => {
    if (!state.chats[chatId]) return;
    delete state.chats[chatId];
    clearTimeout(liveTimers.get(chatId));
    liveTimers.delete(chatId);
    liveDirty.delete(chatId);
    liveEnding.delete(chatId);
    logger(`chat ${chatId} unsubscribed: ${why}`);
    onChatForgotten?.(chatId);
    await save();
  };

  /** Runs one Telegram call and sorts its failure; 429s never get here (auto-retry waits them out). */
  const call = async (chatId: string, run: () => Promise<unknown>): Promise<{ outcome: Outcome; description?: string }> => {
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
        kick(String(migratedTo));
        return { outcome: 'gone' };
      }
      if (error.error_code === 403 || /chat not found/i.test(error.description)) {
        await forget(chatId, error.description);
        return { outcome: 'gone' };
      }
      if (error.error_code === 400) return { outcome: 'rejected', description: error.description };
      logger(`telegram refused a call for chat ${chatId}: ${error.description}`);
      return { outcome: 'failed' };
    } finally {
      inFlight.delete(pending);
    }
  };

  /** Sends the oldest outbox items, joined into one message. */
  const sendOutbox = async (chatId: string, chat: ChatState): Promise<Outcome> => {
    const noted = chat.dropped;
    const note = noted > 0 ? [`⚠️ ${noted} older message${noted === 1 ? ' was' : 's were'} dropped: too many were waiting.`] : [];
    const texts = [...note, ...chat.outbox.map((item) => item.text)];
    const count = singles.has(chatId) ? 1 : firstBatch(texts);
    const sentIds = new Set(chat.outbox.slice(0, count - note.length).map((item) => item.id));
    sendingIds.set(chatId, sentIds);
    const { outcome, description } = await call(chatId, () =>
      api.sendMessage(Number(chatId), texts.slice(0, count).join('\n\n'), { parse_mode: 'HTML', link_preview_options: { is_disabled: true } }),
    ).finally(() => sendingIds.delete(chatId));
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
  };

  /** Edits the live market message with the latest prices, or ends it. */
  const editLive = async (chatId: string, chat: ChatState): Promise<Outcome> => {
    const live = chat.live!;
    const ended = liveEnding.get(chatId) ?? (Date.now() >= live.until ? 'Live market ended' : undefined);
    liveDirty.delete(chatId);
    liveEnding.delete(chatId);
    const text = liveMarketMessage(market.rows(), { until: live.until, updatedAt: market.updatedAt(), ended });
    const { outcome, description } = await call(chatId, () =>
      api.editMessageText(Number(chatId), live.messageId, text, { parse_mode: 'HTML', link_preview_options: { is_disabled: true } }),
    );
    const current = state.chats[chatId];
    if (!current?.live || current.live.messageId !== live.messageId) return outcome; // forgotten or replaced meanwhile
    const unchanged = outcome === 'rejected' && /not modified/i.test(description ?? '');
    if (ended || (outcome === 'rejected' && !unchanged)) {
      if (!ended) logger(`live market of chat ${chatId} ends: ${description}`);
      delete current.live;
      clearTimeout(liveTimers.get(chatId));
      liveTimers.delete(chatId);
      if (!isActive(current)) delete state.chats[chatId];
      await save();
    }
    return outcome;
  };

  const hasWork = (chatId: string, chat: ChatState | undefined): chat is ChatState =>
    Boolean(chat && (chat.outbox.length || chat.dropped || (chat.live && (liveDirty.has(chatId) || liveEnding.has(chatId) || Date.now() >= chat.live.until))));

  const pump = async (chatId: string) => {
    running.add(chatId);
    try {
      for (let failures = 0; !stopping.signal.aborted; ) {
        if (!hasWork(chatId, state.chats[chatId])) return;
        await pacer.wait(Number(chatId), stopping.signal);
        const chat = state.chats[chatId];
        if (!hasWork(chatId, chat)) return;
        const outcome = chat.outbox.length || chat.dropped ? await sendOutbox(chatId, chat) : await editLive(chatId, chat);
        if (outcome === 'gone') return;
        failures = outcome === 'failed' ? failures + 1 : 0;
        if (failures) await delay(Math.min(60_000, 1_000 * 2 ** failures), stopping.signal);
      }
    } finally {
      running.delete(chatId);
    }
  };

  const kick = (chatId: string) => {
    if (running.has(chatId) || stopping.signal.aborted) return;
    pump(chatId).catch((error) => logger(`sender for chat ${chatId} stopped: ${(error as Error).message}`));
  };

  // After a restart: live markets continue (refreshed at once), waiting messages go out.
  for (const [chatId, chat] of Object.entries(state.chats)) {
    if (chat.live) {
      liveDirty.add(chatId);
      scheduleEnd(chatId, chat.live.until);
    }
    kick(chatId);
  }

  return {
    post(chatId, text) {
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
    },
    kick,
    marketMoved() {
      for (const [chatId, chat] of Object.entries(state.chats)) {
        if (!chat.live) continue;
        liveDirty.add(chatId);
        kick(chatId);
      }
    },
    async startLive(chatId, messageId, until) {
      const chat = state.chats[chatId];
      if (!chat) return;
      chat.live = { messageId, until };
      liveEnding.delete(chatId);
      scheduleEnd(chatId, until);
      await save();
    },
    endLive,
    forget,
    async dispose() {
      stopping.abort();
      for (const timer of liveTimers.values()) clearTimeout(timer);
      await Promise.allSettled([...inFlight]);
    },
  };
}
