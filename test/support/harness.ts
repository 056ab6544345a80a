import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createClient, type Client, type ExecutionResult } from 'graphql-ws';
import type { Observable, Subscribable } from 'rxjs';
import { afterAll } from 'vitest';
import WebSocket from 'ws';
import { createApp, type App, type CreateAppOptions } from '../../server/app.js';
import type { Topic } from '../../server/events/topics.js';
import { createLogger } from '../../server/logger.js';

/** Everything a test started; disposed after the file's tests, newest first. */
const leftovers: Array<() => Promise<unknown> | unknown> = [];
afterAll(async () => {
  while (leftovers.length) await leftovers.pop()!();
});

/** Registers cleanup to run after this test file. */
export function onTeardown(dispose: () => Promise<unknown> | unknown) {
  leftovers.push(dispose);
}

/** A fresh temporary data directory, removed after the file's tests. */
export function tempDataDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'realmcast-test-'));
  onTeardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface TestServer extends App {
  dataDir: string;
  /** Signs a token for a new player with this role (the token CLI's path). */
  token(role?: 'PLAYER' | 'GAME_MASTER' | 'BOT', name?: string, scopes?: string[]): Promise<string>;
}

/**
 * Starts a real server on port 0 with a temporary data dir, the simulator off
 * and a silent logger; disposed after the file's tests.
 *
 * To restart a server in place (clients reconnecting to the same URL, state and
 * secret kept), dispose it and start another with its `port` and `dataDir`:
 * `await server.dispose(); server = await startServer({ port: server.port, dataDir: server.dataDir })`.
 */
export async function startServer(options: CreateAppOptions = {}): Promise<TestServer> {
  const dataDir = options.dataDir ?? tempDataDir();
  const app = await createApp({
    port: 0,
    host: '127.0.0.1',
    marketTickMs: 0,
    portfolioCoalesceMs: 20,
    logger: createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'),
    ...options,
    dataDir,
  });
  let disposed = false;
  const dispose = async () => {
    if (disposed) return;
    disposed = true;
    await app.dispose();
  };
  onTeardown(dispose);
  return {
    ...app,
    dataDir,
    dispose,
    async token(role = 'PLAYER', name = `${role.toLowerCase()}-${Math.random().toString(36).slice(2, 8)}`, scopes = []) {
      const player = await app.services.players.create(name, role);
      return app.tokens.sign({ ...player, role, scopes });
    },
  };
}

export interface GraphQLResponse<T = Record<string, any>> {
  status: number;
  data?: T | null;
  errors?: Array<{ message: string; path?: string[]; extensions?: Record<string, any> }>;
}

/** POSTs one operation over HTTP, as any client would. */
export async function gql<T = Record<string, any>>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  token?: string,
): Promise<GraphQLResponse<T>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, ...((await response.json()) as object) };
}

/** The `extensions.code` of the first error, or undefined. */
export const errorCode = (result: { errors?: Array<{ extensions?: Record<string, any> }> }) => result.errors?.[0]?.extensions?.code;

/** A real graphql-ws client for the server, closed after the file's tests. */
export function wsClient(url: string, token?: string, options: Partial<Parameters<typeof createClient>[0]> = {}): Client {
  const client = createClient({
    url: url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: true,
    connectionParams: token ? { authToken: token } : undefined,
    ...options,
  });
  onTeardown(() => client.dispose());
  return client;
}

/** Values of a subscription or an observable, queued: `next()` waits for the next one. */
export interface Collector<T> {
  /** Everything received so far, in order, taken or not. */
  readonly received: T[];
  /**
   * The next value not yet taken, waiting up to `timeoutMs` (default 5 s);
   * fails (never hangs) once the source has errored or completed.
   */
  next(timeoutMs?: number): Promise<T>;
  /** Takes `count` values in order. */
  take(count: number, timeoutMs?: number): Promise<T[]>;
  /** Resolves with what the source fails with (for a graphql-ws result: its `errors`). */
  readonly failed: Promise<unknown>;
  /** Resolves when the source completes. */
  readonly completed: Promise<void>;
  unsubscribe(): void;
}

/** What a source calls: values, then at most one `error` or `complete`. */
export interface Sink<T> {
  next(value: T): void;
  error(error: unknown): void;
  complete(): void;
}

/** Anything subscribed with a sink: rxjs and Apollo observables, or an adapter such as `subscribe`'s. */
export interface Source<T> {
  subscribe(sink: Sink<T>): { unsubscribe(): void };
}

const describeError = (error: unknown) => (error instanceof Error ? error.message : JSON.stringify(error));

export function collect<T>(observable: Observable<T>): Collector<T>;
export function collect<T>(source: Subscribable<T> | Source<T>): Collector<T>;
/**
 * The one queue tests read live values through: `subscribe` (graphql-ws) and
 * the client tests (Apollo observables) both use it. Unsubscribed after the
 * file's tests.
 */
