/**
 * Relay bot: forwards chosen Realmcast events to a chat webhook (Discord,
 * Slack, Mattermost, Telegram bridges…) as `{ "text": "…" }` JSON posts.
 *
 * - World events, optionally only some kinds (`--kinds market.crash,announcement`).
 * - Big price moves: a stock that moved at least `--threshold` percent away
 *   from the last price the relay reported for it (so slow drifts are
 *   reported too, once they add up).
 * - Game turn results (`--game CODE`, repeatable or comma-separated): one
 *   message per `TurnResolved`. The token must be a player of the game or a
 *   GAME_MASTER (a player's token makes that player count as online while the
 *   relay runs, so prefer a game master's).
 *
 * Delivery is at-least-once per post and in order: a post that fails
 * (network error, HTTP 5xx or 429) is retried with capped exponential backoff
 * until it goes through; other 4xx answers are logged and skipped. After each
 * event the relay stores the stream's cursor in a state file, and on start it
 * subscribes with `after:` those cursors, so a restart neither loses nor
 * repeats posts (only a crash between a post and the state write repeats that
 * one post; the `Idempotency-Key` header lets receivers drop it).
 *
 * Adding a stream means adding a {@link RelaySource}: a subscription with
 * `after`, and a function turning an event into a message or nothing.
 *
 * Usage: npm run bot:relay -- --webhook https://chat.example/hooks/abc [--kinds a,b] [--threshold 5] [--game CODE]
 */
import type { Observable } from 'rxjs';
import { GameSummaryDocument, GameTurnResultsDocument, MarketTickerDocument, StocksDocument, WorldFeedDocument } from '../generated/graphql.js';
import type { GameTurnResultsSubscription, MarketTickerSubscription, WorldFeedSubscription } from '../generated/graphql.js';
import { backoffDelay, type RealmcastClient } from '../index.js';
import { connect, connectionUsage, isMain, list, log, numberFlag, parseCommandLine, untilSignal } from './cli.js';
import { readJsonFile, writeJsonFileAtomic } from './state-file.js';

/** What the relay remembers between runs. */
export interface RelayState {
  /** Last handled cursor per stream. */
  cursors: Record<string, string>;
  /** Last price reported per symbol (the reference for the next "big move"). */
  reportedPrices: Record<string, number>;
}

/** One stream the relay follows. */
export interface RelaySource<E = any> {
  /** Key of its cursor in the state file, e.g. `world`. */
  name: string;
  /** Runs once in `start()`, before `subscribe` (e.g. to look something up); may throw to refuse starting. */
  prepare?(realm: RealmcastClient): Promise<void>;
  /** Subscribes after `after` (undefined: no stored cursor yet). */
  subscribe(realm: RealmcastClient, after: string | undefined): Observable<{ data?: unknown; error?: unknown }>;
  /** The event in a result, if any. */
  event(data: unknown): E | undefined;
  cursor(event: E): string;
  /** The chat message for an event, or null to skip it. May update `state`. */
  message(event: E, state: RelayState): string | null;
}

export interface RelayOptions {
  /** The client to subscribe with (the relay does not dispose it). */
  realm: RealmcastClient;
  /** URL the messages are POSTed to as `{ text }`. */
  webhookUrl: string;
  /** JSON file holding {@link RelayState}; created when missing. */
  stateFile: string;
  /** World event kinds to relay; all when undefined, none when empty. @default undefined */
  worldKinds?: string[];
  /** Percent move (from the last reported price) worth a message; 0 turns price moves off. @default 5 */
  priceMoveThreshold?: number;
  /** Only these symbols for price moves. @default undefined (all) */
  symbols?: string[];
  /** First retry delay of a failed post; doubles up to `maxRetryDelayMs`. @default 1_000 // 1 second */
  retryDelayMs?: number;
  /** Upper bound of the retry delay. @default 60_000 // 1 minute */
  maxRetryDelayMs?: number;
  /** A post without an answer after this long counts as failed (and is retried). @default 10_000 // 10 seconds */
  requestTimeoutMs?: number;
  /** Games (join codes) whose turn results to relay. @default [] */
  games?: string[];
  /** Extra sources. @default [] */
  sources?: RelaySource[];
  /** Fetch implementation for the webhook. @default globalThis.fetch */
  fetch?: typeof fetch;
  /** @default log (timestamped stdout) */
  logger?: (message: string) => void;
}

export interface Relay {
  /** Loads the state and subscribes to every source. */
  start(): Promise<void>;
  /**
   * Unsubscribes, lets a post in flight finish, abandons one waiting to retry
   * (it is redone after a restart) and writes the state.
   */
  stop(): Promise<void>;
  /** Posts delivered so far. */
  readonly delivered: number;
}

