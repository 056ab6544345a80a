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
import { CombinedGraphQLErrors } from '@apollo/client/errors';
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

/**
 * The client gave up: `maxRetries` connection attempts in a row failed. Live
 * subscriptions end with this error and new ones fail with it until
 * `reconnect()` (or a new token) starts over.
 */
export class ConnectionGaveUpError extends Error {
  override name = 'ConnectionGaveUpError';
  constructor(readonly attempts: number) {
    super(`Gave up connecting to the Realmcast server after ${attempts} failed attempts.`);
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
  /** See `RealmcastClientOptions` for these five. */
  sseFallback: boolean;
  fallbackAfterFailures: number;
  fallbackAfterMs: number;
  wsProbeIntervalMs: number;
  maxRetries: number;
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
   * After the client gave up, this starts over with a fresh retry budget.
   */
  restart(): void;
  /** Completes every live subscription and closes all connections. */
  dispose(): Promise<void>;
}

/** One live subscription, as the transport tracks it. */
interface LiveSubscription {
  readonly via: 'ws' | 'sse';
  /** The WebSocket it was sent on (ws only; unset while it waits for the next socket). */
  socket?: Socket;
  /** Stops it and tells the consumer to subscribe again. */
  interrupt(reason: string): void;
  /** Stops it and fails the consumer with `error` (no resubscription). */
  fail(error: Error): void;
  /** Stops it and completes the consumer (the client is being disposed). */
  end(): void;
}

/** One graphql-ws client: one socket at a time, and the connection attempts it makes over time. */
interface Socket {
  client: WsClient;
  /** The current connection attempt is open and acknowledged. */
  acked: boolean;
  /** The current connection attempt got as far as an open socket. */
  opened: boolean;
  /**
   * How many times the server had been seen back (`serverBacks`) when the
   * current connection attempt began: an attempt begun before the latest time
   * fails for the outage it was made in, and its failure is not counted.
   */
  since: number;
  /** Cancels its pending retry waits once it is no longer in use. */
  readonly abort: AbortController;
  /** Drops the connection when our ping gets no pong in time. */
  pongTimer?: ReturnType<typeof setTimeout>;
}

type Timer = ReturnType<typeof setTimeout>;

/**
 * Where the transport stands. This is the transport's one piece of
 * connection state; only {@link createSubscriptionTransport}'s `transition`
 * changes it.
 */
type State =
  /** Subscriptions go over `socket` (connecting, or acknowledged once `socket.acked`). */
  | { kind: 'ws'; socket: Socket }
  /**
   * graphql-ws gave up on a socket before its acknowledgement (a close code
   * it does not retry); a new socket opens when `timer` fires, which is set
   * once no HTTP check is deciding on SSE instead. New WebSocket
   * subscriptions wait for it.
   */
  | { kind: 'ws-waiting'; timer?: Timer }
  /** Subscriptions go over SSE; `probe` is a WebSocket attempt to switch back, `probeTimer` the wait for the next one. */
  | { kind: 'sse'; probe: Socket | null; probeTimer?: Timer }
  /** `maxRetries` attempts in a row failed: nothing is retried until `restart()`. */
  | { kind: 'gave-up' }
  | { kind: 'disposed' };

/** Everything that moves the transport from one {@link State} to another. */
type TransportEvent =
  | { type: 'ws-connecting'; socket: Socket }
  | { type: 'ws-connected'; socket: Socket }
  | { type: 'ws-closed'; socket: Socket; code: number; reason: string }
  /** `fallbackAfterMs` passed since the first failed attempt. */
  | { type: 'fallback-due' }
  /** The HTTP reachability check started after failed WebSocket attempts answered. */
  | { type: 'http-checked'; reachable: boolean }
  | { type: 'replacement-due' }
  | { type: 'probe-due' }
  | { type: 'sse-connected' }
  /** An SSE request failed without a definite refusal from the server. */
  | { type: 'sse-lost'; wasConnected: boolean }
  | { type: 'restart' }
  | { type: 'dispose' };

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
  const { sseFallback, fallbackAfterFailures, fallbackAfterMs, wsProbeIntervalMs, maxRetries } = options;

