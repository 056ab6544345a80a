/**
 * A local stand-in for the Telegram Bot API, over real HTTP, for driving the
 * real bot process in tests. It serves `/bot<token>/<method>` with the real
 * method names and JSON shapes (`getMe`, `getUpdates` with long polling and
 * offset confirmation, `deleteWebhook`, `setWebhook`, `setMyCommands`,
 * `sendMessage`, `editMessageText`, `answerCallbackQuery`), checks message
 * HTML and length the way Telegram does (400 "can't parse entities",
 * "message is too long", "message is not modified"), and can answer with the
 * errors a bot must handle: 429 with `parameters.retry_after`, 403 for a chat
 * that blocked the bot, or no answer at all (a held request).
 *
 * Users act through {@link TelegramStandIn.send} and
 * {@link TelegramStandIn.press}; tests wait on recorded calls with
 * {@link TelegramStandIn.waitFor}.
 */
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { onTeardown } from './harness.js';

/** One Bot API call as the stand-in saw it. */
export interface ApiCall {
  method: string;
  payload: Record<string, any>;
  /** When the request arrived (epoch ms). */
  at: number;
  /** HTTP status answered; `undefined` while held; `0` when dropped without an answer. */
  status?: number;
  /** The `result` of a successful call. */
  result?: any;
  /** The `description` of a failed call. */
  description?: string;
}

/** What an injected failure answers. */
export interface Failure {
  status: number;
  description: string;
  parameters?: Record<string, unknown>;
}

/** A request whose answer is withheld until the test releases or drops it. */
export interface HeldCall {
  call: ApiCall;
  /** Answers it as Telegram would have. */
  release(): void;
  /** Never answers it (the connection is closed): Telegram did not get it. */
  drop(): void;
}

interface Rule {
  match: (call: ApiCall) => boolean;
  once: boolean;
  act: (call: ApiCall, answer: () => void, res: ServerResponse) => Failure | 'hold' | undefined;
}

export interface StandInMessage {
  message_id: number;
  chatId: number;
  /** The HTML as the bot sent it (after the last edit). */
  html: string;
  edits: number;
}

const botUser = { id: 7_000_001, is_bot: true, first_name: 'Realmcast', username: 'realmcast_test_bot', can_join_groups: true, can_read_all_group_messages: false, supports_inline_queries: false };
const allowedTags = new Set(['b', 'strong', 'i', 'em', 'u', 'ins', 's', 'strike', 'del', 'span', 'tg-spoiler', 'a', 'code', 'pre', 'blockquote', 'tg-emoji']);