export function collect<T>(source: Subscribable<T> | Source<T>): Collector<T> {
  const received: T[] = [];
  let taken = 0;
  const waiters: Array<() => void> = [];
  let fail!: (error: unknown) => void;
  let complete!: () => void;
  const failed = new Promise<unknown>((resolve) => (fail = resolve));
  const completed = new Promise<void>((resolve) => (complete = resolve));
  // Once the source has ended nothing more is queued, and every `next()` past the queued values fails the same way at once.
  let ending: Error | undefined;
  const wake = () => waiters.splice(0).forEach((waiter) => waiter());
  const end = (error: Error) => {
    ending = error;
    wake();
  };
  const subscription = (source as Source<T>).subscribe({
    next: (value) => {
      if (ending) return;
      received.push(value);
      wake();
    },
    error: (error) => {
      if (ending) return;
      fail(error);
      end(new Error(`subscription failed: ${describeError(error)}`, { cause: error }));
    },
    complete: () => {
      if (ending) return;
      complete();
      end(new Error('subscription completed'));
    },
  });
  const unsubscribe = () => subscription.unsubscribe();
  onTeardown(unsubscribe);
  const next = async (timeoutMs = 5_000): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    while (taken >= received.length) {
      if (ending) throw ending;
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`no subscription event within ${timeoutMs} ms (received ${received.length})`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining);
        waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return received[taken++]!;
  };
  return {
    received,
    next,
    async take(count, timeoutMs) {
      const values: T[] = [];
      for (let i = 0; i < count; i++) values.push(await next(timeoutMs));
      return values;
    },
    failed,
    completed,
    unsubscribe,
  };
}

/** A graphql-ws subscription read through `collect`: a result with `errors` fails it. */
export type Subscription<T> = Collector<T>;

/** Subscribes `query` on `client` and queues its results (see `collect`). */
export function subscribe<T = Record<string, any>>(
  client: Client,
  query: string,
  variables: Record<string, unknown> = {},
): Subscription<T> {
  const results: Source<T> = {
    subscribe: (sink) => ({
      unsubscribe: client.subscribe<T>(
        { query, variables },
        {
          next: (result: ExecutionResult<T>) => (result.errors ? sink.error(result.errors) : sink.next(result.data as T)),
          error: (error) => sink.error(error),
          complete: () => sink.complete(),
        },
      ),
    }),
  };
  return collect(results);
}

/** Polls `condition` every `everyMs` until it holds; fails after `timeoutMs`. For process and service state only. */
export async function eventually<T>(condition: () => Promise<T | false | undefined | null> | T | false | undefined | null, what: string, timeoutMs = 10_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await condition();
      if (value) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${String(lastError)})` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** Resolves when the client is connected and acknowledged. */
export function connected(client: Client): Promise<void> {
  return new Promise((resolve) => {
    const off = client.on('connected', () => {
      off();
      resolve();
    });
  });
}

/**
 * Resolves once the server has at least `count` live listeners on a pub/sub
 * channel (for `streamEvent`: live subscribers of the stream; for
 * `portfolioChanged` and `pnlTicked`: live subscriptions of the player), i.e.
 * a subscription is really active. Event-driven, no polling.
 */
export function listening(app: App, topic: Topic, id: string, count = 1): Promise<void> {
  const { pubsub, events } = app.services;
  // A stream has one pub/sub listener per instance however many subscribe: count its subscribers.
  if (topic === 'streamEvent') {
    if (events.subscriberCount(id) >= count) return Promise.resolve();
    return new Promise((resolve) => {
      const off = events.onSubscribersChanged((stream, n) => {
        if (stream === id && n >= count) {
          off();
          resolve();
        }
      });
    });
  }
  // A player's portfolio and P&L subscriptions share one watcher (one pub/sub listener): count its subscribers.
  const shared = topic === 'portfolioChanged' ? app.services.live.portfolio.subscribers : topic === 'pnlTicked' ? app.services.live.pnl.subscribers : undefined;
  if (shared) {
    if (shared.count(id) >= count) return Promise.resolve();
    return new Promise((resolve) => {
      const off = shared.onCountChanged((key, n) => {
        if (key === id && n >= count) {
          off();
          resolve();
        }
      });
    });
  }
  if (pubsub.listenerCount(topic, id) >= count) return Promise.resolve();
  return new Promise((resolve) => {
    const off = pubsub.onListenersChanged((t, i, n) => {
      if (t === topic && i === id && n >= count) {
        off();
        resolve();
      }
    });
  });
}

/**
 * Reads a Server-Sent Events response until `until(text so far)` holds, and
 * returns the text. Fails (never hangs) when the stream ends first or nothing
 * satisfying arrives within `timeoutMs`; the stream is cancelled either way
 * unless `keepOpen`.
 */
export async function readEventStream(
  response: Response,
  until: (text: string) => boolean,
  { timeoutMs = 5_000, keepOpen = false }: { timeoutMs?: number; keepOpen?: boolean } = {},
): Promise<{ text: string; reader: ReadableStreamDefaultReader<Uint8Array> }> {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`event stream: nothing expected within ${timeoutMs} ms; received ${JSON.stringify(text)}`)), timeoutMs);
  });
  try {
    while (!until(text)) {
      const { value, done } = await Promise.race([reader.read(), expired]);
      if (done) throw new Error(`event stream ended early; received ${JSON.stringify(text)}`);
      text += decoder.decode(value, { stream: true });
    }
    return { text, reader };
  } catch (error) {
    await reader.cancel().catch(() => {});
    throw error;
  } finally {
    clearTimeout(timer);
    if (!keepOpen) await reader.cancel().catch(() => {});
  }
}
