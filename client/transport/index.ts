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
 *
 * The pieces: `state.ts` decides (a pure state machine), `ws-link.ts`,
 * `sse-link.ts` and `http-probe.ts` do the I/O and report what happened as
 * events; {@link createSubscriptionTransport} wires them and carries out the
 * machine's effects.
 */
import { ApolloLink } from '@apollo/client/link';
import { backoffDelay, type BackoffOptions } from '../backoff.js';
import type { ConnectionStatusStore } from '../status.js';
import { ConnectionGaveUpError, WebSocketAuthError } from './errors.js';
import { httpReachable } from './http-probe.js';
import { LiveSubscriptions } from './live.js';
import { createSseLink } from './sse-link.js';
import {
  initialState,
  modeOf,
  transition,
  type Step,
  type SubscriptionFailure,
  type TimerName,
  type TransportEffect,
  type TransportEvent,
  type TransportState,
} from './state.js';
import { createWebSocketLink } from './ws-link.js';

export { ConnectionGaveUpError, isTransportInterruption, TransportInterruptedError, WebSocketAuthError } from './errors.js';

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

/**
 * Creates the subscription transport: the state machine starts at once (a first
 * WebSocket, or SSE without a WebSocket constructor), and every event the links
 * report is fed through {@link transition}, whose effects are carried out here
 * in order.
 */
export function createSubscriptionTransport(options: SubscriptionTransportOptions): SubscriptionTransport {
  const { httpUrl, wsUrl, webSocketImpl, fetch, getToken, backoff, keepAliveMs, status } = options;
  const { sseFallback, fallbackAfterFailures, fallbackAfterMs, wsProbeIntervalMs, maxRetries } = options;

  const live = new LiveSubscriptions();
  const timers = new Map<TimerName, ReturnType<typeof setTimeout>>();
  let state!: TransportState;

  /** Moves to the step's state, then carries out its effects; resolves once the sockets it closes are closed. */
  const apply = (step: Step): Promise<void> => {
    state = step.state;
    const closing: Promise<void>[] = [];
    for (const effect of step.effects) {
      const closed = perform(effect);
      if (closed) closing.push(closed);
    }
    return Promise.all(closing).then(() => {});
  };
  const dispatch = (event: TransportEvent): void => {
    void apply(transition(state, event));
  };

  const links = { live, state: () => state, dispatch, getToken, backoff };
  const ws = createWebSocketLink({ ...links, url: wsUrl, webSocketImpl, keepAliveMs });
  const sse = createSseLink({ ...links, url: httpUrl, fetch });

  function perform(effect: TransportEffect): Promise<void> | undefined {
    switch (effect.type) {
      case 'set-status':
        status.set(effect.status);
        return;
      case 'open-socket':
        ws.open(effect.socket);
        return;
      case 'close-socket':
        return ws.close(effect.socket, effect.wait);
      case 'attach-waiting':
        ws.attachWaiting();
        return;
      case 'interrupt':
        live.interrupt(effect.via, effect.reason, effect.socket);
        return;
      case 'fail':
        live.fail(failureError(effect.failure), effect.socket);
        return;
      case 'end-all':
        live.endAll();
        return;
      case 'start-timer': {
        const { timer, delay } = effect;
        const ms = 'ms' in delay ? delay.ms : backoffDelay(delay.backoffAttempt, backoff);
        clearTimeout(timers.get(timer));
        timers.set(
          timer,
          setTimeout(() => {
            timers.delete(timer);
            dispatch({ type: `${timer}-due` });
          }, ms),
        );
        return;
      }
      case 'cancel-timer':
        clearTimeout(timers.get(effect.timer));
        timers.delete(effect.timer);
        return;
      case 'check-http':
        void httpReachable(fetch, httpUrl).then((reachable) => dispatch({ type: 'http-checked', reachable }));
        return;
    }
  }

  const config = { webSocket: Boolean(webSocketImpl), sseFallback, fallbackAfterFailures, fallbackAfterMs, wsProbeIntervalMs, maxRetries };
  void apply(initialState(config, status.get()));

  return {
    // While waiting for a replacement socket, subscriptions queue on the WebSocket side.
    link: ApolloLink.split(() => modeOf(state) === 'ws', ws.link, sse.link),
    get mode() {
      return modeOf(state);
    },
    restart: () => dispatch({ type: 'restart' }),
    async dispose() {
      if (state.phase.kind === 'disposed') return;
      await apply(transition(state, { type: 'dispose' }));
      sse.dispose();
      status.set('offline');
    },
  };
}

function failureError(failure: SubscriptionFailure): Error {
  return failure.kind === 'auth' ? new WebSocketAuthError(failure.code, failure.reason) : new ConnectionGaveUpError(failure.attempts);
}
