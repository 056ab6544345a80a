/**
 * The SSE link: subscriptions over Server-Sent Events (graphql-sse, distinct
 * connections mode, against Yoga's `Accept: text/event-stream` support on the
 * same endpoint), each request's outcome reported to the machine.
 */
import { ApolloLink } from '@apollo/client/link';
import { print } from '@apollo/client/utilities';
import { createClient, NetworkError } from 'graphql-sse';
import { Observable } from 'rxjs';
import { backoffDelay, type BackoffOptions } from '../backoff.js';
import { ConnectionGaveUpError, TransportInterruptedError } from './errors.js';
import { LiveSubscription, type LiveSubscriptions } from './live.js';
import type { TransportEvent, TransportState } from './state.js';

export interface SseLinkOptions {
  /** HTTP(S) URL of the GraphQL endpoint. */
  url: string;
  fetch: typeof globalThis.fetch;
  /** Read for every request. */
  getToken: () => Promise<string | null>;
  /** After failed requests, the next one waits this backoff first. */
  backoff: BackoffOptions;
  live: LiveSubscriptions;
  /** The machine's state now. */
  state(): TransportState;
  /** Feeds an event into the machine. */
  dispatch(event: TransportEvent): void;
}

export interface SseLink {
  /** Terminating link for subscriptions going over SSE. */
  readonly link: ApolloLink;
  dispose(): void;
}

const noop = () => {};

/** Creates the SSE link: one request per subscription, started after the backoff of the failures so far. */
export function createSseLink(options: SseLinkOptions): SseLink {
  const { url, fetch, getToken, backoff, live, state, dispatch } = options;
  const sse = createClient({
    url,
    fetchFn: fetch,
    // Never replay an operation with stale variables: an interruption goes to the resume link.
    retryAttempts: 0,
    headers: async (): Promise<Record<string, string>> => {
      const token = await getToken();
      return token ? { authorization: `Bearer ${token}` } : {};
    },
  });

  const link = new ApolloLink(
    (operation) =>
      new Observable((observer) => {
        const { phase, failures } = state();
        if (phase.kind === 'disposed') {
          observer.error(new Error('The Realmcast client is disposed.'));
          return;
        }
        if (phase.kind === 'gave-up') {
          observer.error(new ConnectionGaveUpError(failures));
          return;
        }
        const payload = {
          query: print(operation.query),
          variables: operation.variables,
          operationName: operation.operationName,
          extensions: operation.extensions,
        };
        let connected = false;
        let release = noop;
        let timer: ReturnType<typeof setTimeout> | undefined;
        const entry = new LiveSubscription('sse', live, observer, () => {
          clearTimeout(timer);
          release();
        });
        const start = () => {
          release = sse.subscribe(
            payload,
            {
              next: (result) => {
                if (!entry.done) observer.next(result as ApolloLink.Result);
              },
              error: (error) => {
                if (!entry.settle()) return;
                const refusedWith = refusalStatus(error);
                if (refusedWith) {
                  observer.error(new Error(`The server refused the SSE subscription (HTTP ${refusedWith}).`, { cause: error }));
                  return;
                }
                dispatch({ type: 'sse-lost', wasConnected: connected });
                const now = state();
                observer.error(
                  now.phase.kind === 'gave-up'
                    ? new ConnectionGaveUpError(now.failures)
                    : new TransportInterruptedError('SSE connection lost', { cause: error }),
                );
              },
              complete: () => {
                if (entry.settle()) observer.complete();
              },
            },
            {
              connected: () => {
                connected = true;
                if (!entry.done) dispatch({ type: 'sse-connected' });
              },
            },
          );
        };
        // After failed requests, the next one waits a backoff first.
        timer = setTimeout(start, failures > 0 ? backoffDelay(failures - 1, backoff) : 0);
        return () => entry.cancel();
      }),
  );

  return { link, dispose: () => sse.dispose() };
}

/** The HTTP status of an SSE request the server answered with a definite "no" (4xx but 408/429). */
function refusalStatus(error: unknown): number | undefined {
  if (!(error instanceof NetworkError) || !error.response) return undefined;
  const { status } = error.response;
  return status >= 400 && status < 500 && status !== 408 && status !== 429 ? status : undefined;
}
