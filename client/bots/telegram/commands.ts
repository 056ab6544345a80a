/**
 * What the bot answers in a chat: the commands, the `/start` keyboard's
 * buttons, and a clear reply to anything it does not understand. Each handler
 * checks its input and the bounds first and changes nothing when it refuses.
 */
import { Composer, GrammyError, InlineKeyboard, type Context, type Filter } from 'grammy';
import { CombinedGraphQLErrors } from '@apollo/client';
import type { RealmcastClient } from '../../index.js';
import { FactionsDocument, TelegramGameDocument, WorldEventsDocument, type TelegramGameQuery } from '../../generated/graphql.js';
import type { Delivery } from './delivery.js';
import { escapeHtml, factionsMessage, liveMarketMessage, recentEventsMessage } from './format.js';
import { emptyChat, isActive, type ChatState, type TelegramBotLimits, type TelegramBotState } from './state.js';
import type { Streams } from './streams.js';

/** The commands, as `setMyCommands` lists them in Telegram's menu. */
export const commandList = [
  { command: 'start', description: 'Help and the main buttons' },
  { command: 'live_market', description: 'Every price, updated live' },
  { command: 'factions', description: 'Faction influence' },
  { command: 'watch', description: 'SYMBOL PERCENT: alert on a price move' },
  { command: 'events', description: 'on | important | off: world events here' },
  { command: 'game', description: "CODE: a game's turn results" },
  { command: 'stop', description: 'Stop everything in this chat' },
] as const;

const knownCommands = new Set<string>([...commandList.map((c) => c.command), 'help']);

/** The callback data of the `/start` keyboard's buttons. */
export const buttons = { liveMarket: 'live_market', factions: 'factions', events: 'events' } as const;

export interface CommandsOptions {
  realm: RealmcastClient;
  state: TelegramBotState;
  save(): Promise<void>;
  delivery: Delivery;
  streams: Streams;
  limits: Required<TelegramBotLimits>;
  /** How long `/live_market` keeps editing its message. */
  liveDurationMs: number;
  logger(message: string): void;
}

/** A refusal with the reply that explains it. */
class Refusal extends Error {}

const html = { parse_mode: 'HTML', link_preview_options: { is_disabled: true } } as const;

const symbolPattern = /^[A-Za-z0-9._-]{1,12}$/;
const codePattern = /^[A-Za-z0-9]{4,12}$/;

/** The arguments after a command, split on whitespace (at most `max`, the rest ignored). */
const argsOf = (ctx: Context, max = 3) => (typeof ctx.match === 'string' ? ctx.match.trim().split(/\s+/).filter(Boolean).slice(0, max) : []);

/** What every command handler works with: the options, and the chat of the update. */
interface CommandDeps extends CommandsOptions {
  chatId(ctx: Context): string;
  /** The chat's state, created on first use unless the bot already serves `maxChats` chats. */
  chatFor(ctx: Context): ChatState;
  /** Drops the chat's state if nothing is left in it. */
  tidy(ctx: Context): void;
}

type Handler = (deps: CommandDeps, ctx: Context) => Promise<void>;

function createCommandDeps(options: CommandsOptions): CommandDeps {
  const { state, limits } = options;
  const chatId = (ctx: Context) => String(ctx.chat!.id);
  return {
    ...options,
    chatId,
    chatFor(ctx) {
      const id = chatId(ctx);
      const existing = state.chats[id];
      if (existing) return existing;
      if (Object.keys(state.chats).length >= limits.maxChats) {
        throw new Refusal(`This bot already serves ${limits.maxChats} chats, its limit. Ask its admin, or try again later.`);
      }
      return (state.chats[id] = emptyChat());
    },
    tidy(ctx) {
      const chat = state.chats[chatId(ctx)];
      if (chat && !isActive(chat)) delete state.chats[chatId(ctx)];
    },
  };
}

/**
 * Runs a handler; a {@link Refusal} becomes the reply, and an empty chat is
 * never kept. Telegram's own errors go on to `bot.catch` (a 403 forgets the
 * chat); anything else (the game server not answering) gets a short apology.
 */
