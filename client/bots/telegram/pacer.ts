/**
 * Keeps the bot under Telegram's flood limits: about one message per second
 * in a chat, 20 per minute in a group, about 30 per second overall; edits
 * count like messages. Every `sendMessage` and `editMessageText` goes
 * through {@link ChatPacer.transformer}: calls in one chat go one at a time,
 * each at least the chat's interval after the previous one was answered.
 *
 * Why not `@grammyjs/transformer-throttler`: it queues every call, so a
 * market ticking ten times a second would pile up ten edits a second per
 * chat. Here the sender waits for the chat's turn ({@link ChatPacer.wait}) first
 * and only then builds the message from the latest prices (conflation), so
 * at most one edit per slot is ever made. `retry_after` answers (429) are
 * handled by `@grammyjs/auto-retry`, inside this transformer.
 */
import type { Transformer } from 'grammy';
import { delay } from '../../backoff.js';

export interface ChatPacerOptions {
  /** Gap between two messages or edits in a private chat (Telegram: ~1 per second). @default 1_000 // 1 second */
  privateIntervalMs?: number;
  /** Gap in a group or channel (Telegram: 20 per minute). @default 3_000 // 3 seconds */
  groupIntervalMs?: number;
  /** Gap between any two messages of the bot (Telegram: ~30 per second). @default 34 // ms */
  globalIntervalMs?: number;
}

export interface ChatPacer {
  /** Paces `sendMessage` and `editMessageText` per chat; install with `bot.api.config.use`. */
  transformer: Transformer;
  /** Resolves when `chatId` may get its next message (without taking the slot); never when `signal` aborts. */
  wait(chatId: number, signal: AbortSignal): Promise<void>;
}

const pacedMethods = new Set(['sendMessage', 'editMessageText']);

/** Keeps this many idle chats at most; the longest idle are forgotten first. */
const maxTrackedChats = 10_000;

/** A chat's calls, one after another. */
interface ChatLane {
  /** Settles when the last call queued in this chat has been answered. */
  tail: Promise<void>;
  /** Calls queued or running. */
  pending: number;
  /** When the next call may leave (epoch ms). */
  nextAt: number;
}

export function createChatPacer(options: ChatPacerOptions = {}): ChatPacer {
  const { privateIntervalMs = 1_000, groupIntervalMs = 3_000, globalIntervalMs = 34 } = options;
  const lanes = new Map<number, ChatLane>();
  let globalNextAt = 0;
  // Private chats have positive ids; groups, supergroups and channels negative ones.
  const intervalOf = (chatId: number) => (chatId > 0 ? privateIntervalMs : groupIntervalMs);

  const laneOf = (chatId: number): ChatLane => {
    let lane = lanes.get(chatId);
    if (!lane) {
      if (lanes.size >= maxTrackedChats) {
        const now = Date.now();
        for (const [id, idle] of lanes) if (idle.pending === 0 && idle.nextAt <= now) lanes.delete(id);
      }
      lane = { tail: Promise.resolve(), pending: 0, nextAt: 0 };
      lanes.set(chatId, lane);
    }
    return lane;
  };

  return {
    transformer: async (prev, method, payload, signal) => {
      const chatId = (payload as { chat_id?: unknown }).chat_id;
      if (!pacedMethods.has(method) || typeof chatId !== 'number') return prev(method, payload, signal);
      const lane = laneOf(chatId);
      const previous = lane.tail;
      let answered!: () => void;
      lane.tail = new Promise((resolve) => (answered = resolve));
      lane.pending += 1;
      try {
        // One call at a time per chat, and the gap counted from the previous
        // answer: however long requests travel, they reach Telegram spaced.
        await previous;
        const chatWait = lane.nextAt - Date.now();
        if (chatWait > 0) await new Promise((resolve) => setTimeout(resolve, chatWait));
        const slot = Math.max(Date.now(), globalNextAt);
        globalNextAt = slot + globalIntervalMs;
        if (slot > Date.now()) await new Promise((resolve) => setTimeout(resolve, slot - Date.now()));
        return await prev(method, payload, signal);
      } finally {
        lane.nextAt = Date.now() + intervalOf(chatId);
        lane.pending -= 1;
        answered();
      }
    },
    async wait(chatId, signal) {
      for (;;) {
        const lane = lanes.get(chatId);
        if (!lane) return;
        const tail = lane.tail;
        await tail;
        const wait = lane.nextAt - Date.now();
        if (wait > 0) await delay(wait, signal);
        if (lane.tail === tail) return; // nothing else was queued meanwhile
      }
    },
  };
}
