/**
 * The Realmcast client: one call returns a configured Apollo Client for
 * dashboards and bots, with typed documents generated from the operations in
 * `client/operations/` (import them from `client/generated/graphql.js`).
 *
 * ```ts
 * const realm = createRealmcastClient({ url: 'http://localhost:4000/graphql', token });
 * realm.client.subscribe({ query: MarketTickerDocument }).subscribe(({ data }) => …);
 * ```
 *
 * Link chain, top to bottom:
 * live cache writers → resume (`after:` the last cursor) → split: subscriptions
 * to the subscription transport (graphql-ws, or SSE as a fallback), queries and
 * mutations to HTTP with the `Authorization` header (orders get an idempotency
 * key and are retried with it when the network fails).
 */
import { ApolloClient } from '@apollo/client';
import type { InMemoryCache } from '@apollo/client/cache';
import { ApolloLink } from '@apollo/client/link';
import { SetContextLink } from '@apollo/client/link/context';
import { HttpLink } from '@apollo/client/link/http';
import { createLiveCacheLink, createRealmcastCache, defaultLiveCacheWriters, type LiveCacheWriter } from './cache.js';
import { createIdempotencyLink } from './idempotency-link.js';
import { ResumeLink, type ResubscribeEvent } from './resume-link.js';
import { createStatusStore, type ConnectionStatusObservable } from './status.js';
import { createSubscriptionTransport } from './transport/index.js';

export { applyStockTick, createRealmcastCache, defaultLiveCacheWriters, realmcastPossibleTypes, realmcastTypePolicies } from './cache.js';
export type { LiveCacheWriter, StockTickLike } from './cache.js';
export { backoffDelay } from './backoff.js';
export type { ResubscribeEvent } from './resume-link.js';
export type { ConnectionStatus, ConnectionStatusObservable } from './status.js';
export { ConnectionGaveUpError, TransportInterruptedError, WebSocketAuthError } from './transport/index.js';

/**
 * Credentials: a token, nothing (anonymous), or a function returning either
 * (sync or async), called again for every HTTP request and every WebSocket or
 * SSE connection, so a refreshed token is picked up without reconnecting.
 */
export type TokenSource =
  | string
  | null
  | undefined
  | (() => string | null | undefined | Promise<string | null | undefined>);

export interface RealmcastClientOptions {
  /**
   * URL of the GraphQL endpoint, e.g. `http://localhost:4000/graphql`, or a
   * path (`/graphql`) resolved against the page in a browser. Queries and
   * mutations are POSTed here; SSE subscriptions too.
   */
  url: string;
  /** WebSocket URL. @default `url` with `http` → `ws` (`https` → `wss`) */
  wsUrl?: string;
  /** A bearer token. Ignored when `getToken` is given. @default undefined (anonymous) */
  token?: string | null;
  /**
   * Returns the current token; called for every request and every
   * (re)connection. Takes precedence over `token`. @default undefined
   */
  getToken?: () => string | null | undefined | Promise<string | null | undefined>;
  /**
   * WebSocket constructor, e.g. `import WebSocket from 'ws'` on Node 20, which
   * has no global one. Without any, subscriptions use SSE from the start.
   * @default globalThis.WebSocket
   */
  webSocketImpl?: unknown;
  /** Fetch implementation for HTTP and SSE. @default globalThis.fetch */
  fetch?: typeof fetch;
  /** First reconnect delay; doubles per failed attempt, with jitter. @default 500 // ms */
  retryDelayMs?: number;
  /**
   * Attempts in all of an order (`PlaceOrder`) when the network fails; every
   * attempt carries the same idempotency key, so an order trades at most once. @default 3
   */
  orderAttempts?: number;
  /** Upper bound of the reconnect delay. @default 15_000 // 15 seconds */
  maxRetryDelayMs?: number;
  /**
   * Ping interval on the WebSocket. A connection that does not answer a ping
   * within the same time is dropped and re-established (subscriptions resume).
   * @default 10_000 // 10 seconds
   */
  keepAliveMs?: number;
  /**
   * Switch subscriptions to Server-Sent Events when WebSockets cannot be
   * established but HTTP works (status `fallback-sse`). @default true
   */
  sseFallback?: boolean;
  /**
   * WebSocket attempts failing before acknowledgement (refused upgrade, socket
   * error) before checking HTTP and falling back to SSE. @default 3
   */
  fallbackAfterFailures?: number;
  /**
   * How long WebSocket attempts may keep failing before their
   * acknowledgement (counted from the first failure) before the client checks
   * HTTP and, when it works, falls back to SSE, whichever of this and
   * `fallbackAfterFailures` comes first. @default 500 // ms: on SSE within a second of a refused upgrade
   */
  fallbackAfterMs?: number;
  /** While on SSE, how often to try the WebSocket again. @default 30_000 // 30 seconds */
  wsProbeIntervalMs?: number;
  /**
   * Failed connection attempts in a row (WebSocket or SSE) after which the
   * client gives up: status `failed`, subscriptions end with
   * `ConnectionGaveUpError`, until `reconnect()`. @default Infinity (retry forever)
   */
  maxRetries?: number;
  /** The cache to use. @default createRealmcastCache() */
  cache?: InMemoryCache;
  /**
   * Writers that apply subscription events to cached entities, by root field
   * (see `cache.ts`); `false` turns them off. @default defaultLiveCacheWriters
   */
  liveCacheWriters?: Readonly<Record<string, LiveCacheWriter>> | false;
  /** Called whenever a subscription is resumed after an interruption. @default undefined */
  onResubscribe?: (event: ResubscribeEvent) => void;
}

