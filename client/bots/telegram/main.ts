/**
 * `npm run bot:telegram`: the Realmcast Telegram bot as a program. Reads the
 * environment (see {@link usage}), then polls Telegram for updates, or with
 * `--webhook` receives them over HTTPS. Ctrl-C / SIGTERM stops it cleanly.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { connect, connectionUsage, isMain, log, parseCommandLine, untilSignal } from '../cli.js';
import { createTelegramBot } from './bot.js';
import { defaultLimits, resolveStateFile } from './state.js';

const usage = `Runs the Realmcast Telegram bot.

Usage: npm run bot:telegram [-- --webhook [<public url>]]

  --webhook [url]   Receive updates at this public HTTPS URL (env TELEGRAM_WEBHOOK_URL)
                    instead of long polling
  --state <path>    State file or folder (env BOT_STATE, default ./data/telegram-state.json)

Environment:
  TELEGRAM_BOT_TOKEN            the token BotFather gave you (required)
  TELEGRAM_API_ROOT             Bot API root (default https://api.telegram.org)
  TELEGRAM_WEBHOOK_PORT, _HOST  where the webhook server listens (default 8080, 0.0.0.0)
  TELEGRAM_WEBHOOK_SECRET       secret Telegram sends with each update (default: random per start)
  TELEGRAM_LIVE_MINUTES         how long /live_market stays live (default 10)
  TELEGRAM_PRIVATE_INTERVAL_MS  gap between messages in a private chat (default 1000)
  TELEGRAM_GROUP_INTERVAL_MS    gap between messages in a group (default 3000)
  TELEGRAM_MAX_CHATS, TELEGRAM_MAX_WATCHES, TELEGRAM_MAX_GAMES_PER_CHAT,
  TELEGRAM_MAX_GAMES, TELEGRAM_MAX_OUTBOX
                                bounds (defaults ${defaultLimits.maxChats}, ${defaultLimits.maxWatchesPerChat}, ${defaultLimits.maxGamesPerChat}, ${defaultLimits.maxGames}, ${defaultLimits.maxOutboxPerChat})

${connectionUsage}`;

const positiveInt = z.coerce.number().int().positive();

/** The bot's environment, validated: a bad value stops the bot with a message naming it. */
const environment = z.object({
  TELEGRAM_BOT_TOKEN: z.string({ error: 'required: the token BotFather gave you' }).regex(/^\d+:[\w-]+$/, 'must look like 123456:ABC-DEF… (from BotFather)'),
  TELEGRAM_API_ROOT: z.url().optional(),
  BOT_STATE: z.string().min(1).default('data/telegram-state.json'),
  TELEGRAM_WEBHOOK_URL: z.url().optional(),
  TELEGRAM_WEBHOOK_PORT: z.coerce.number().int().min(0).max(65_535).default(8080),
  TELEGRAM_WEBHOOK_HOST: z.string().min(1).default('0.0.0.0'),
  TELEGRAM_WEBHOOK_SECRET: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,256}$/, '1-256 characters of A-Z, a-z, 0-9, _ and -')
    .optional(),
  TELEGRAM_LIVE_MINUTES: z.coerce.number().min(0.01).max(24 * 60).default(10),
  TELEGRAM_PRIVATE_INTERVAL_MS: z.coerce.number().int().min(0).default(1_000),
  TELEGRAM_GROUP_INTERVAL_MS: z.coerce.number().int().min(0).default(3_000),
  TELEGRAM_MAX_CHATS: positiveInt.default(defaultLimits.maxChats),
  TELEGRAM_MAX_WATCHES: positiveInt.default(defaultLimits.maxWatchesPerChat),
  TELEGRAM_MAX_GAMES_PER_CHAT: positiveInt.default(defaultLimits.maxGamesPerChat),
  TELEGRAM_MAX_GAMES: positiveInt.default(defaultLimits.maxGames),
  TELEGRAM_MAX_OUTBOX: positiveInt.default(defaultLimits.maxOutboxPerChat),
});

async function main() {
  // `--webhook` may come bare (URL from the environment) or with a URL.
  const args = process.argv.slice(2);
  const webhookAt = args.indexOf('--webhook');
  const bareWebhook = webhookAt >= 0 && (args[webhookAt + 1] === undefined || args[webhookAt + 1]!.startsWith('--'));
  if (bareWebhook) args.splice(webhookAt + 1, 0, '');
  const values = parseCommandLine({ webhook: { type: 'string' }, state: { type: 'string' } }, usage, args);

  const parsed = environment.safeParse(process.env);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) console.error(`${issue.path.join('.')}: ${issue.message}`);
    console.error(`\n${usage}`);
    process.exit(2);
  }
  const env = parsed.data;
  const webhookUrl = values.webhook || env.TELEGRAM_WEBHOOK_URL;
  if (values.webhook !== undefined && !webhookUrl) {
    console.error('--webhook needs a URL (or TELEGRAM_WEBHOOK_URL).');
    process.exit(2);
  }

  const telegram = await createTelegramBot({
    token: env.TELEGRAM_BOT_TOKEN,
    realm: connect(values),
    stateFile: await resolveStateFile(values.state ?? env.BOT_STATE),
    apiRoot: env.TELEGRAM_API_ROOT?.replace(/\/+$/, ''),
    liveDurationMs: env.TELEGRAM_LIVE_MINUTES * 60_000,
    pacing: { privateIntervalMs: env.TELEGRAM_PRIVATE_INTERVAL_MS, groupIntervalMs: env.TELEGRAM_GROUP_INTERVAL_MS },
    limits: {
      maxChats: env.TELEGRAM_MAX_CHATS,
      maxWatchesPerChat: env.TELEGRAM_MAX_WATCHES,
      maxGamesPerChat: env.TELEGRAM_MAX_GAMES_PER_CHAT,
      maxGames: env.TELEGRAM_MAX_GAMES,
      maxOutboxPerChat: env.TELEGRAM_MAX_OUTBOX,
    },
    logger: log,
  });
  if (webhookUrl) {
    await telegram.startWebhook({
      url: webhookUrl,
      port: env.TELEGRAM_WEBHOOK_PORT,
      host: env.TELEGRAM_WEBHOOK_HOST,
      secretToken: env.TELEGRAM_WEBHOOK_SECRET ?? randomBytes(24).toString('hex'),
    });
  } else {
    await telegram.startPolling();
  }
  log('ready; Ctrl-C to stop');
  await untilSignal();
  await telegram.dispose();
  log('stopped');
}

if (isMain(import.meta.url)) await main();