  const live = new Set<LiveSubscription>();
  let state: State = { kind: 'gave-up' }; // replaced below, before anything can observe it
  /** Consecutive failed connection attempts (WebSocket before its acknowledgement, SSE requests). */
  let failures = 0;
  /** Runs from the first failed WebSocket attempt of a streak until `fallbackAfterMs`. */
  let fallbackTimer: Timer | undefined;
  /** An HTTP reachability check (SSE or "offline"?) is in flight. */
  let checking = false;
  /** An HTTP check of the current failure streak found the server down: its sockets failed for that, not for a WebSocket block. */
  let serverDownInStreak = false;
  /**
   * How many times an HTTP check found the server answering after one of the
   * same streak found it down. A WebSocket attempt begun before the latest of
   * these (`socket.since` below it) may still fail afterwards, late, under
   * load: it failed because the server was down, and counting it would start
   * a new streak that falls back to SSE while the WebSocket works.
   */
  let serverBacks = 0;
  let everConnected = false;
  /** WebSocket subscriptions made while no socket is current (`ws-waiting`), started on the next one. */
  const awaitingSocket = new Set<() => void>();

  const currentSocket = () => (state.kind === 'ws' ? state.socket : null);
  const isInUse = (socket: Socket) => currentSocket() === socket || (state.kind === 'sse' && state.probe === socket);

  const interrupt = (via: 'ws' | 'sse', reason: string, socket?: Socket) => {
    for (const entry of [...live]) if (entry.via === via && (!socket || entry.socket === socket)) entry.interrupt(reason);
  };

  /** Leaves the current state: stops its timers and closes the sockets the next state does not keep. */
  const leave = (keep?: Socket) => {
    if (state.kind === 'ws-waiting') clearTimeout(state.timer);
    if (state.kind === 'sse') clearTimeout(state.probeTimer);
    const sockets = state.kind === 'ws' ? [state.socket] : state.kind === 'sse' && state.probe ? [state.probe] : [];
    return Promise.all(sockets.filter((socket) => socket !== keep).map(close));
  };

  const close = async (socket: Socket) => {
    socket.abort.abort();
    clearTimeout(socket.pongTimer);
    // `dispose` waits for a connection attempt in flight; only an open socket is worth waiting for.
    const closing = Promise.resolve(socket.client.dispose()).catch(noop);
    if (socket.acked) await closing;
  };

  /** A probe that got through becomes the current socket; subscriptions waiting for a socket start on it. */
  const enterWs = (socket: Socket) => {
    void leave(socket);
    state = { kind: 'ws', socket };
    for (const start of [...awaitingSocket]) start();
  };

  /** A connection worked (or the transport starts over): the failure streak ends. */
  const resetFailures = () => {
    failures = 0;
    serverDownInStreak = false;
    clearTimeout(fallbackTimer);
    fallbackTimer = undefined;
  };

  const enterSse = () => {
    void leave();
    resetFailures();
    state = { kind: 'sse', probe: null };
    status.set('fallback-sse');
    interrupt('ws', 'WebSocket unavailable, switching to SSE');
    scheduleProbe();
  };

  const giveUp = () => {
    void leave();
    clearTimeout(fallbackTimer);
    state = { kind: 'gave-up' };
    status.set('failed');
    const error = new ConnectionGaveUpError(failures);
    for (const start of [...awaitingSocket]) start();
    for (const entry of [...live]) entry.fail(error);
  };

  /** In `ws-waiting`: opens the next socket after the backoff of the failures so far. */
  const scheduleReplacement = () => {
    if (state.kind !== 'ws-waiting') return;
    clearTimeout(state.timer);
    state.timer = setTimeout(() => transition({ type: 'replacement-due' }), backoffDelay(failures - 1, backoff));
  };

  const scheduleProbe = () => {
    if (state.kind !== 'sse' || !webSocketImpl) return;
    clearTimeout(state.probeTimer);
    state.probeTimer = setTimeout(() => transition({ type: 'probe-due' }), wsProbeIntervalMs);
  };

  /** Counts a failed attempt; returns false when that exhausted `maxRetries` (the client gave up). */
  const attemptFailed = (): boolean => {
    failures += 1;
    if (failures > maxRetries) {
      giveUp();
      return false;
    }
    if ((state.kind === 'ws' || state.kind === 'ws-waiting') && failures === 1 && sseFallback) {
      fallbackTimer = setTimeout(() => transition({ type: 'fallback-due' }), fallbackAfterMs);
    }
    if (failures >= fallbackAfterFailures) checkHttp();
    return true;
  };