export interface RealmcastClient {
  /** The Apollo Client: use it directly or through `ApolloProvider`. */
  readonly client: ApolloClient;
  /** Connection status, observable (`status.get()`, `status.subscribe(listener)`, `status.when(...)`). */
  readonly status: ConnectionStatusObservable;
  /**
   * New credentials for the same user (a refreshed token): the WebSocket
   * reconnects with them and live subscriptions resume; the cache is kept.
   */
  setToken(token: TokenSource): void;
  /**
   * Signs in as someone else (or out, with null): like `setToken`, then
   * resets the cache and refetches active queries (`me`, `portfolio`…).
   */
  switchUser(token: TokenSource): Promise<void>;
  /** Drops the live connection and reconnects (e.g. after the device changed networks, or after the client gave up). */
  reconnect(): void;
  /** Completes every subscription, closes all connections and stops the Apollo Client. */
  dispose(): Promise<void>;
}

/** Creates a configured Apollo Client for Realmcast; see {@link RealmcastClientOptions}. */
export function createRealmcastClient(options: RealmcastClientOptions): RealmcastClient {
  const {
    url,
    wsUrl,
    token,
    getToken,
    webSocketImpl = (globalThis as { WebSocket?: unknown }).WebSocket,
    fetch = globalThis.fetch,
    retryDelayMs = 500,
    orderAttempts = 3,
    maxRetryDelayMs = 15_000,
    keepAliveMs = 10_000,
    sseFallback = true,
    fallbackAfterFailures = 3,
    fallbackAfterMs = 500,
    wsProbeIntervalMs = 30_000,
    maxRetries = Infinity,
    cache = createRealmcastCache(),
    liveCacheWriters = defaultLiveCacheWriters,
    onResubscribe,
  } = options;

  const urls = resolveUrls(url, wsUrl);
  let tokenSource: TokenSource = getToken ?? token;
  const currentToken = async () => (typeof tokenSource === 'function' ? ((await tokenSource()) ?? null) : (tokenSource ?? null));

  const status = createStatusStore('connecting');
  const transport = createSubscriptionTransport({
    httpUrl: urls.http,
    wsUrl: urls.ws,
    webSocketImpl,
    fetch,
    getToken: currentToken,
    backoff: { initialDelayMs: retryDelayMs, maxDelayMs: maxRetryDelayMs },
    keepAliveMs,
    sseFallback,
    fallbackAfterFailures,
    fallbackAfterMs,
    wsProbeIntervalMs,
    maxRetries,
    status,
  });

  const auth = new SetContextLink(async (context) => {
    const bearer = await currentToken();
    return bearer ? { headers: { ...context.headers, authorization: `Bearer ${bearer}` } } : {};
  });
  const http = ApolloLink.from([createIdempotencyLink({ attempts: orderAttempts }), auth, new HttpLink({ uri: urls.http, fetch })]);

  const link = ApolloLink.from([
    ...(liveCacheWriters ? [createLiveCacheLink(liveCacheWriters)] : []),
    new ResumeLink({ onResubscribe }),
    ApolloLink.split((operation) => operation.operationType === 'subscription', transport.link, http),
  ]);

  const client = new ApolloClient({ link, cache });

  return {
    client,
    status,
    setToken(next) {
      tokenSource = next;
      transport.restart();
    },
    async switchUser(next) {
      tokenSource = next;
      transport.restart();
      await client.resetStore();
    },
    reconnect: () => transport.restart(),
    async dispose() {
      await transport.dispose();
      client.stop();
    },
  };
}

/** HTTP and WebSocket URLs of the endpoint; relative URLs resolve against the page. */
function resolveUrls(url: string, wsUrl: string | undefined): { http: string; ws: string } {
  const base = (globalThis as { location?: { href: string } }).location?.href;
  const http = new URL(url, base);
  const ws = new URL(wsUrl ?? http.href, base);
  if (!wsUrl) ws.protocol = http.protocol === 'https:' ? 'wss:' : 'ws:';
  return { http: http.href, ws: ws.href };
}
