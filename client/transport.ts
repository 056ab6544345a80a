/**
 * Where subscriptions travel: graphql-ws over a WebSocket when it can be
 * established, Server-Sent Events (graphql-sse, distinct connections mode,
 * against Yoga's `Accept: text/event-stream` support on the same endpoint)
 * when it cannot, and back to the WebSocket once a probe succeeds.
 *
 * The transport never retries an operation by itself with its original
 * variables: when a connection is lost (or the transport switches, or the
 * credentials change) every affected subscription fails with a
 * {@link TransportInterruptedError}. The resume link above it
 * (`resume-link.ts`) answers that by subscribing again with `after:` the last
 * cursor it delivered, so nothing is lost or repeated whichever way the
 * events travel.
 */
import { ApolloLink } from '@apollo/client/link';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { print } from '@apollo/client/utilities';
import { createClient as createSseClient, NetworkError } from 'graphql-sse';
import { CloseCode, createClient as createWsClient, type Client as WsClient, type Sink } from 'graphql-ws';
import { Observable } from 'rxjs';
import { backoffDelay, delay, type BackoffOptions } from './backoff.js';
import type { ConnectionStatusStore } from './status.js';

/**
 * A subscription stopped because its connection went away, not because the
 * server ended or refused it. Subscribing again is the right answer (the
 * resume link does it); the error never reaches the application.
 */
export class TransportInterruptedError extends Error {
  override name = 'TransportInterruptedError';
}

/** Whether `error` means "the connection went away, subscribe again". */
export const isTransportInterruption = (error: unknown): error is TransportInterruptedError =>
  error instanceof TransportInterruptedError;

/**
 * The server refused the WebSocket's credentials (close code 4403 before the
 * connection was acknowledged: a malformed, forged or expired token). The
 * subscriptions waiting on that connection end with this error; the client
 * keeps retrying with backoff (reading the token again each time), so a
 * refreshed `getToken` or `setToken()` recovers for new subscriptions.
 */
export class WebSocketAuthError extends Error {
  override name = 'WebSocketAuthError';
  constructor(
    readonly code: number,
    reason: string,
  ) {
    super(`The server refused the credentials (WebSocket close ${code}${reason ? `: ${reason}` : ''}).`);
  }
}

/** Reads the current token (or null for anonymous); called on every (re)connect and request. */
export type TokenGetter = () => Promise<string | null>;

export interface SubscriptionTransportOptions {
  /** HTTP(S) URL of the GraphQL endpoint (SSE and the reachability check use it). */
  httpUrl: string;
  /** WS(S) URL of the same endpoint. */
  wsUrl: string;
  /** WebSocket constructor; when undefined, subscriptions use SSE from the start. */
  webSocketImpl: unknown;
  /** For SSE requests and the reachability check. */
  fetch: typeof fetch;
  /** Read for every WebSocket connection and SSE request. */
  getToken: TokenGetter;
  /** Reconnect delays (WebSocket retries and SSE re-requests). */
  backoff: BackoffOptions;
  /** Ping interval; also how long a ping may go unanswered. */
  keepAliveMs: number;
  /** See `RealmcastClientOptions` for these three. */
  sseFallback: boolean;
  fallbackAfterFailures: number;
  wsProbeIntervalMs: number;
  /** Where the transport reports the connection status. */
  status: ConnectionStatusStore;
}

export interface SubscriptionTransport {
  /** Terminating link for subscription operations. */
  readonly link: ApolloLink;
  /** Which transport new subscriptions use right now. */
  readonly mode: 'ws' | 'sse';
  /**
   * Reconnects with fresh credentials: a new WebSocket (or new SSE requests),
   * every live subscription interrupted so it resumes on the new connection.
   */
  restart(): void;
  /** Completes every live subscription and closes all connections. */
  dispose(): Promise<void>;
}

/** One live subscription, as the transport tracks it. */
interface LiveSubscription {
  readonly via: 'ws' | 'sse';
  /** The WebSocket client it was sent on (ws only; unset while it waits for the next socket). */
  socket?: Socket;
  /** Stops it and tells the consumer to subscribe again. */
  interrupt(reason: string): void;
  /** Stops it and fails the consumer with `error` (no resubscription). */
  fail(error: Error): void;
  /** Stops it and completes the consumer (the client is being disposed). */
  end(): void;
}