  /**
   * WebSocket attempts keep failing before their acknowledgement. If plain
   * HTTP gets through, something between us and the server blocks
   * WebSockets: use SSE. If not, the server (or the network) is down: say so
   * and keep retrying.
   */
  const checkHttp = () => {
    if ((state.kind !== 'ws' && state.kind !== 'ws-waiting') || checking) return;
    checking = true;
    void httpReachable().then((reachable) => {
      checking = false;
      transition({ type: 'http-checked', reachable });
    });
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

  /** The one place the transport changes state. */
  function transition(event: TransportEvent): void {
    if (state.kind === 'disposed') return;
    switch (event.type) {
      case 'ws-connecting': {
        event.socket.opened = false;
        event.socket.since = serverBacks;
        if (currentSocket() === event.socket && status.get() !== 'offline') status.set(everConnected ? 'reconnecting' : 'connecting');
        return;
      }
      case 'ws-connected': {
        const { socket } = event;
        if (!isInUse(socket)) return;
        socket.acked = true;
        resetFailures();
        if (state.kind === 'sse') {
          // The probe got through: the WebSocket works again, move every subscription back to it.
          enterWs(socket);
          interrupt('sse', 'switching back to WebSocket');
        }
        everConnected = true;
        status.set('connected');
        return;
      }
      case 'ws-closed': {
        const { socket, code, reason } = event;
        clearTimeout(socket.pongTimer);
        const wasAcked = socket.acked;
        socket.acked = false;
        if (state.kind === 'sse' && state.probe === socket) {
          void close(socket);
          state.probe = null;
          scheduleProbe();
          return;
        }
        if (currentSocket() !== socket) return;
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
        // Begun before the server was last seen back: it failed for the outage, not for a WebSocket block.
        const stale = socket.since < serverBacks;
        if (graphqlWsGivesUp(code)) {
          // Before the acknowledgement this is a failed attempt like any other, but
          // graphql-ws will not retry it: wait for a replacement socket, opened after a backoff.
          void close(socket);
          state = { kind: 'ws-waiting' };
          interrupt('ws', `WebSocket closed (${code}) before it was acknowledged`, socket);
          if (!stale && !attemptFailed()) return;
          // While an HTTP check decides between SSE and another attempt, no socket is opened.
          if (!checking) scheduleReplacement();
          return;
        }
        if (code === CloseCode.Forbidden) {
          // Invalid credentials: graphql-ws retries (with the token read again), SSE would be refused too.
          const error = new WebSocketAuthError(code, reason);
          for (const entry of [...live]) if (entry.via === 'ws' && entry.socket === socket) entry.fail(error);
          return;
        }
        if (socket.opened && isApplicationCloseCode(code)) return; // the server spoke: not a blocked upgrade
        if (!stale) attemptFailed(); // graphql-ws retries either way
        return;
      }
      case 'fallback-due': {
        fallbackTimer = undefined;
        if (state.kind === 'ws-waiting' || (state.kind === 'ws' && !state.socket.acked)) checkHttp();
        return;
      }
      case 'http-checked': {
        if (state.kind !== 'ws' && state.kind !== 'ws-waiting') return;
        if (state.kind === 'ws' && state.socket.acked) return; // connected meanwhile
        if (event.reachable && serverDownInStreak) {
          // The server is back after being down (a restart): its WebSocket
          // failures said nothing about WebSockets being blocked, and neither
          // will those of attempts already under way (see `serverBacks`), so
          // the streak starts over with the next attempt, made at once when no
          // socket is current.
          serverBacks += 1;
          resetFailures();
          // No longer "cannot be reached": the WebSocket is on its way back.
          status.set(everConnected ? 'reconnecting' : 'connecting');
          if (state.kind === 'ws-waiting') {
            clearTimeout(state.timer);
            openSocket('current');
          }
          return;
        }
        if (event.reachable && sseFallback) {
          enterSse();
          return;
        }
        if (!event.reachable) {
          serverDownInStreak = true;
          status.set('offline');
        }
        if (state.kind === 'ws-waiting' && !state.timer) scheduleReplacement();
        return;
      }
      case 'replacement-due': {
        if (state.kind === 'ws-waiting') openSocket('current');
        return;
      }
      case 'probe-due': {
        if (state.kind === 'sse' && !state.probe) openSocket('probe');
        return;
      }
      case 'sse-connected': {
        resetFailures();
        if (state.kind === 'sse') status.set('fallback-sse');
        return;
      }
      case 'sse-lost': {
        if (!attemptFailed()) return;
        if (!event.wasConnected && state.kind === 'sse') status.set('offline');
        return;
      }
      case 'restart': {
        resetFailures();
        if (state.kind === 'sse') {
          interrupt('sse', 'reconnecting with new credentials');
          return;
        }
        if (!webSocketImpl) {
          void leave();
          state = { kind: 'sse', probe: null };
          status.set('fallback-sse');
          return;
        }
        status.set(everConnected ? 'reconnecting' : 'connecting');
        openSocket('current');
        interrupt('ws', 'reconnecting with new credentials');
        return;
      }
      case 'dispose': {
        void leave();
        clearTimeout(fallbackTimer);
        state = { kind: 'disposed' };
        return;
      }
    }
  }

  // --- WebSocket ----------------------------------------------------------

  const openSocket = (role: 'current' | 'probe'): Socket => {
    const socket: Socket = { client: undefined as unknown as WsClient, acked: false, opened: false, since: serverBacks, abort: new AbortController() };
    // In use before createClient: with `lazy: false` it emits `connecting` synchronously.
    if (role === 'current') {
      void leave();
      state = { kind: 'ws', socket };
    } else if (state.kind === 'sse') state.probe = socket;
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
      // A probe tries once; a replaced socket stops; the current one retries until `maxRetries`.
      shouldRetry: () => currentSocket() === socket,
      onNonLazyError: noop, // reported through `closed` and the subscriptions' sinks
      on: {
        connecting: () => transition({ type: 'ws-connecting', socket }),
        opened: () => {
          socket.opened = true;
        },
        connected: () => transition({ type: 'ws-connected', socket }),
        closed: (event) => {
          const { code = 1006, reason = '' } = (event ?? {}) as { code?: number; reason?: string };
          transition({ type: 'ws-closed', socket, code, reason });
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
    // Subscriptions waiting for a socket start once its client exists.
    if (currentSocket() === socket) for (const start of [...awaitingSocket]) start();
    return socket;
  };

  /**
   * What GraphQLWsLink talks to: graphql-ws's `subscribe`, sent on whichever
   * socket is current, tracked so that a lost connection interrupts it.
   */
  const wsFacade: Pick<WsClient, 'subscribe'> = {
    subscribe(payload, sink: Sink<any>) {
      if (state.kind === 'disposed') {
        queueMicrotask(() => sink.error(new Error('The Realmcast client is disposed.')));
        return noop;
      }
      if (state.kind === 'gave-up') {
        queueMicrotask(() => sink.error(new ConnectionGaveUpError(failures)));
        return noop;
      }
      if (state.kind === 'sse') {
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
        const socket = currentSocket();
        if (done || !socket) return;
        entry.socket = socket;
        release = socket.client.subscribe(payload, {
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
      // In `ws-waiting`, it starts on the socket that replaces the one closed before its acknowledgement.
      if (state.kind === 'ws') attach();
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
        if (state.kind === 'disposed') {
          observer.error(new Error('The Realmcast client is disposed.'));
          return;
        }
        if (state.kind === 'gave-up') {
          observer.error(new ConnectionGaveUpError(failures));
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
        let timer: Timer | undefined;
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
                transition({ type: 'sse-lost', wasConnected: connected });
                observer.error(
                  state.kind === 'gave-up' ? new ConnectionGaveUpError(failures) : new TransportInterruptedError('SSE connection lost', { cause: error }),
                );
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
                if (!done) transition({ type: 'sse-connected' });
              },
            },
          );
        };
        // After failed requests, the next one waits a backoff first.
        timer = setTimeout(start, failures > 0 ? backoffDelay(failures - 1, backoff) : 0);
        return () => {
          if (!done) finish();
        };
      }),
  );

  // --- Together ---------------------------------------------------------------

  if (webSocketImpl) openSocket('current');
  else {
    state = { kind: 'sse', probe: null };
    status.set('fallback-sse');
  }

  return {
    // While waiting for a replacement socket, subscriptions queue on the WebSocket side.
    link: ApolloLink.split(() => state.kind !== 'sse', wsLink, sseLink),
    get mode() {
      return state.kind === 'sse' ? 'sse' : 'ws';
    },
    restart: () => transition({ type: 'restart' }),
    async dispose() {
      if (state.kind === 'disposed') return;
      const closing = leave();
      clearTimeout(fallbackTimer);
      state = { kind: 'disposed' };
      for (const entry of [...live]) entry.end();
      await closing;
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

/**
 * graphql-ws may fail a sink with a close event, an error event, or the
 * server's GraphQL errors; links want Errors. GraphQL errors are handed over
 * already combined: given a bare array, GraphQLWsLink checks it against the
 * global `WebSocket`, which Node 20 lacks, and the error is lost.
 */
function asError(error: unknown): unknown {
  if (error instanceof Error) return error;
  if (Array.isArray(error)) return new CombinedGraphQLErrors({ errors: error });
  if (error && typeof error === 'object' && 'code' in error) {
    const { code, reason } = error as { code: number; reason?: string };
    return new Error(`WebSocket closed with ${code}${reason ? `: ${reason}` : ''}`);
  }
  return new Error('WebSocket error', { cause: error });
}