const guarded =
  (deps: CommandDeps, handler: Handler) =>
  async (ctx: Context): Promise<void> => {
    try {
      await handler(deps, ctx);
    } catch (error) {
      deps.tidy(ctx);
      if (error instanceof GrammyError) throw error;
      if (error instanceof Refusal) {
        await ctx.reply(`⚠️ ${error.message}`, html);
        return;
      }
      deps.logger(`chat ${ctx.chat?.id}: ${(error as Error).message}`);
      await ctx.reply('⚠️ The game server is not answering right now. Try again in a moment.', html);
    }
  };

/** `/start` and `/help`: what the bot does, with the main buttons under it. */
function helpMessage(liveDurationMs: number): string {
  return [
    '👋 <b>Realmcast</b>: the game world in this chat.',
    '',
    `/live_market: every price, updated live for ${Math.round(liveDurationMs / 60_000) || 1} min`,
    '/factions: faction influence',
    '/watch SYMBOL PERCENT: alert when a price moves that far (<code>/watch IRON 5</code>; <code>/watch IRON off</code>)',
    '/events on | important | off: world events posted here (important: only WARNING and CRITICAL)',
    "/game CODE: a game's turn results (<code>/game CODE off</code> to stop)",
    '/stop: stop everything in this chat',
  ].join('\n');
}

/** The `/start` keyboard. */
const startKeyboard = () =>
  new InlineKeyboard().text('📊 Live Market', buttons.liveMarket).text('🏰 Factions', buttons.factions).row().text('🌍 World events', buttons.events);

/** `/live_market` and its button: the prices in a message the senders edit live until `liveDurationMs` is over. */
const liveMarketCommand: Handler = async ({ streams, delivery, liveDurationMs, chatFor, chatId }, ctx) => {
  chatFor(ctx);
  if (streams.market.rows().length === 0) await streams.refreshStocks();
  const until = Date.now() + liveDurationMs;
  const message = await ctx.reply(liveMarketMessage(streams.market.rows(), { until, updatedAt: streams.market.updatedAt() }), html);
  // A live market running already is replaced: its message simply stops changing.
  await delivery.startLive(chatId(ctx), message.message_id, until);
};

/** `/factions` and its button: every faction's influence, read now. */
const factionsCommand: Handler = async ({ realm }, ctx) => {
  const { data } = await realm.client.query({ query: FactionsDocument, fetchPolicy: 'network-only' });
  await ctx.reply(factionsMessage(data?.factions ?? []), html);
};

/** The "World events" button: the five newest world events, read now. */
const recentEventsButton: Handler = async ({ realm }, ctx) => {
  const { data } = await realm.client.query({ query: WorldEventsDocument, variables: { last: 5 }, fetchPolicy: 'network-only' });
  await ctx.reply(recentEventsMessage(data?.worldEvents ?? []), html);
};

/** `/watch` lists the chat's watches, `/watch SYMBOL off` ends one, `/watch SYMBOL PERCENT` sets one at today's price. */
const watchCommand: Handler = async ({ state, save, streams, limits, chatFor, chatId, tidy }, ctx) => {
  const [symbolArg, percentArg] = argsOf(ctx);
  const existing = state.chats[chatId(ctx)];
  if (!symbolArg) {
    const watches = Object.entries(existing?.watches ?? {});
    const list = watches.map(([symbol, w]) => `• ${escapeHtml(symbol)}: ${w.percent}% from ${w.reference.toFixed(2)}`).join('\n');
    await ctx.reply(watches.length ? `🔔 <b>Watches</b>\n${list}` : 'No watches. Usage: <code>/watch SYMBOL PERCENT</code>, e.g. <code>/watch IRON 5</code>.', html);
    return;
  }
  const symbol = symbolArg.toUpperCase();
  if (!symbolPattern.test(symbol)) throw new Refusal('A symbol is 1 to 12 letters or digits, e.g. <code>/watch IRON 5</code>.');
  if (percentArg?.toLowerCase() === 'off') {
    if (!existing?.watches[symbol]) throw new Refusal(`No watch on ${escapeHtml(symbol)} in this chat.`);
    delete existing.watches[symbol];
    tidy(ctx);
    await save();
    await ctx.reply(`🔕 No longer watching ${escapeHtml(symbol)}.`, html);
    return;
  }
  const percent = Number(percentArg?.replace(/%$/, ''));
  if (percentArg === undefined || !Number.isFinite(percent) || percent < 0.1 || percent > 100) {
    throw new Refusal('PERCENT is a number from 0.1 to 100: <code>/watch IRON 5</code> alerts when IRON moves 5%.');
  }
  if (!streams.market.get(symbol)) await streams.refreshStocks();
  const stock = streams.market.get(symbol);
  if (!stock) throw new Refusal(`Unknown symbol ${escapeHtml(symbol)}. Symbols: ${streams.market.symbols().map(escapeHtml).join(', ')}.`);
  if (!existing?.watches[symbol] && Object.keys(existing?.watches ?? {}).length >= limits.maxWatchesPerChat) {
    throw new Refusal(`A chat can have at most ${limits.maxWatchesPerChat} watches. Remove one with <code>/watch SYMBOL off</code>.`);
  }
  chatFor(ctx).watches[symbol] = { percent, reference: stock.price };
  await save();
  await ctx.reply(`🔔 Watching <b>${escapeHtml(symbol)}</b> at ${stock.price.toFixed(2)}: an alert here when it moves ${percent}% (up or down).`, html);
};

