/**
 * The Telegram bot, assembled: a grammY `Bot` whose API calls go through
 * `@grammyjs/auto-retry` (waits out 429 `retry_after`, retries network errors
 * and 5xx) and the chat pacer; the state file; the Realmcast streams; the
 * senders; and the commands. `createTelegramBot` builds it, `main.ts` runs it
 * with long polling or a webhook.
 */
import { autoRetry } from '@grammyjs/auto-retry';
import { Bot, GrammyError, webhookCallback } from 'grammy';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RealmcastClient } from '../../index.js';
import { createStateWriter } from '../state-file.js';
import { commandList, createCommands } from './commands.js';
import { createDelivery } from './delivery.js';
import { createChatPacer, type ChatPacerOptions } from './pacer.js';
import { defaultLimits, loadState, type TelegramBotLimits } from './state.js';
import { createStreams } from './streams.js';

/** The update kinds the bot handles; Telegram sends no others. */
const allowedUpdates = ['message', 'callback_query'] as const;

export interface TelegramBotOptions {
  /** The bot's token from BotFather. */
  token: string;
  /** The Realmcast client (the bot disposes it). */
  realm: RealmcastClient;
  /** The JSON state file (see `state.ts`). */
  stateFile: string;
  /** Where the Bot API is: requests go to `${apiRoot}/bot<token>/<method>`. @default 'https://api.telegram.org' */
  apiRoot?: string;
  /** How long `/live_market` keeps editing its message. @default 600_000 // 10 minutes */
  liveDurationMs?: number;
  /** Message pacing per chat (Telegram's flood limits). @default see {@link ChatPacerOptions} */
  pacing?: ChatPacerOptions;
  /** Bounds on what chats can make the bot hold. @default see {@link TelegramBotLimits} */
  limits?: TelegramBotLimits;
  /** First delay before following a failed Realmcast stream again. @default 1_000 // 1 second */
  retryDelayMs?: number;
  /** @default console.log */
  logger?: (message: string) => void;
}

/** Where a webhook server listens and what Telegram is told to call. */
export interface WebhookOptions {
  /** The public HTTPS URL Telegram posts updates to (`setWebhook`); its path is served locally. */
  url: string;
  /** Local port. @default 8080 */
  port?: number;
  /** Local interface. @default '0.0.0.0' */
  host?: string;
  /** Checked against `X-Telegram-Bot-Api-Secret-Token` on every post. */
  secretToken: string;
}

export interface TelegramBot {
  /** The grammY bot, for tests and extensions. */
  readonly bot: Bot;
  /** Long polling (`getUpdates`); resolves once polling has started. */
  startPolling(): Promise<void>;
  /** Webhook mode: serves `url`'s path locally and registers `url` with Telegram. Resolves with the local address. */
  startWebhook(options: WebhookOptions): Promise<AddressInfo>;
  /** Stops polling or the webhook server, lets messages in flight finish, saves the state and disposes the Realmcast client. */
  dispose(): Promise<void>;
}

export async function createTelegramBot(options: TelegramBotOptions): Promise<TelegramBot> {
  const { token, realm, stateFile, apiRoot = 'https://api.telegram.org', liveDurationMs = 600_000, pacing, retryDelayMs = 1_000, logger = console.log } = options;
  const limits = { ...defaultLimits, ...options.limits };
  const state = await loadState(stateFile);
  const writer = createStateWriter(stateFile, () => state);
  const save = () => writer.save();

  const bot = new Bot(token, { client: { apiRoot, timeoutSeconds: 60 } });
  const pacer = createChatPacer(pacing);
  // Installed last runs first: the pacer takes the chat's slot, then auto-retry
  // repeats the call after each 429's `retry_after` within that slot.
  bot.api.config.use(autoRetry({ maxDelaySeconds: 3_600 }));
  bot.api.config.use(pacer.transformer);

  let streams: ReturnType<typeof createStreams> | undefined;
  const delivery = createDelivery({
    api: bot.api,
    state,
    save,
    pacer,
    market: { rows: () => streams?.market.rows() ?? [], updatedAt: () => streams?.market.updatedAt() },
    maxOutboxPerChat: limits.maxOutboxPerChat,
    onChatForgotten: () => streams?.prune(),
    logger,
  });
  streams = createStreams({ realm, state, save, delivery, logger, retryDelayMs });

  // Telegram delivers an update again until a later getUpdates confirms it, so
  // the last batch before a crash comes back after the restart: skip what was handled.
  bot.use(async (ctx, next) => {
    if (ctx.update.update_id <= state.lastUpdateId) return;
    try {
      await next();
    } finally {
      state.lastUpdateId = Math.max(state.lastUpdateId, ctx.update.update_id);
      await save();
    }
  });
  bot.use(createCommands({ realm, state, save, delivery, streams, limits, liveDurationMs, logger }));
  bot.catch(async ({ error, ctx }) => {
    if (error instanceof GrammyError && error.error_code === 403 && ctx.chat) {
      await delivery.forget(String(ctx.chat.id), error.description);
      return;
    }
    logger(`update ${ctx.update.update_id} failed: ${error instanceof Error ? error.message : String(error)}`);
  });

  const prepare = async () => {
    await bot.init(); // getMe: checks the token
    await streams!.start();
    await bot.api.setMyCommands(commandList.map((c) => ({ ...c })));
  };

  let server: Server | undefined;
  let polling: Promise<void> | undefined;
  let disposed = false;

  return {
    bot,
    async startPolling() {
      await prepare();
      await new Promise<void>((resolve, reject) => {
        polling = bot.start({ allowed_updates: [...allowedUpdates], onStart: () => resolve() }).catch((error) => {
          logger(`polling stopped: ${(error as Error).message}`);
          reject(error as Error);
        });
      });
      logger(`@${bot.botInfo.username} is polling for updates`);
    },
    async startWebhook({ url, port = 8080, host = '0.0.0.0', secretToken }) {
      await prepare();
      const path = new URL(url).pathname;
      const handle = webhookCallback(bot, 'http', { secretToken, timeoutMilliseconds: 55_000 });
      server = createServer((req, res) => {
        if (req.method !== 'POST' || new URL(req.url ?? '/', 'http://x').pathname !== path) {
          res.writeHead(404).end();
          return;
        }
        handle(req, res).catch((error: unknown) => {
          logger(`webhook update failed: ${(error as Error).message}`);
          if (!res.headersSent) res.writeHead(500).end();
        });
      });
      await new Promise<void>((resolve) => server!.listen(port, host, resolve));
      await bot.api.setWebhook(url, { secret_token: secretToken, allowed_updates: [...allowedUpdates] });
      const address = server.address() as AddressInfo;
      logger(`@${bot.botInfo.username} receives updates at ${url} (listening on ${address.address}:${address.port})`);
      return address;
    },
    async dispose() {
      if (disposed) return;
      disposed = true;
      if (polling) {
        await bot.stop(); // confirms the handled updates with Telegram
        await polling;
      }
      if (server) await new Promise((resolve) => server!.close(resolve));
      await streams!.dispose();
      await delivery.dispose();
      await save();
      await realm.dispose();
    },
  };
}
