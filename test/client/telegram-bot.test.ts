/**
 * The Telegram bot end to end: the real bot program (`npm run bot:telegram`'s
 * entry, spawned as its own process) against a real Realmcast server on a
 * free port and a local stand-in of the Telegram Bot API over HTTP.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { watch } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { TelegramBotState } from '../../client/bots/telegram/state.js';
import { createGame, joinGame, leaveGame, readGame, signIn, submitChoice } from '../support/games.js';
import { gql, onTeardown, startServer, tempDataDir, type TestServer } from '../support/harness.js';
import { parseTelegramHtml, startTelegramStandIn, type ApiCall, type TelegramStandIn } from '../support/telegram-stand-in.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const entry = path.join(root, 'client/bots/telegram/main.ts');

interface BotProcess {
  child: ChildProcess;
  lines: string[];
  /** Resolves with the first output line (past or future) matching `pattern`. */
  line(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Sends `signal` and resolves when the process has exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Runs the bot program with `env` (plus the test defaults); killed after the file's tests. */
function spawnBot(env: Record<string, string>, args: string[] = []): BotProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', entry, ...args], {
    cwd: root,
    env: { ...process.env, TELEGRAM_PRIVATE_INTERVAL_MS: '20', TELEGRAM_GROUP_INTERVAL_MS: '20', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  for (const stream of [child.stdout!, child.stderr!]) {
    createInterface({ input: stream }).on('line', (line) => {
      lines.push(line);
      if (process.env.TEST_BOT_LOG) console.log(`[bot] ${line}`);
      for (const wake of [...waiters]) wake();
    });
  }
  onTeardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  return {
    child,
    lines,
    line(pattern, timeoutMs = 40_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          for (const line of lines) {
            const match = pattern.exec(line);
            if (match) {
              waiters.delete(check);
              clearTimeout(timer);
              resolve(match);
              return;
            }
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no bot output matching ${pattern} within ${timeoutMs} ms; output:\n${lines.join('\n')}`));
        }, timeoutMs);
        waiters.add(check);
        check();
        void exited.then(() => {
          if (waiters.has(check)) {
            waiters.delete(check);
            clearTimeout(timer);
            reject(new Error(`the bot exited before printing ${pattern}; output:\n${lines.join('\n')}`));
          }
        });
      });
    },
    async kill(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      await exited;
    },
  };
}

interface World {
  app: TestServer;
  gm: string;
  standIn: TelegramStandIn;
  stateFile: string;
  env: Record<string, string>;
  /** Starts the bot and waits until it is ready. */
  start(extraEnv?: Record<string, string>, args?: string[]): Promise<BotProcess>;
  /** A user sends `text` in `chatId`; resolves with the bot's next message there. */
  say(chatId: number, text: string): Promise<ApiCall>;
  announce(message: string, severity?: 'INFO' | 'WARNING' | 'CRITICAL', kind?: string): Promise<string>;
  setPrice(symbol: string, price: number): Promise<void>;
  /** Resolves once the state file satisfies `check` (re-read on every change of its folder). */
  state<T>(what: string, check: (state: TelegramBotState) => T | undefined | false): Promise<T>;
}

async function world(extraEnv: Record<string, string> = {}): Promise<World> {
  const app = await startServer();
  const standIn = await startTelegramStandIn();
  const gm = await app.token('GAME_MASTER', 'ops');
  const stateFile = path.join(tempDataDir(), 'telegram', 'state.json');
  const env = {
    TELEGRAM_BOT_TOKEN: standIn.token,
    TELEGRAM_API_ROOT: standIn.apiRoot,
    REALMCAST_URL: app.url,
    REALMCAST_TOKEN: await app.token('BOT', 'telegram', ['watchAnyGame']),
    BOT_STATE: stateFile,
    ...extraEnv,
  };
  const readState = async () => JSON.parse(await readFile(stateFile, 'utf8')) as TelegramBotState;
  return {
    app,
    gm,
    standIn,
    stateFile,
    env,
    async start(more = {}, args = []) {
      const bot = spawnBot({ ...env, ...more }, args);
      await bot.line(/ready/);
      return bot;
    },
    async say(chatId, text) {
      const after = standIn.calls.length;
      standIn.send(chatId, text);
      return standIn.waitFor(`a reply to ${text} in chat ${chatId}`, (call) => call.method === 'sendMessage' && Number(call.payload.chat_id) === chatId && standIn.calls.indexOf(call) >= after);
    },
    async announce(message, severity = 'INFO', kind = 'announcement') {
      const result = await gql<{ announceWorldEvent: { cursor: string } }>(
        app.url,
        'mutation ($m: String!, $k: String, $s: Severity) { announceWorldEvent(message: $m, kind: $k, severity: $s) { cursor } }',
        { m: message, k: kind, s: severity },
        gm,
      );
      expect(result.errors).toBeUndefined();
      return result.data!.announceWorldEvent.cursor;
    },
    async setPrice(symbol, price) {
      const result = await gql(app.url, 'mutation ($s: String!, $p: Float!) { setStockPrice(symbol: $s, price: $p) { price } }', { s: symbol, p: price }, gm);
      expect(result.errors).toBeUndefined();
    },
    state(what, check) {
      return new Promise((resolve, reject) => {
        const watcher = watch(path.dirname(stateFile));
        const finish = (error?: Error, value?: unknown) => {
          watcher.close();
          clearTimeout(timer);
          if (error) reject(error);
          else resolve(value as never);
        };
        const timer = setTimeout(() => finish(new Error(`timed out waiting for the state file: ${what}`)), 15_000);
        const test = () =>
          readState().then(
            (state) => {
              const value = check(state);
              if (value) finish(undefined, value);
            },
            () => {}, // not written yet
          );
        watcher.on('change', () => void test());
        void test();
      });
    },
  };
}

/** The visible text of a message the bot sent. */
const textOf = (call: ApiCall) => {
  const parsed = parseTelegramHtml(String(call.payload.text));
  if ('error' in parsed) throw new Error(parsed.error);
  return parsed.text;
};

const isTo = (chatId: number, method = 'sendMessage') => (call: ApiCall) => call.method === method && Number(call.payload.chat_id) === chatId;

// Each test spawns the bot (tsx compiles it at start: seconds on a busy two-core machine).
describe('Telegram bot', { timeout: 60_000 }, () => {
  it('should answer /start with help and the three buttons, register its commands, and answer every command clearly', async () => {
    const w = await world();
    await w.start();
    expect(w.standIn.calls.map((c) => c.method)).toEqual(expect.arrayContaining(['getMe', 'setMyCommands', 'deleteWebhook']));
    const commands = w.standIn.calls.find((c) => c.method === 'setMyCommands')!.payload.commands.map((c: { command: string }) => c.command);
    expect(commands).toEqual(['start', 'live_market', 'factions', 'watch', 'events', 'game', 'stop']);

    const start = await w.say(101, '/start');
    expect(start.payload.parse_mode).toBe('HTML');
    expect(textOf(start)).toContain('/live_market');
    const buttons = start.payload.reply_markup.inline_keyboard.flat() as Array<{ text: string; callback_data: string }>;
    expect(buttons.map((b) => b.text)).toEqual(['📊 Live Market', '🏰 Factions', '🌍 World events']);

    // The Factions button: the query is answered, then the factions are posted.
    const before = w.standIn.calls.length;
    w.standIn.press(101, start.result.message_id, buttons[1]!.callback_data);
    await w.standIn.waitFor('answerCallbackQuery', (c) => c.method === 'answerCallbackQuery' && c.status === 200);
    const factions = await w.standIn.waitFor('the factions', (c) => isTo(101)(c) && w.standIn.calls.indexOf(c) >= before);
    expect(textOf(factions)).toMatch(/The Crown[\s\S]*Merchant Guild[\s\S]*Order of the Flame[\s\S]*Free Companies/);
    expect(textOf(await w.say(101, '/factions'))).toContain('40.0');

    // The World events button shows the latest ones.
    await w.announce('The harvest is in');
    const eventsBefore = w.standIn.calls.length;
    w.standIn.press(101, start.result.message_id, buttons[2]!.callback_data);
    const recent = await w.standIn.waitFor('recent events', (c) => isTo(101)(c) && w.standIn.calls.indexOf(c) >= eventsBefore);
    expect(textOf(recent)).toContain('The harvest is in');

    // Clear replies for what it cannot do; nothing is stored for them.
    expect(textOf(await w.say(101, '/dance'))).toBe('Unknown command /dance. Send /start to see what I can do.');
    expect(textOf(await w.say(101, '/watch NOPE 5'))).toMatch(/^⚠️ Unknown symbol NOPE\. Symbols: AETH, GOLD, GRAIN, IRON, SHIP, SPICE\.$/);
    expect(textOf(await w.say(101, '/watch IRON lots'))).toMatch(/PERCENT is a number from 0\.1 to 100/);
    expect(textOf(await w.say(101, '/watch IRON 500'))).toMatch(/PERCENT is a number from 0\.1 to 100/);
    expect(textOf(await w.say(101, '/game ZZZZ99'))).toBe('⚠️ No game with code ZZZZ99. Check the code (it is shown in the game room).');
    expect(textOf(await w.say(101, '/game <b>!'))).toMatch(/is not a game code/);
    expect(textOf(await w.say(101, '/events maybe'))).toMatch(/^⚠️ Usage: \/events on/);
    expect(textOf(await w.say(101, '/stop'))).toBe('Nothing is running in this chat. Send /start to see what I can do.');
    expect(textOf(await w.say(101, 'hello?'))).toBe('Send /start to see what I can do.');
    expect(await w.state('the handled updates', (s) => s.lastUpdateId === 13 && s)).toMatchObject({ chats: {} });
  });

  it('should show the live market from the button, edit it in place as prices move (conflated to the pacing), and end it', async () => {
    const w = await world();
    const interval = 300;
    await w.start({ TELEGRAM_PRIVATE_INTERVAL_MS: String(interval) });
    const start = await w.say(202, '/start');
    const before = w.standIn.calls.length;
    w.standIn.press(202, start.result.message_id, 'live_market');
    const live = await w.standIn.waitFor('the live market', (c) => isTo(202)(c) && w.standIn.calls.indexOf(c) >= before);
    expect(live.payload.text).toContain('<pre>');
    expect(textOf(live)).toContain('IRON      42.50 • 0.00 0.0%');
    const messageId = live.result.message_id;

    await w.setPrice('IRON', 45);
    const edit = await w.standIn.waitFor('an edit with IRON at 45', (c) => isTo(202, 'editMessageText')(c) && textOf(c).includes('IRON      45.00 ▲ +2.50 +5.9%'));
    expect(edit.payload.message_id).toBe(messageId);

    // Five moves in a burst: the message ends up with the last price, in fewer edits than moves.
    const editsBefore = w.standIn.delivered(202, 'editMessageText').length;
    for (const price of [40, 39, 38, 37, 36.5]) await w.setPrice('GOLD', price * 25);
    await w.standIn.waitFor('GOLD at 912.50', (c) => isTo(202, 'editMessageText')(c) && textOf(c).includes('GOLD     912.50 ▼ -42.50 -4.5%'));
    expect(w.standIn.delivered(202, 'editMessageText').length - editsBefore).toBeLessThan(5);
    // Every message and edit in the chat kept the pacing gap as Telegram sees it (edits count too).
    const times = w.standIn.delivered(202).map((c) => c.at);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(interval);
    expect(w.standIn.messages.get(`202:${messageId}`)!.html).toContain('912.50');

    expect(textOf(await w.say(202, '/stop'))).toBe('⏹ Stopped the live market.');
    const last = await w.standIn.waitFor('the last edit', (c) => isTo(202, 'editMessageText')(c) && textOf(c).includes('⏹ Stopped'));
    expect(last.payload.message_id).toBe(messageId);
    await w.state('the live market gone', (s) => !s.chats['202'] && s);
  });

  it('should end a live market after its configured time', async () => {
    const w = await world();
    await w.start({ TELEGRAM_LIVE_MINUTES: '0.02' }); // 1.2 s
    const live = await w.say(203, '/live_market');
    const ended = await w.standIn.waitFor('the live market to end', (c) => isTo(203, 'editMessageText')(c) && textOf(c).includes('⏹ Live market ended'));
    expect(ended.payload.message_id).toBe(live.result.message_id);
    await w.state('the live market gone', (s) => !s.chats['203'] && s);
  });

  it('should alert a watch when a price moves that far, and bound watches per chat', async () => {
    const w = await world();
    await w.start({ TELEGRAM_MAX_WATCHES: '2' });
    expect(textOf(await w.say(301, '/watch iron 5%'))).toBe('🔔 Watching IRON at 42.50: an alert here when it moves 5% (up or down).');
    expect(textOf(await w.say(301, '/watch GOLD 10'))).toContain('Watching GOLD');
    expect(textOf(await w.say(301, '/watch SHIP 3'))).toBe('⚠️ A chat can have at most 2 watches. Remove one with /watch SYMBOL off.');
    await w.setPrice('IRON', 44); // +3.5%: no alert
    await w.setPrice('IRON', 45); // +5.9% from 42.50
    const alert = await w.standIn.waitFor('the IRON alert', (c) => isTo(301)(c) && textOf(c).startsWith('🔔 IRON'));
    expect(textOf(alert)).toBe('🔔 IRON ▲ +5.9%  42.50 → 45.00 (watch: 5%)');
    await w.setPrice('IRON', 42); // -6.7% from the last alert's 45
    const down = await w.standIn.waitFor('the second IRON alert', (c) => isTo(301)(c) && textOf(c).startsWith('🔔 IRON ▼'));
    expect(textOf(down)).toBe('🔔 IRON ▼ -6.7%  45.00 → 42.00 (watch: 5%)');
    expect(w.standIn.delivered(301, 'sendMessage').filter((c) => textOf(c).startsWith('🔔 IRON'))).toHaveLength(2);
    expect(textOf(await w.say(301, '/watch IRON off'))).toBe('🔕 No longer watching IRON.');
    expect(textOf(await w.say(301, '/watch'))).toMatch(/^🔔 Watches\n• GOLD: 10% from 955\.00$/);
  });

  it('should push world events (all, or only WARNING and CRITICAL) escaped, and follow a game’s turns until it ends', async () => {
    const w = await world({ TELEGRAM_MAX_GAMES_PER_CHAT: '1' });
    await w.start();
    expect(textOf(await w.say(-401, '/events on'))).toBe('🌍 World events will be posted here.');
    await w.announce('<b>Tom & Jerry</b> rule the docks', 'CRITICAL', 'alert');
    const critical = await w.standIn.waitFor('the critical event', (c) => isTo(-401)(c) && textOf(c).includes('Tom & Jerry'));
    expect(critical.payload.text).toBe('🚨 <b>CRITICAL</b> &lt;b&gt;Tom &amp; Jerry&lt;/b&gt; rule the docks · <i>alert</i>');

    expect(textOf(await w.say(-401, '/events important'))).toBe('🌍 WARNING and CRITICAL world events will be posted here.');
    await w.announce('Quiet day at the market');
    await w.announce('Storm over the harbour', 'WARNING');
    await w.standIn.waitFor('the warning', (c) => isTo(-401)(c) && textOf(c).includes('Storm over the harbour'));
    expect(w.standIn.delivered(-401).some((c) => textOf(c).includes('Quiet day'))).toBe(false);

    // A game: its resolved turns, then its end.
    const [alice, bob] = [await signIn(w.app.url, 'Alice'), await signIn(w.app.url, 'Bob')];
    const game = await createGame(w.app.url, alice.token, 'Dragon <Council>');
    await joinGame(w.app.url, bob.token, game.code);
    expect(textOf(await w.say(-401, `/game ${game.code.toLowerCase()}`))).toBe(`🎲 Following Dragon <Council> (${game.code}), now at turn 1. Each turn's result will be posted here.`);
    const other = await createGame(w.app.url, bob.token, 'Second');
    expect(textOf(await w.say(-401, `/game ${other.code}`))).toBe('⚠️ A chat can follow at most 1 games. Stop one with /game CODE off.');
    const { scenario } = await readGame(w.app.url, alice.token, game.code);
    for (const player of [alice, bob]) expect((await submitChoice(w.app.url, player.token, game.code, scenario.choices[0].id, 1)).errors).toBeUndefined();
    const turn = await w.standIn.waitFor('the turn result', (c) => isTo(-401)(c) && textOf(c).startsWith('🎲 Dragon <Council>'));
    expect(textOf(turn)).toMatch(new RegExp(`^🎲 Dragon <Council> \\(${game.code}\\) · turn 1\\n.+\\nChosen: ${scenario.choices[0].label}$`));
    await leaveGame(w.app.url, alice.token, game.code);
    await leaveGame(w.app.url, bob.token, game.code);
    const over = await w.standIn.waitFor('the game over', (c) => isTo(-401)(c) && textOf(c).startsWith('🏁'));
    expect(textOf(over)).toContain(`(${game.code}) is over`);
    expect(textOf(await w.say(-401, `/game ${game.code}`))).toBe(`⚠️ Dragon <Council> (${game.code}) is over: there are no more turns to follow.`);

    expect(textOf(await w.say(-401, '/stop'))).toBe('⏹ Stopped world events.');
    await w.state('the chat gone', (s) => !s.chats['-401'] && s);
  });

  it('should tell the chat, and stop following, when its token may not watch the game', async () => {
    const w = await world();
    const unscoped = await w.app.token('BOT', 'telegram-unscoped');
    await w.start({ REALMCAST_TOKEN: unscoped });
    const alice = await signIn(w.app.url, 'Alice');
    const game = await createGame(w.app.url, alice.token, 'Private table');
    expect(textOf(await w.say(451, `/game ${game.code}`))).toContain('Following Private table');
    const refused = await w.standIn.waitFor('the refusal', (c) => isTo(451)(c) && textOf(c).startsWith('⚠️ Stopped following'));
    expect(textOf(refused)).toBe(
      `⚠️ Stopped following game ${game.code}: this bot's Realmcast token may not watch games (the admin needs a BOT token with the watchAnyGame scope).`,
    );
    await w.state('the follow dropped', (s) => !s.chats['451'] && !s.cursors[`game:${game.code}`] && s);
  });

  it('should continue from the present when the server cannot continue from its stored cursor (a world reset)', async () => {
    const previous = await world();
    let stale = '';
    for (const message of ['One', 'Two', 'Three']) stale = await previous.announce(message);
    const w = await world();
    const chat = { events: 'all', games: {}, watches: {}, outbox: [], nextItemId: 1, dropped: 0 };
    await mkdir(path.dirname(w.stateFile), { recursive: true });
    await writeFile(w.stateFile, JSON.stringify({ version: 1, lastUpdateId: 0, cursors: { world: stale }, chats: { '471': chat } }));
    const bot = await w.start();
    await bot.line(/world: the server cannot continue from the stored cursor \(.*beyond the end of this stream.*\); continuing from now/);
    await w.announce('After the reset');
    const delivered = await w.standIn.waitFor('the new event', (c) => isTo(471)(c) && c.status === 200);
    expect(textOf(delivered)).toBe('ℹ️ INFO After the reset · announcement');
  });

  it('should honour a 429 retry_after, and unsubscribe a chat that blocked the bot (403)', async () => {
    const w = await world();
    const bot = await w.start();
    await w.say(501, '/events on');
    await w.say(502, '/events on');
    w.standIn.failOnce(isTo(501), { status: 429, description: 'Too Many Requests: retry after 1', parameters: { retry_after: 1 } });
    w.standIn.block(502);
    await w.announce('First light');
    const delivered = await w.standIn.waitFor('First light in 501', (c) => isTo(501)(c) && c.status === 200 && textOf(c).includes('First light'));
    const limited = w.standIn.calls.find((c) => isTo(501)(c) && c.status === 429)!;
    expect(delivered.at - limited.at).toBeGreaterThanOrEqual(1_000);
    expect(w.standIn.calls.filter((c) => isTo(501)(c) && textOf(c).includes('First light'))).toHaveLength(2); // refused once, then sent once

    await bot.line(/chat 502 unsubscribed: Forbidden: bot was blocked by the user/);
    const blockedCalls = w.standIn.calls.filter(isTo(502)).length;
    await w.state('chat 502 dropped', (s) => !s.chats['502'] && s.chats['501'] && s);
    await w.announce('Second light');
    await w.standIn.waitFor('Second light in 501', (c) => isTo(501)(c) && c.status === 200 && textOf(c).includes('Second light'));
    expect(w.standIn.calls.filter(isTo(502))).toHaveLength(blockedCalls);
  });

  it('should neither lose nor repeat world events when killed in the middle of a burst, and keep each message under 4096 characters', async () => {
    const w = await world();
    let bot = await w.start();
    // The bot handles /events on but dies before its next getUpdates confirms it:
    // Telegram sends that update again after the restart, and it must not be handled twice.
    const unconfirmed = w.standIn.holdOnce((c) => c.method === 'getUpdates' && Number(c.payload.offset) >= 2);
    await w.say(601, '/events on');
    const { drop: dropPoll } = await unconfirmed;
    // The second message of the burst reaches "Telegram", which never answers: the bot dies first.
    const held = w.standIn.holdOnce((c) => isTo(601)(c) && w.standIn.calls.filter(isTo(601)).length >= 3);
    const body = (n: number) => `Event ${String(n).padStart(2, '0')} ${'~'.repeat(480)}`;
    let lastCursor = '';
    for (let n = 1; n <= 10; n++) lastCursor = await w.announce(body(n));
    const { drop } = await held;
    await w.state('all ten events taken in', (s) => s.cursors.world === lastCursor && s);
    await bot.kill('SIGKILL');
    drop();
    dropPoll();
    for (let n = 11; n <= 14; n++) await w.announce(body(n));

    const restartedAt = w.standIn.calls.length;
    bot = await w.start();
    const again = await w.standIn.waitFor(
      'the unconfirmed update sent again',
      (c) => w.standIn.calls.indexOf(c) >= restartedAt && c.method === 'getUpdates' && c.result?.some((u: { update_id: number }) => u.update_id === 1),
    );
    expect(again.payload.offset).toBe(1);
    // Updates are handled in order: once /start is answered, update 1 is behind us.
    const help = w.standIn.calls.length;
    w.standIn.send(601, '/start');
    await w.standIn.waitFor('the help', (c) => isTo(601)(c) && w.standIn.calls.indexOf(c) >= help && textOf(c).includes('/live_market'));
    expect(w.standIn.delivered(601).filter((c) => textOf(c).includes('World events will be posted here'))).toHaveLength(1);
    const lines = async () => {
      const texts = w.standIn.delivered(601, 'sendMessage').map(textOf).join('\n\n');
      return [...texts.matchAll(/Event (\d\d)/g)].map((m) => Number(m[1]));
    };
    await w.standIn.waitFor('event 14', (c) => isTo(601)(c) && c.status === 200 && textOf(c).includes('Event 14'));
    expect(await lines()).toEqual(Array.from({ length: 14 }, (_, i) => i + 1));
    // The nine events waiting after the restart did not fit one message: split, none refused.
    expect(w.standIn.calls.filter((c) => isTo(601)(c) && c.status === 400)).toEqual([]);
    for (const call of w.standIn.delivered(601)) expect(textOf(call).length).toBeLessThanOrEqual(4096);
    await bot.kill('SIGTERM');
    expect(await w.state('a clean stop', (s) => s.chats['601']?.outbox.length === 0 && s)).toBeTruthy();
  });

  it('should bound chats and waiting messages, dropping the oldest with a note', async () => {
    const w = await world({ TELEGRAM_MAX_CHATS: '2', TELEGRAM_MAX_OUTBOX: '3' });
    await w.start();
    await w.say(701, '/events on');
    await w.say(702, '/events on');
    expect(textOf(await w.say(703, '/events on'))).toBe('⚠️ This bot already serves 2 chats, its limit. Ask its admin, or try again later.');
    const held = w.standIn.holdOnce(isTo(701));
    await w.announce('Wave 1');
    const { release } = await held;
    for (let n = 2; n <= 10; n++) await w.announce(`Wave ${n}`);
    // Wave 1 is being sent; of waves 2 to 10 the newest three wait, six are dropped.
    await w.state('six dropped', (s) => s.chats['701']?.dropped === 6 && s);
    release();
    const note = await w.standIn.waitFor('the note', (c) => isTo(701)(c) && textOf(c).includes('dropped'));
    expect(textOf(note)).toBe(
      '⚠️ 6 older messages were dropped: too many were waiting.\n\nℹ️ INFO Wave 8 · announcement\n\nℹ️ INFO Wave 9 · announcement\n\nℹ️ INFO Wave 10 · announcement',
    );
    expect(w.standIn.delivered(701).map(textOf).join('\n')).not.toMatch(/Wave [2-7]\b/);
    await w.standIn.waitFor('chat 702 got wave 10', (c) => isTo(702)(c) && textOf(c).includes('Wave 10'));
    expect(await w.state('the outboxes empty', (s) => s.chats['701']?.outbox.length === 0 && s.chats['701'].dropped === 0 && s)).toBeTruthy();
  });

  it('should receive updates by webhook with the secret token when started with --webhook', async () => {
    const w = await world();
    const bot = await w.start(
      { TELEGRAM_WEBHOOK_URL: 'https://bots.example/telegram/hook', TELEGRAM_WEBHOOK_PORT: '0', TELEGRAM_WEBHOOK_HOST: '127.0.0.1', TELEGRAM_WEBHOOK_SECRET: 'test_secret-1' },
      ['--webhook'],
    );
    expect(w.standIn.webhook).toEqual({ url: 'https://bots.example/telegram/hook', secret_token: 'test_secret-1' });
    expect(w.standIn.calls.some((c) => c.method === 'getUpdates')).toBe(false);
    const [, port] = await bot.line(/listening on 127\.0\.0\.1:(\d+)/);
    w.standIn.deliverTo = `http://127.0.0.1:${port}`;
    expect(textOf(await w.say(801, '/factions'))).toContain('The Crown');
    const forged = await fetch(`http://127.0.0.1:${port}/telegram/hook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': 'wrong' },
      body: JSON.stringify({ update_id: 999, message: { message_id: 1, date: 0, chat: { id: 801, type: 'private' }, text: '/stop' } }),
    });
    expect(forged.status).toBe(401);
  });
});
