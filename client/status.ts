/**
 * The connection status of a Realmcast client, observable in the shape React's
 * `useSyncExternalStore(status.subscribe, status.get)` expects.
 */

/**
 * Where the client's live connection stands.
 *
 * - `connecting`: the first WebSocket connection is being established.
 * - `connected`: subscriptions run over an acknowledged WebSocket.
 * - `reconnecting`: the WebSocket was lost (or credentials changed); retrying
 *   with backoff. Subscriptions resume where they left off once it is back.
 * - `fallback-sse`: WebSockets cannot be established (e.g. a proxy refuses the
 *   upgrade) but HTTP works: subscriptions run over Server-Sent Events and the
 *   WebSocket is probed now and then to switch back.
 * - `offline`: the server cannot be reached at all; the client keeps retrying.
 *   Back to `reconnecting` once HTTP answers again. Also the final status
 *   after `dispose()`.
 * - `failed`: `maxRetries` attempts in a row failed and the client stopped
 *   trying; subscriptions ended with `ConnectionGaveUpError`. `reconnect()`
 *   (or reloading the page) starts over.
 */
export type ConnectionStatus = 'connecting' | 'connected' | 'reconnecting' | 'fallback-sse' | 'offline' | 'failed';

/** Read and watch the connection status. */
export interface ConnectionStatusObservable {
  /** The current status. */
  get(): ConnectionStatus;
  /** Calls `listener` on every change (not with the current value); returns the unsubscribe function. */
  subscribe(listener: (status: ConnectionStatus) => void): () => void;
  /**
   * Resolves with the status as soon as it is one of `wanted` (at once when it
   * already is). Handy in bots ("wait until connected") and tests.
   */
  when(...wanted: ConnectionStatus[]): Promise<ConnectionStatus>;
}

/** The writable side, kept by the client internals. */
export interface ConnectionStatusStore extends ConnectionStatusObservable {
  set(status: ConnectionStatus): void;
}

export function createStatusStore(initial: ConnectionStatus): ConnectionStatusStore {
  let current = initial;
  const listeners = new Set<(status: ConnectionStatus) => void>();
  const store: ConnectionStatusStore = {
    get: () => current,
    subscribe(listener) {
      // Wrapped so the same function may be subscribed twice and unsubscribed independently.
      const entry = (status: ConnectionStatus) => listener(status);
      listeners.add(entry);
      return () => listeners.delete(entry);
    },
    when(...wanted) {
      if (wanted.includes(current)) return Promise.resolve(current);
      return new Promise((resolve) => {
        const off = store.subscribe((status) => {
          if (!wanted.includes(status)) return;
          off();
          resolve(status);
        });
      });
    },
    set(status) {
      if (status === current) return;
      current = status;
      for (const listener of [...listeners]) listener(status);
    },
  };
  return store;
}
