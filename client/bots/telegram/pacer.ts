/**
 * Keeps the bot under Telegram's flood limits: about one message per second
 * in a chat, 20 per minute in a group, about 30 per second overall; edits
 * count like messages. Every `sendMessage` and `editMessageText` goes
 * through {@link ChatPacer.transformer}, which reserves the chat's next free
 * slot and waits for it.
 *
 * Why not `@grammyjs/transformer-throttler`: it queues every call, so a
 * market ticking ten times a second would pile up ten edits a second per
 * chat. Here the sender asks {@link ChatPacer.wait} for the next slot first
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
  /** Resolves when `chatId`'s next slot is free (without taking it); never when `signal` aborts. */
  wait(chatId: number, signal: AbortSignal): Promise<void>;
}

const pacedMethods = new Set(['sendMessage', 'editMessageText']);

/** Keeps slots for this many chats at most; older, already free slots are forgotten first. */
const maxTrackedChats = 10_000;

export function createChatPacer(options: ChatPacerOptions = {}): ChatPacer {
  const { privateIntervalMs = 1_000, groupIntervalMs = 3_000, globalIntervalMs = 34 } = options;
  /** When each chat may get its next message (epoch ms). */
  const nextAt = new Map<number, number>();
  let globalNextAt = 0;

  const reserve = (chatId: number): number => {
    const now = Date.now();
    const slot = Math.max(now, nextAt.get(chatId) ?? 0, globalNextAt);
    // Private chats have positive ids; groups, supergroups and channels negative ones.
    nextAt.set(chatId, slot + (chatId > 0 ? privateIntervalMs : groupIntervalMs));
    globalNextAt = slot + globalIntervalMs;
    if (nextAt.size > maxTrackedChats) for (const [id, at] of nextAt) if (at <= now) nextAt.delete(id);
    return slot - now;
  };

  return {
    transformer: async (prev, method, payload, signal) => {
      const chatId = (payload as { chat_id?: unknown }).chat_id;
      if (pacedMethods.has(method) && typeof chatId === 'number') {
        const wait = reserve(chatId);
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      }
      return prev(method, payload, signal);
    },
    wait(chatId, signal) {
      const wait = Math.max(nextAt.get(chatId) ?? 0, globalNextAt) - Date.now();
      return wait > 0 ? delay(wait, signal) : Promise.resolve();
    },
  };
}