/** `/events on | important | off`: which world events the chat gets pushed. */
const eventsCommand: Handler = async ({ state, save, chatFor, chatId, tidy }, ctx) => {
  const [choice] = argsOf(ctx, 1).map((a) => a.toLowerCase());
  const filter = choice === 'on' || choice === 'all' ? 'all' : choice === 'important' ? 'important' : choice === 'off' ? undefined : null;
  if (filter === null) throw new Refusal('Usage: <code>/events on</code> (all), <code>/events important</code> (WARNING and CRITICAL only) or <code>/events off</code>.');
  if (filter === undefined) {
    const chat = state.chats[chatId(ctx)];
    if (chat) delete chat.events;
    tidy(ctx);
    await save();
    await ctx.reply('🔕 World events are no longer posted here.', html);
    return;
  }
  chatFor(ctx).events = filter;
  await save();
  await ctx.reply(filter === 'all' ? '🌍 World events will be posted here.' : '🌍 WARNING and CRITICAL world events will be posted here.', html);
};

/** Reads the game `/game CODE` names; a bot without a Realmcast token is told why it cannot. */
async function readGame(realm: RealmcastClient, code: string): Promise<TelegramGameQuery['game'] | undefined> {
  try {
    return (await realm.client.query({ query: TelegramGameDocument, variables: { code }, fetchPolicy: 'network-only' })).data?.game;
  } catch (error) {
    const errorCode = CombinedGraphQLErrors.is(error) ? error.errors[0]?.extensions?.code : undefined;
    if (errorCode === 'UNAUTHENTICATED') throw new Refusal("This bot cannot read games: its admin must give it a Realmcast BOT token (REALMCAST_TOKEN).");
    throw error;
  }
}

/** `/game` lists the followed games, `/game CODE off` stops one, `/game CODE` posts that game's turn results here. */
const gameCommand: Handler = async ({ realm, state, save, streams, limits, chatFor, chatId }, ctx) => {
  const [codeArg, action] = argsOf(ctx);
  const existing = state.chats[chatId(ctx)];
  if (!codeArg) {
    const games = Object.entries(existing?.games ?? {});
    await ctx.reply(
      games.length
        ? `🎲 <b>Following</b>\n${games.map(([code, name]) => `• ${escapeHtml(name)} (${code})`).join('\n')}`
        : 'Usage: <code>/game CODE</code> posts a game\'s turn results here.',
      html,
    );
    return;
  }
  const code = codeArg.toUpperCase();
  if (!codePattern.test(code)) throw new Refusal(`"${escapeHtml(codeArg.slice(0, 20))}" is not a game code: codes are 4 to 12 letters or digits, like <code>K7M2QP</code>.`);
  if (action?.toLowerCase() === 'off') {
    if (!existing?.games[code]) throw new Refusal(`This chat does not follow game ${code}.`);
    delete existing.games[code];
    streams.prune();
    await save();
    await ctx.reply(`🔕 No longer following game ${code}.`, html);
    return;
  }
  if (existing?.games[code]) throw new Refusal(`This chat already follows game ${code}.`);
  if (Object.keys(existing?.games ?? {}).length >= limits.maxGamesPerChat) {
    throw new Refusal(`A chat can follow at most ${limits.maxGamesPerChat} games. Stop one with <code>/game CODE off</code>.`);
  }
  const followed = new Set(Object.values(state.chats).flatMap((chat) => Object.keys(chat.games)));
  if (!followed.has(code) && followed.size >= limits.maxGames) throw new Refusal(`This bot already follows ${limits.maxGames} games, its limit.`);
  const game = await readGame(realm, code);
  if (!game) throw new Refusal(`No game with code ${code}. Check the code (it is shown in the game room).`);
  if (game.status === 'FINISHED') throw new Refusal(`${escapeHtml(game.name)} (${code}) is over: there are no more turns to follow.`);
  chatFor(ctx).games[code] = game.name;
  streams.followGame(code, game.cursor);
  await save();
  await ctx.reply(`🎲 Following <b>${escapeHtml(game.name)}</b> (${code}), now at turn ${game.turnNumber}. Each turn's result will be posted here.`, html);
};