/** One graphql-ws client: its socket and the connection attempts it makes over time. */
interface Socket {
  client: WsClient;
  /** The current socket is open and acknowledged. */
  acked: boolean;
  /** The current connection attempt got as far as an open socket. */
  opened: boolean;
  /** Replaced or given up: its events are ignored and it never retries. */
  retired: boolean;
  /** Cancels pending retry waits when retired. */
  readonly abort: AbortController;
  /** Drops the connection when our ping gets no pong in time. */
  pongTimer?: ReturnType<typeof setTimeout>;
}

/**
 * Close codes an application speaks after the upgrade succeeded: the socket
 * works (auth, rate limits…), so they never count towards the SSE fallback.
 */
const isApplicationCloseCode = (code: number) => code >= 4000 && code <= 4999;

/**
 * Close codes graphql-ws never retries (it fails the subscriptions and stops):
 * the ones below, and every 1xxx code but 1000, 1001, 1005, 1006, 1012–1014.
 */
const fatalCloseCodes = new Set<number>([
  CloseCode.InternalServerError,
  CloseCode.InternalClientError,
  CloseCode.BadRequest,
  CloseCode.BadResponse,
  CloseCode.Unauthorized,
  CloseCode.SubprotocolNotAcceptable,
  CloseCode.SubscriberAlreadyExists,
  CloseCode.TooManyInitialisationRequests,
]);

const noop = () => {};

/** Whether graphql-ws gives up after a close with `code` (mirrors its `shouldRetryConnectOrThrow`). */
const graphqlWsGivesUp = (code: number) =>
  fatalCloseCodes.has(code) || (code >= 1000 && code <= 1999 && ![1000, 1001, 1005, 1006, 1012, 1013, 1014].includes(code));