/** World events as `[SEVERITY] message`. */
export function worldEventsSource(kinds: string[] | undefined): RelaySource<WorldFeedSubscription['worldEvents']> {
  return {
    name: 'world',
    subscribe: (realm, after) => realm.client.subscribe({ query: WorldFeedDocument, variables: { kinds, after } }),
    event: (data) => (data as WorldFeedSubscription | undefined)?.worldEvents,
    cursor: (event) => event.cursor,
    message: (event) => `[${event.severity}] ${event.message}`,
  };
}

/** Price moves of at least `threshold` percent from the last reported price. */
export function priceMovesSource(threshold: number, symbols: string[] | undefined): RelaySource<MarketTickerSubscription['stockTicked']> {
  return {
    name: 'market',
    subscribe: (realm, after) => realm.client.subscribe({ query: MarketTickerDocument, variables: { symbols, after } }),
    event: (data) => (data as MarketTickerSubscription | undefined)?.stockTicked,
    cursor: (tick) => tick.cursor,
    message(tick, state) {
      const reference = state.reportedPrices[tick.symbol];
      if (reference === undefined) {
        state.reportedPrices[tick.symbol] = tick.price;
        return null;
      }
      const move = ((tick.price - reference) / reference) * 100;
      if (Math.abs(move) < threshold) return null;
      state.reportedPrices[tick.symbol] = tick.price;
      const arrow = move > 0 ? '📈' : '📉';
      return `${arrow} ${tick.symbol} ${reference.toFixed(2)} → ${tick.price.toFixed(2)} (${move > 0 ? '+' : ''}${move.toFixed(1)}%)`;
    },
  };
}

/**
 * A game's turn results as `🎲 <game name> (CODE) turn N: <outcome>`. With no
 * stored cursor it starts from the game's cursor as read at start, so nothing
 * resolved after the relay started is missed.
 */
export function gameTurnsSource(code: string): RelaySource<GameTurnResultsSubscription['gameEvents']> {
  const gameCode = code.trim().toUpperCase();
  let name = gameCode;
  let startCursor: string | undefined;
  return {
    name: `game:${gameCode}`,
    async prepare(realm) {
      const { data } = await realm.client.query({ query: GameSummaryDocument, variables: { code: gameCode }, fetchPolicy: 'network-only' });
      if (!data?.game) throw new Error(`no game with code ${gameCode}`);
      name = data.game.name;
      startCursor = data.game.cursor;
    },
    subscribe: (realm, after) =>
      realm.client.subscribe({ query: GameTurnResultsDocument, variables: { code: gameCode, after: after ?? startCursor } }),
    event: (data) => (data as GameTurnResultsSubscription | undefined)?.gameEvents,
    cursor: (event) => event.cursor,
    message: (event) => (event.__typename === 'TurnResolved' ? `🎲 ${name} (${gameCode}) turn ${event.turnNumber}: ${event.outcome}` : null),
  };
}