/** `/stop`: ends everything running in the chat (live market, events, watches, games) and drops its waiting messages. */
const stopCommand: Handler = async ({ state, save, delivery, streams, chatId }, ctx) => {
  const id = chatId(ctx);
  const chat = state.chats[id];
  const stopped = [
    ...(chat?.live ? ['the live market'] : []),
    ...(chat?.events ? ['world events'] : []),
    ...Object.keys(chat?.watches ?? {}).map((symbol) => `the ${symbol} watch`),
    ...Object.keys(chat?.games ?? {}).map((code) => `game ${code}`),
  ];
  if (!chat || stopped.length === 0) {
    await ctx.reply('Nothing is running in this chat. Send /start to see what I can do.', html);
    return;
  }
  delete chat.events;
  chat.watches = {};
  chat.games = {};
  chat.outbox = [];
  chat.dropped = 0;
  delivery.endLive(id, 'Stopped');
  streams.prune();
  await save();
  await ctx.reply(`⏹ Stopped ${escapeHtml(stopped.join(', '))}.`, html);
};

/** Anything else that looks like a command addressed to this bot: says it is unknown. */
async function unknownCommand(ctx: Filter<Context, 'message:entities:bot_command'>, logger: (message: string) => void) {
  const entity = ctx.message.entities.find((e) => e.type === 'bot_command' && e.offset === 0);
  if (!entity) return;
  const [name = '', addressee] = ctx.message.text.slice(1, entity.length).split('@');
  if (addressee && addressee.toLowerCase() !== ctx.me.username.toLowerCase()) return; // another bot's
  if (knownCommands.has(name.toLowerCase())) return;
  logger(`unknown command /${name} in chat ${ctx.chat.id}`);
  await ctx.reply(`Unknown command /${escapeHtml(name.slice(0, 32))}. Send /start to see what I can do.`, html);
}

/** The bot's chat side: every command and button, wired to its handler above. */
export function createCommands(options: CommandsOptions): Composer<Context> {
  const deps = createCommandDeps(options);
  const composer = new Composer<Context>();
  const keyboard = startKeyboard();

  composer.command(['start', 'help'], async (ctx) => {
    await ctx.reply(helpMessage(options.liveDurationMs), { ...html, reply_markup: keyboard });
  });
  composer.command('live_market', guarded(deps, liveMarketCommand));
  composer.command('factions', guarded(deps, factionsCommand));
  composer.command('watch', guarded(deps, watchCommand));
  composer.command('events', guarded(deps, eventsCommand));
  composer.command('game', guarded(deps, gameCommand));
  composer.command('stop', guarded(deps, stopCommand));

  composer.callbackQuery(buttons.liveMarket, async (ctx) => {
    await ctx.answerCallbackQuery({ text: 'Live market' });
    await guarded(deps, liveMarketCommand)(ctx);
  });
  composer.callbackQuery(buttons.factions, async (ctx) => {
    await ctx.answerCallbackQuery();
    await guarded(deps, factionsCommand)(ctx);
  });
  composer.callbackQuery(buttons.events, async (ctx) => {
    await ctx.answerCallbackQuery();
    await guarded(deps, recentEventsButton)(ctx);
  });
  composer.on('callback_query', (ctx) => ctx.answerCallbackQuery({ text: 'This button no longer does anything.' }));

  composer.on('message:entities:bot_command', (ctx) => unknownCommand(ctx, options.logger));

  // Plain text in a private chat: point at the commands (in groups, other people's talk is none of our business).
  composer.chatType('private').on('message:text', (ctx) => ctx.reply('Send /start to see what I can do.', html));

  return composer;
}