export function createSubscriptionTransport(options: SubscriptionTransportOptions): SubscriptionTransport {
  const { httpUrl, wsUrl, webSocketImpl, fetch, getToken, backoff, keepAliveMs, status } = options;
  const { sseFallback, fallbackAfterFailures, wsProbeIntervalMs } = options;

  const live = new Set<LiveSubscription>();
  let mode: 'ws' | 'sse' = webSocketImpl ? 'ws' : 'sse';
  let current: Socket | null = null;
  let probe: Socket | null = null;
  let probeTimer: ReturnType<typeof setTimeout> | undefined;
  let everConnected = false;
  /** Consecutive WebSocket attempts that failed before the acknowledgement. */
  let failures = 0;
  let checkingFallback = false;
  /** Consecutive SSE requests that failed; the next one waits a backoff first. */
  let sseFailures = 0;
  let disposed = false;
  /**
   * Set while the client waits (backoff) to replace a WebSocket that graphql-ws
   * gave up on before it was acknowledged: new ws subscriptions queue here
   * and start on the replacement.
   */
  let replacementTimer: ReturnType<typeof setTimeout> | undefined;
  const awaitingSocket = new Set<() => void>();
  let waitingForSocket = false;

  const interrupt = (via: 'ws' | 'sse', reason: string, socket?: Socket) => {
    for (const entry of [...live]) if (entry.via === via && (!socket || entry.socket === socket)) entry.interrupt(reason);
  };

  // --- WebSocket ----------------------------------------------------------

  const openSocket = (role: 'current' | 'probe'): Socket => {
    const socket: Socket = { client: undefined as unknown as WsClient, acked: false, opened: false, retired: false, abort: new AbortController() };
    // Assigned before createClient: with `lazy: false` it emits `connecting` synchronously.
    if (role === 'current') {
      current = socket;
      clearTimeout(replacementTimer);
      waitingForSocket = false;
    } else probe = socket;
    socket.client = createWsClient({
      url: wsUrl,
      webSocketImpl,
      lazy: false,
      keepAlive: keepAliveMs,
      retryAttempts: Infinity,
      // Re-read on every connection attempt, so a refreshed token is picked up.
      connectionParams: async () => {
        const token = await getToken();
        return token ? { authToken: token } : {};
      },
      retryWait: (retries) => delay(backoffDelay(retries, backoff), socket.abort.signal),
      // A probe tries once; a replaced socket stops; the current one retries forever.
      shouldRetry: () => !socket.retired && socket === current,
      onNonLazyError: noop, // reported through `closed` and the subscriptions' sinks
      on: {
        connecting: () => {
          socket.opened = false;
          if (socket !== current || socket.retired) return;
          if (status.get() !== 'offline') status.set(everConnected ? 'reconnecting' : 'connecting');
        },
        opened: () => {
          socket.opened = true;
        },
        connected: () => onConnected(socket),
        closed: (event) => {
          clearTimeout(socket.pongTimer);
          onClosed(socket, event);
        },
        // A connection can die without a close (a laptop sleeps, a NAT forgets it):
        // no pong within `keepAliveMs` of our ping means it is gone.
        ping: (received) => {
          if (received) return;
          clearTimeout(socket.pongTimer);
          socket.pongTimer = setTimeout(() => socket.client.terminate(), keepAliveMs);
        },
        pong: (received) => {
          if (received) clearTimeout(socket.pongTimer);
        },
      },
    });
    if (role === 'current') for (const start of [...awaitingSocket]) start();
    return socket;
  };

  const retire = async (socket: Socket | null) => {
    if (!socket || socket.retired) return;
    socket.retired = true;
    socket.abort.abort();
    clearTimeout(socket.pongTimer);
    if (socket === current) current = null;
    if (socket === probe) probe = null;
    // `dispose` waits for a connection attempt in flight; only an open socket is worth waiting for.
    const closing = Promise.resolve(socket.client.dispose()).catch(noop);
    if (socket.acked) await closing;
  };

  const onConnected = (socket: Socket) => {
    if (socket.retired) return;
    socket.acked = true;
    failures = 0;
    if (socket === probe) {
      // The WebSocket works again: move every subscription back to it.
      probe = null;
      current = socket;
      mode = 'ws';
      clearTimeout(probeTimer);
      interrupt('sse', 'switching back to WebSocket');
    }
    everConnected = true;
    status.set('connected');
  };

  const onClosed = (socket: Socket, event: unknown) => {
    if (socket.retired) return;
    const { code = 1006 } = (event ?? {}) as { code?: number };
    const wasAcked = socket.acked;
    socket.acked = false;
    if (socket === probe) {
      void retire(socket);
      scheduleProbe();
      return;
    }
    if (socket !== current) return;
    if (wasAcked) {
      if (fatalCloseCodes.has(code)) {
        // graphql-ws gives up on these and fails the subscriptions itself.
        status.set('offline');
        return;
      }
      status.set('reconnecting');
      interrupt('ws', `WebSocket closed (${code})`, socket);
      return;
    }
    if (graphqlWsGivesUp(code)) {
      // Before the acknowledgement this is a failed attempt like any other, but
      // graphql-ws will not retry it: replace the socket ourselves.
      void replaceAfterFatalClose(socket, code);
      return;
    }
    if (code === CloseCode.Forbidden) {
      // Invalid credentials: graphql-ws retries (with the token read again), SSE would be refused too.
      const { reason = '' } = (event ?? {}) as { reason?: string };
      const error = new WebSocketAuthError(code, reason);
      for (const entry of [...live]) if (entry.via === 'ws' && entry.socket === socket) entry.fail(error);
      return;
    }
    if (socket.opened && isApplicationCloseCode(code)) return; // the server spoke: not a blocked upgrade
    failures += 1;
    if (failures >= fallbackAfterFailures) void considerFallback(socket);
  };

  /**
   * A connection attempt was closed before the acknowledgement with a code
   * graphql-ws does not retry (1011, 4400, 4500…). It counts as a failed
   * attempt: the subscriptions on it wait for the next socket, which is
   * opened after a backoff delay, or move to SSE once `fallbackAfterFailures`
   * attempts failed and HTTP works.
   */
  const replaceAfterFatalClose = async (socket: Socket, code: number) => {
    failures += 1;
    waitingForSocket = true;
    void retire(socket); // `current` is null until the replacement: subscriptions queue
    interrupt('ws', `WebSocket closed (${code}) before it was acknowledged`, socket);
    const attempt = failures;
    if (failures >= fallbackAfterFailures) {
      const reachable = await httpReachable();
      if (disposed || mode !== 'ws' || current || !waitingForSocket) return; // restarted meanwhile
      if (reachable && sseFallback) {
        waitingForSocket = false;
        switchToSse(socket);
        return;
      }
      if (!reachable) status.set('offline');
    }
    if (disposed) return;
    clearTimeout(replacementTimer);
    replacementTimer = setTimeout(() => {
      if (!disposed && mode === 'ws' && !current) openSocket('current');
    }, backoffDelay(attempt - 1, backoff));
  };

  /**
   * The WebSocket keeps failing before it is acknowledged. If plain HTTP gets
   * through, something between us and the server blocks WebSockets: use SSE.
   * If not, the server (or the network) is down: say so and keep retrying.
   */
  const considerFallback = async (socket: Socket) => {
    if (checkingFallback) return;
    checkingFallback = true;
    try {
      const reachable = await httpReachable();
      if (disposed || socket !== current || socket.acked) return;
      if (reachable && sseFallback) switchToSse(socket);
      else if (!reachable) status.set('offline');
    } finally {
      checkingFallback = false;
    }
  };

  const httpReachable = async () => {
    try {
      const response = await fetch(httpUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json' },
        body: JSON.stringify({ query: '{ __typename }' }),
        signal: AbortSignal.timeout(5_000),
      });
      await response.body?.cancel();
      // A gateway error means the proxy is up but the server behind it is not.
      return response.status < 500;
    } catch {
      return false;
    }
  };

  const switchToSse = (socket: Socket) => {
    mode = 'sse';
    failures = 0;
    void retire(socket);
    status.set('fallback-sse');
    interrupt('ws', 'WebSocket unavailable, switching to SSE');
    scheduleProbe();
  };

  const scheduleProbe = () => {
    clearTimeout(probeTimer);
    if (disposed || !webSocketImpl || mode !== 'sse') return;
    probeTimer = setTimeout(() => {
      if (!disposed && mode === 'sse' && !probe) openSocket('probe');
    }, wsProbeIntervalMs);
  };

  /**
   * What GraphQLWsLink talks to: graphql-ws's `subscribe`, sent on whichever
   * socket is current, tracked so that a lost connection interrupts it.
   */
  const wsFacade: Pick<WsClient, 'subscribe'> = {
    subscribe(payload, sink: Sink<any>) {
      const socket = current;
      if (disposed) {
        queueMicrotask(() => sink.error(new Error('The Realmcast client is disposed.')));
        return noop;
      }
      if (!socket && !waitingForSocket) {
        // Only reachable in the instant of a switch: let the resume link route it again.
        queueMicrotask(() => sink.error(new TransportInterruptedError('no WebSocket right now')));
        return noop;
      }
      let done = false;
      let release = noop;
      const finish = () => {
        done = true;
        live.delete(entry);
        awaitingSocket.delete(attach);
        release();
      };
      const entry: LiveSubscription = {
        via: 'ws',
        interrupt(reason) {
          if (done) return;
          finish();
          sink.error(new TransportInterruptedError(reason));
        },
        fail(error) {
          if (done) return;
          finish();
          sink.error(error);
        },
        end() {
          if (done) return;
          finish();
          sink.complete();
        },
      };
      live.add(entry);
      function attach() {
        awaitingSocket.delete(attach);
        if (done || !current) return;
        entry.socket = current;
        release = current.client.subscribe(payload, {
          next: (value) => {
            if (!done) sink.next(value);
          },
          error: (error) => {
            if (done) return;
            done = true;
            live.delete(entry);
            sink.error(asError(error));
          },
          complete: () => {
            if (done) return;
            done = true;
            live.delete(entry);
            sink.complete();
          },
        });
      }
      // Waiting for the socket that replaces one closed before its acknowledgement.
      if (socket) attach();
      else awaitingSocket.add(attach);
      return () => {
        if (!done) finish();
      };
    },
  };
  // GraphQLWsLink only ever calls `subscribe`.
  const wsLink = new GraphQLWsLink(wsFacade as WsClient);

  // --- Server-Sent Events ---------------------------------------------------

  const sse = createSseClient({
    url: httpUrl,
    fetchFn: fetch,
    // Never replay an operation with stale variables: an interruption goes to the resume link.
    retryAttempts: 0,
    headers: async (): Promise<Record<string, string>> => {
      const token = await getToken();
      return token ? { authorization: `Bearer ${token}` } : {};
    },
  });

  const sseLink = new ApolloLink(
    (operation) =>
      new Observable((observer) => {
        if (disposed) {
          observer.error(new Error('The Realmcast client is disposed.'));
          return;
        }
        const payload = {
          query: print(operation.query),
          variables: operation.variables,
          operationName: operation.operationName,
          extensions: operation.extensions,
        };
        let done = false;
        let connected = false;
        let release = noop;
        let timer: ReturnType<typeof setTimeout> | undefined;
        const finish = () => {
          done = true;
          clearTimeout(timer);
          live.delete(entry);
          release();
        };
        const entry: LiveSubscription = {
          via: 'sse',
          interrupt(reason) {
            if (done) return;
            finish();
            observer.error(new TransportInterruptedError(reason));
          },
          fail(error) {
            if (done) return;
            finish();
            observer.error(error);
          },
          end() {
            if (done) return;
            finish();
            observer.complete();
          },
        };
        live.add(entry);
        const start = () => {
          release = sse.subscribe(
            payload,
            {
              next: (result) => {
                if (!done) observer.next(result as ApolloLink.Result);
              },
              error: (error) => {
                if (done) return;
                done = true;
                live.delete(entry);
                const refusedWith = refusalStatus(error);
                if (refusedWith) {
                  observer.error(new Error(`The server refused the SSE subscription (HTTP ${refusedWith}).`, { cause: error }));
                  return;
                }
                sseFailures += 1;
                if (!connected && mode === 'sse') status.set('offline');
                observer.error(new TransportInterruptedError('SSE connection lost', { cause: error }));
              },
              complete: () => {
                if (done) return;
                done = true;
                live.delete(entry);
                observer.complete();
              },
            },
            {
              connected: () => {
                connected = true;
                sseFailures = 0;
                if (mode === 'sse' && !done) status.set('fallback-sse');
              },
            },
          );
        };
        const wait = sseFailures > 0 ? backoffDelay(sseFailures - 1, backoff) : 0;
        timer = setTimeout(start, wait);
        return () => {
          if (!done) finish();
        };
      }),
  );

  // --- Together ---------------------------------------------------------------

  if (mode === 'ws') openSocket('current');
  else status.set('fallback-sse');

  return {
    link: ApolloLink.split(() => mode === 'ws', wsLink, sseLink),
    get mode() {
      return mode;
    },
    restart() {
      if (disposed) return;
      if (mode === 'ws') {
        const previous = current;
        status.set(everConnected ? 'reconnecting' : 'connecting');
        openSocket('current');
        void retire(previous);
        interrupt('ws', 'reconnecting with new credentials');
      } else {
        interrupt('sse', 'reconnecting with new credentials');
      }
    },
    async dispose() {
      if (disposed) return;
      disposed = true;
      clearTimeout(probeTimer);
      clearTimeout(replacementTimer);
      for (const entry of [...live]) entry.end();
      await Promise.all([retire(current), retire(probe)]);
      sse.dispose();
      status.set('offline');
    },
  };
}

/** The HTTP status of an SSE request the server answered with a definite "no" (4xx but 408/429). */
function refusalStatus(error: unknown): number | undefined {
  if (!(error instanceof NetworkError) || !error.response) return undefined;
  const { status } = error.response;
  return status >= 400 && status < 500 && status !== 408 && status !== 429 ? status : undefined;
}

/** graphql-ws may fail a sink with a close event or an error event; links want Errors or GraphQL errors. */
function asError(error: unknown): unknown {
  if (error instanceof Error || Array.isArray(error)) return error;
  if (error && typeof error === 'object' && 'code' in error) {
    const { code, reason } = error as { code: number; reason?: string };
    return new Error(`WebSocket closed with ${code}${reason ? `: ${reason}` : ''}`);
  }
  return new Error('WebSocket error', { cause: error });
}