export function createRelay(options: RelayOptions): Relay {
  const {
    realm,
    webhookUrl,
    stateFile,
    worldKinds,
    priceMoveThreshold = 5,
    symbols,
    retryDelayMs = 1_000,
    maxRetryDelayMs = 60_000,
    requestTimeoutMs = 10_000,
    fetch = globalThis.fetch,
    logger = log,
  } = options;
  const sources: RelaySource[] = [
    ...(worldKinds?.length === 0 ? [] : [worldEventsSource(worldKinds)]),
    ...(priceMoveThreshold > 0 ? [priceMovesSource(priceMoveThreshold, symbols)] : []),
    ...[...new Set((options.games ?? []).map((code) => code.trim().toUpperCase()).filter(Boolean))].map(gameTurnsSource),
    ...(options.sources ?? []),
  ];

  let state: RelayState = { cursors: {}, reportedPrices: {} };
  let delivered = 0;
  const subscriptions: Array<{ unsubscribe(): void }> = [];
  const stopping = new AbortController();
  /** Events are handled one at a time, in arrival order, so posts and state writes stay in order. */
  let queue: Promise<void> = Promise.resolve();

  const saveState = () => writeJsonFileAtomic(stateFile, state);

  /** Posts until it succeeds, is refused for good, or the relay stops. Returns false when stopped. */
  const post = async (text: string, idempotencyKey: string): Promise<boolean> => {
    for (let attempt = 0; ; attempt++) {
      if (stopping.signal.aborted) return false;
      let problem: string;
      try {
        const response = await fetch(webhookUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
          body: JSON.stringify({ text }),
          // Not aborted by stop(): a post the receiver may already have must finish and be recorded.
          signal: AbortSignal.timeout(requestTimeoutMs),
        });
        await response.body?.cancel();
        if (response.ok) return true;
        if (response.status < 500 && response.status !== 429) {
          logger(`webhook refused a message (HTTP ${response.status}); skipping it: ${text}`);
          return true;
        }
        problem = `HTTP ${response.status}`;
      } catch (error) {
        problem = (error as Error).message;
      }
      const wait = backoffDelay(attempt, { initialDelayMs: retryDelayMs, maxDelayMs: maxRetryDelayMs });
      logger(`webhook failed (${problem}); retry ${attempt + 1} in ${wait} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, wait);
        stopping.signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
      });
    }
  };

  const handle = async (source: RelaySource, event: unknown) => {
    if (stopping.signal.aborted) return;
    const cursor = source.cursor(event);
    const text = source.message(event, state);
    if (text !== null) {
      if (!(await post(text, `${source.name}:${cursor}`))) return; // stopped: the event is redone after a restart
      delivered += 1;
      logger(`relayed: ${text}`);
    }
    state.cursors[source.name] = cursor;
    await saveState();
  };

  return {
    get delivered() {
      return delivered;
    },
    async start() {
      const stored = await readJsonFile<Partial<RelayState>>(stateFile);
      if (stored) {
        state = { cursors: {}, reportedPrices: {}, ...stored };
        logger(`resuming from ${stateFile}`);
      }
      if (sources.some((s) => s.name === 'market')) {
        // First run: the current prices are the references for "big moves".
        const { data } = await realm.client.query({ query: StocksDocument, fetchPolicy: 'network-only' });
        for (const stock of data?.stocks ?? []) state.reportedPrices[stock.symbol] ??= stock.price;
      }
      for (const source of sources) await source.prepare?.(realm);
      for (const source of sources) {
        const observable = source.subscribe(realm, state.cursors[source.name]);
        subscriptions.push(
          observable.subscribe(({ data, error }) => {
            if (error) {
              logger(`${source.name} stream failed: ${(error as Error).message}`);
              return;
            }
            const event = source.event(data);
            if (event !== undefined) queue = queue.then(() => handle(source, event)).catch((e) => logger(`relay error: ${(e as Error).message}`));
          }),
        );
      }
    },
    async stop() {
      for (const subscription of subscriptions.splice(0)) subscription.unsubscribe();
      stopping.abort();
      await queue;
      await saveState();
    },
  };
}

const usage = `Relays Realmcast events to a chat webhook as {"text": "…"} posts.

Usage: npm run bot:relay -- --webhook <url> [options]

  --webhook <url>       Where to POST messages (env RELAY_WEBHOOK_URL)
  --state <file>        Cursor state file (default ./data/relay-state.json)
  --kinds <a,b>         World event kinds to relay (default: all; "none" for none)
  --threshold <pct>     Report a stock moving this many percent (default 5; 0 = off)
  --symbols <A,B>       Only these stocks for price moves (default: all)
  --game <CODE>         Relay this game's turn results (repeatable or A,B; token of a
                        player of the game or a GAME_MASTER)

${connectionUsage}`;

async function main() {
  const values = parseCommandLine(
    { webhook: { type: 'string' }, state: { type: 'string' }, kinds: { type: 'string' }, threshold: { type: 'string' }, symbols: { type: 'string' }, game: { type: 'string', multiple: true } },
    usage,
  );
  const webhookUrl = values.webhook ?? process.env.RELAY_WEBHOOK_URL;
  if (!webhookUrl) {
    console.error(`--webhook is required.\n\n${usage}`);
    process.exit(2);
  }
  const realm = connect(values);
  const relay = createRelay({
    realm,
    webhookUrl,
    stateFile: values.state ?? 'data/relay-state.json',
    worldKinds: values.kinds === 'none' ? [] : list(values.kinds),
    priceMoveThreshold: numberFlag(values.threshold, 5, 'threshold'),
    symbols: list(values.symbols, (s) => s.toUpperCase()),
    games: (values.game ?? []).flatMap((codes) => list(codes, (c) => c.toUpperCase()) ?? []),
  });
  await relay.start();
  log(`relaying to ${new URL(webhookUrl).host}; Ctrl-C to stop`);
  await untilSignal();
  await relay.stop();
  await realm.dispose();
  log(`stopped after ${relay.delivered} posts`);
}

if (isMain(import.meta.url)) await main();
