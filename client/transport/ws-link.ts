/**
 * The WebSocket link: graphql-ws clients, one per {@link SocketId} the
 * machine opens, whose connection life is reported back as events; and the
 * Apollo link that sends each subscription on whichever socket is current.
 */
import { CombinedGraphQLErrors } from '@apollo/client/errors';
import type { ApolloLink } from '@apollo/client/link';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { createClient, type Client, type Sink } from 'graphql-ws';
import { backoffDelay, delay, type BackoffOptions } from '../backoff.js';
import { ConnectionGaveUpError, TransportInterruptedError } from './errors.js';
import { LiveSubscription, type LiveSubscriptions } from './live.js';
import { currentSocket, type SocketId, type TransportEvent, type TransportState } from './state.js';

export interface WebSocketLinkOptions {
  /** WS(S) URL of the GraphQL endpoint. */
  url: string;
  /** WebSocket constructor. */
  webSocketImpl: unknown;
  /** Read for every connection attempt. */
  getToken: () => Promise<string | null>;
  /** Waits between graphql-ws's retries of the current socket. */
  backoff: BackoffOptions;
  /** Ping interval; also how long a ping may go unanswered. */
  keepAliveMs: number;
  live: LiveSubscriptions;
  /** The machine's state now. */
  state(): TransportState;
  /** Feeds an event into the machine. */
  dispatch(event: TransportEvent): void;
}

export interface WebSocketLink {
  /** Terminating link for subscriptions going over the WebSocket. */
  readonly link: ApolloLink;
  /** Creates the graphql-ws client `id`; it connects at once. */
  open(id: SocketId): void;
  /** Disposes of the client `id`; resolves once it closed when `wait`, else at once. */
  close(id: SocketId, wait: boolean): Promise<void>;
  /** Starts the subscriptions waiting for a socket on the current one (or drops them from the queue when there is none). */
  attachWaiting(): void;
}

/** One graphql-ws client. */
interface Socket {
  client: Client;
  /** Cancels its pending retry waits once it is no longer in use. */
  readonly abort: AbortController;
  /** Drops the connection when our ping gets no pong in time. */
  pongTimer?: ReturnType<typeof setTimeout>;
}

const noop = () => {};

/** Creates the WebSocket link; it opens no socket until the machine says `open-socket`. */
export function createWebSocketLink(options: WebSocketLinkOptions): WebSocketLink {
  const { url, webSocketImpl, getToken, backoff, keepAliveMs, live, state, dispatch } = options;
  const sockets = new Map<SocketId, Socket>();
  /** WebSocket subscriptions made while no socket is current (`ws-waiting`), started on the next one. */
  const awaitingSocket = new Set<() => void>();

  const open = (id: SocketId) => {
    const socket: Socket = { client: undefined as unknown as Client, abort: new AbortController() };
    sockets.set(id, socket);
    socket.client = createClient({
      url,
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
      shouldRetry: () => currentSocket(state()) === id,
      onNonLazyError: noop, // reported through `closed` and the subscriptions' sinks
      on: {
        connecting: () => dispatch({ type: 'ws-connecting', socket: id }),
        opened: () => dispatch({ type: 'ws-opened', socket: id }),
        connected: () => dispatch({ type: 'ws-connected', socket: id }),
        closed: (event) => {
          clearTimeout(socket.pongTimer);
          const { code = 1006, reason = '' } = (event ?? {}) as { code?: number; reason?: string };
          dispatch({ type: 'ws-closed', socket: id, code, reason });
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
  };

  const close = async (id: SocketId, wait: boolean) => {
    const socket = sockets.get(id);
    if (!socket) return;
    sockets.delete(id);
    socket.abort.abort();
    clearTimeout(socket.pongTimer);
    // `dispose` waits for a connection attempt in flight; only an open socket is worth waiting for.
    const closing = Promise.resolve(socket.client.dispose()).catch(noop);
    if (wait) await closing;
  };

  /**
   * What GraphQLWsLink talks to: graphql-ws's `subscribe`, sent on whichever
   * socket is current, tracked so that a lost connection interrupts it.
   */
  const facade: Pick<Client, 'subscribe'> = {
    subscribe(payload, sink: Sink<any>) {
      const { phase, failures } = state();
      const refusal =
        phase.kind === 'disposed'
          ? new Error('The Realmcast client is disposed.')
          : phase.kind === 'gave-up'
            ? new ConnectionGaveUpError(failures)
            : // Only reachable in the instant of a switch: let the resume link route it again.
              phase.kind === 'sse'
              ? new TransportInterruptedError('no WebSocket right now')
              : undefined;
      if (refusal) {
        queueMicrotask(() => sink.error(refusal));
        return noop;
      }
      let release = noop;
      const entry = new LiveSubscription('ws', live, sink, () => {
        awaitingSocket.delete(attach);
        release();
      });
      function attach() {
        awaitingSocket.delete(attach);
        const id = currentSocket(state());
        const socket = id === null ? undefined : sockets.get(id);
        if (entry.done || id === null || !socket) return;
        entry.socket = id;
        release = socket.client.subscribe(payload, {
          next: (value) => {
            if (!entry.done) sink.next(value);
          },
          error: (error) => {
            if (entry.settle()) sink.error(asError(error));
          },
          complete: () => {
            if (entry.settle()) sink.complete();
          },
        });
      }
      // In `ws-waiting`, it starts on the socket that replaces the one closed before its acknowledgement.
      if (phase.kind === 'ws') attach();
      else awaitingSocket.add(attach);
      return () => entry.cancel();
    },
  };

  return {
    // GraphQLWsLink only ever calls `subscribe`.
    link: new GraphQLWsLink(facade as Client),
    open,
    close,
    attachWaiting() {
      for (const start of [...awaitingSocket]) start();
    },
  };
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