/** Telegram's HTML check: known tags, properly nested, `&` only in entities. Returns the visible text or an error. */
export function parseTelegramHtml(html: string): { text: string } | { error: string } {
  const open: string[] = [];
  let text = '';
  for (let i = 0; i < html.length; ) {
    const ch = html[i]!;
    if (ch === '<') {
      const end = html.indexOf('>', i);
      if (end < 0) return { error: `Bad Request: can't parse entities: Unclosed start tag at byte offset ${i}` };
      const tag = html.slice(i + 1, end);
      const closing = tag.startsWith('/');
      const name = (closing ? tag.slice(1) : tag).split(/\s/)[0]!.toLowerCase();
      if (!allowedTags.has(name)) return { error: `Bad Request: can't parse entities: Unsupported start tag "${name}" at byte offset ${i}` };
      if (closing) {
        if (open.pop() !== name) return { error: `Bad Request: can't parse entities: Unmatched end tag at byte offset ${i}, expected "</${open.at(-1) ?? ''}>", found "</${name}>"` };
      } else open.push(name);
      i = end + 1;
    } else if (ch === '&') {
      const entity = /^&(lt|gt|amp|quot|#\d+);/.exec(html.slice(i));
      if (!entity) return { error: `Bad Request: can't parse entities: Character '&' is reserved and must be escaped at byte offset ${i}` };
      text += { lt: '<', gt: '>', amp: '&', quot: '"' }[entity[1]!] ?? '?';
      i += entity[0].length;
    } else if (ch === '>') {
      return { error: `Bad Request: can't parse entities: Character '>' is reserved and must be escaped at byte offset ${i}` };
    } else {
      text += ch;
      i += 1;
    }
  }
  if (open.length) return { error: `Bad Request: can't parse entities: Can't find end tag corresponding to start tag "${open.at(-1)}"` };
  return { text };
}

export interface TelegramStandIn {
  /** What `TELEGRAM_API_ROOT` should be. */
  apiRoot: string;
  token: string;
  calls: ApiCall[];
  messages: Map<string, StandInMessage>;
  /** A user writes `text` in a chat (positive id: private chat, negative: group). Returns the update id. */
  send(chatId: number, text: string): number;
  /** A user presses an inline button with `data` under the bot's message. */
  press(chatId: number, messageId: number, data: string): number;
  /** Resolves with the first call (already made, or coming) that matches; fails after `timeoutMs`. */
  waitFor(what: string, match: (call: ApiCall) => boolean, timeoutMs?: number): Promise<ApiCall>;
  /** Calls to `sendMessage` / `editMessageText` in a chat that Telegram accepted, in order. */
  delivered(chatId: number, method?: 'sendMessage' | 'editMessageText'): ApiCall[];
  /** The next matching call is answered with `failure`. */
  failOnce(match: (call: ApiCall) => boolean, failure: Failure): void;
  /** From now on, every message to `chatId` gets 403 "bot was blocked by the user". */
  block(chatId: number): void;
  /** The next matching call is held; resolves when it arrives. */
  holdOnce(match: (call: ApiCall) => boolean): Promise<HeldCall>;
  /** Webhook mode: where updates are posted instead of being handed to `getUpdates`. */
  deliverTo?: string;
  /** The last `setWebhook` payload. */
  webhook?: { url: string; secret_token?: string };
}

export async function startTelegramStandIn(token = '123456:TEST-token_abc'): Promise<TelegramStandIn> {
  const calls: ApiCall[] = [];
  const messages = new Map<string, StandInMessage>();
  const events = new EventEmitter();
  events.setMaxListeners(0);
  const updates: Array<{ update_id: number } & Record<string, unknown>> = [];
  let nextUpdateId = 1;
  const nextMessageId = new Map<number, number>();
  const callbackIds = new Set<string>();
  const rules: Rule[] = [];
  const pollers = new Set<() => void>();

  const chatOf = (chatId: number) =>
    chatId > 0 ? { id: chatId, type: 'private', first_name: `User${chatId}` } : { id: chatId, type: 'group', title: `Group ${-chatId}` };
  const userOf = (chatId: number) => ({ id: Math.abs(chatId) + 1_000, is_bot: false, first_name: `User${Math.abs(chatId)}` });
  const allocateMessageId = (chatId: number) => {
    const id = (nextMessageId.get(chatId) ?? 100) + 1;
    nextMessageId.set(chatId, id);
    return id;
  };

  const record = (call: ApiCall) => {
    events.emit('call', call);
  };

  let standIn!: TelegramStandIn;
  const queueUpdate = (update: Record<string, unknown>) => {
    const full = { update_id: nextUpdateId++, ...update };
    if (standIn.deliverTo && standIn.webhook) {
      const target = new URL(new URL(standIn.webhook.url).pathname, standIn.deliverTo);
      void fetch(target, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(standIn.webhook.secret_token ? { 'x-telegram-bot-api-secret-token': standIn.webhook.secret_token } : {}) },
        body: JSON.stringify(full),
      }).then(
        (response) => response.body?.cancel(),
        () => {}, // the bot went away: Telegram would retry later, the test does not need it
      );
    } else {
      updates.push(full);
      for (const wake of [...pollers]) wake();
    }
    return full.update_id;
  };

  /** The Bot API methods; each returns a result or throws a Failure. */
  const methods: Record<string, (p: Record<string, any>, req: IncomingMessage, res: ServerResponse) => unknown> = {
    getMe: () => botUser,
    deleteWebhook: () => {
      delete standIn.webhook;
      return true;
    },
    setWebhook: (p) => {
      standIn.webhook = { url: p.url, secret_token: p.secret_token };
      return true;
    },
    setMyCommands: () => true,
    answerCallbackQuery: (p) => {
      if (!callbackIds.delete(p.callback_query_id)) throw { status: 400, description: 'Bad Request: query is too old and response timeout expired or query ID is invalid' } satisfies Failure;
      return true;
    },
    sendMessage: (p) => {
      const html = String(p.text ?? '');
      if (!html.trim()) throw { status: 400, description: 'Bad Request: message text is empty' } satisfies Failure;
      const parsed = p.parse_mode === 'HTML' ? parseTelegramHtml(html) : { text: html };
      if ('error' in parsed) throw { status: 400, description: parsed.error } satisfies Failure;
      if (parsed.text.length > 4096) throw { status: 400, description: 'Bad Request: message is too long' } satisfies Failure;
      const chatId = Number(p.chat_id);
      const message_id = allocateMessageId(chatId);
      messages.set(`${chatId}:${message_id}`, { message_id, chatId, html, edits: 0 });
      return { message_id, date: Math.floor(Date.now() / 1000), chat: chatOf(chatId), from: botUser, text: parsed.text };
    },
    editMessageText: (p) => {
      const chatId = Number(p.chat_id);
      const message = messages.get(`${chatId}:${p.message_id}`);
      if (!message) throw { status: 400, description: 'Bad Request: message to edit not found' } satisfies Failure;
      const html = String(p.text ?? '');
      const parsed = p.parse_mode === 'HTML' ? parseTelegramHtml(html) : { text: html };
      if ('error' in parsed) throw { status: 400, description: parsed.error } satisfies Failure;
      if (parsed.text.length > 4096) throw { status: 400, description: 'Bad Request: MESSAGE_TOO_LONG' } satisfies Failure;
      if (html === message.html) {
        throw {
          status: 400,
          description: 'Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message',
        } satisfies Failure;
      }
      message.html = html;
      message.edits += 1;
      return { message_id: message.message_id, date: Math.floor(Date.now() / 1000), edit_date: Math.floor(Date.now() / 1000), chat: chatOf(chatId), from: botUser, text: parsed.text };
    },
  };

  const answer = (res: ServerResponse, call: ApiCall, status: number, body: Record<string, unknown>) => {
    call.status = status;
    if (status === 200) call.result = body.result;
    else call.description = body.description as string;
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    record(call);
  };

  const fail = (res: ServerResponse, call: ApiCall, failure: Failure) =>
    answer(res, call, failure.status, { ok: false, error_code: failure.status, description: failure.description, ...(failure.parameters ? { parameters: failure.parameters } : {}) });

  const run = (res: ServerResponse, call: ApiCall, req: IncomingMessage) => {
    try {
      answer(res, call, 200, { ok: true, result: methods[call.method]!(call.payload, req, res) });
    } catch (error) {
      if (typeof error === 'object' && error && 'status' in error) fail(res, call, error as Failure);
      else throw error;
    }
  };

  const getUpdates = (req: IncomingMessage, res: ServerResponse, call: ApiCall) => {
    const offset = Number(call.payload.offset ?? 0);
    // An offset confirms every update before it: Telegram forgets them.
    while (updates.length && updates[0]!.update_id < offset) updates.shift();
    const reply = () => answer(res, call, 200, { ok: true, result: updates.slice(0, Number(call.payload.limit ?? 100)) });
    if (updates.length || !call.payload.timeout) return reply();
    const timer = setTimeout(done, Number(call.payload.timeout) * 1000);
    function done() {
      clearTimeout(timer);
      pollers.delete(done);
      if (!res.writableEnded && !res.destroyed) {
        while (updates.length && updates[0]!.update_id < offset) updates.shift();
        reply();
      }
    }
    pollers.add(done);
    res.on('close', () => {
      clearTimeout(timer);
      pollers.delete(done);
    });
  };

  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const match = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(new URL(req.url ?? '/', 'http://x').pathname);
      if (!match) return res.writeHead(404).end();
      const call: ApiCall = { method: match[2]!, payload: body ? JSON.parse(body) : {}, at: Date.now() };
      calls.push(call);
      if (match[1] !== token) return fail(res, call, { status: 401, description: 'Unauthorized' });
      if (!(call.method in methods) && call.method !== 'getUpdates') return fail(res, call, { status: 404, description: 'Not Found: method not found' });
      for (const rule of rules) {
        if (!rule.match(call)) continue;
        if (rule.once) rules.splice(rules.indexOf(rule), 1);
        const verdict = rule.act(call, () => run(res, call, req), res);
        if (verdict === 'hold') return;
        if (verdict) return fail(res, call, verdict);
        break;
      }
      if (call.method === 'getUpdates') return getUpdates(req, res, call);
      run(res, call, req);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTeardown(
    () =>
      new Promise<void>((resolve) => {
        for (const wake of [...pollers]) wake();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );

  const chatIdOf = (call: ApiCall) => Number(call.payload.chat_id);

  standIn = {
    apiRoot: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    token,
    calls,
    messages,
    send(chatId, text) {
      const command = /^\/[A-Za-z0-9_]+(@\w+)?/.exec(text);
      return queueUpdate({
        message: {
          message_id: allocateMessageId(chatId),
          date: Math.floor(Date.now() / 1000),
          chat: chatOf(chatId),
          from: userOf(chatId),
          text,
          ...(command ? { entities: [{ type: 'bot_command', offset: 0, length: command[0].length }] } : {}),
        },
      });
    },
    press(chatId, messageId, data) {
      const id = `cb-${nextUpdateId}`;
      callbackIds.add(id);
      const message = messages.get(`${chatId}:${messageId}`);
      return queueUpdate({
        callback_query: {
          id,
          from: userOf(chatId),
          chat_instance: `ci-${chatId}`,
          data,
          message: { message_id: messageId, date: Math.floor(Date.now() / 1000), chat: chatOf(chatId), from: botUser, text: message?.html ?? '' },
        },
      });
    },
    waitFor(what, match, timeoutMs = 20_000) {
      const found = calls.find((call) => call.status !== undefined && match(call));
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          events.off('call', listener);
          const recent = calls.slice(-8).map((c) => `${c.method} ${c.status} ${JSON.stringify(c.payload).slice(0, 160)}`);
          reject(new Error(`timed out waiting for ${what}; last calls:\n${recent.join('\n')}`));
        }, timeoutMs);
        const listener = (call: ApiCall) => {
          if (!match(call)) return;
          clearTimeout(timer);
          events.off('call', listener);
          resolve(call);
        };
        events.on('call', listener);
      });
    },
    delivered(chatId, method) {
      return calls.filter(
        (call) => call.status === 200 && (method ? call.method === method : call.method === 'sendMessage' || call.method === 'editMessageText') && chatIdOf(call) === chatId,
      );
    },
    failOnce(match, failure) {
      rules.push({ match, once: true, act: () => failure });
    },
    block(chatId) {
      rules.push({
        match: (call) => (call.method === 'sendMessage' || call.method === 'editMessageText') && chatIdOf(call) === chatId,
        once: false,
        act: () => ({ status: 403, description: 'Forbidden: bot was blocked by the user' }),
      });
    },
    holdOnce(match) {
      return new Promise((resolve) => {
        rules.push({
          match,
          once: true,
          act: (call, release, res) => {
            resolve({
              call,
              release,
              drop() {
                call.status = 0;
                res.destroy();
                record(call);
              },
            });
            return 'hold';
          },
        });
      });
    },
  };
  return standIn;
}
