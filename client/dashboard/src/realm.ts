/**
 * The dashboard's one Realmcast client and the signed-in session around it.
 *
 * The token lives in localStorage so a reload (or a second tab) keeps the
 * player signed in; `getToken` reads it on every request and reconnect.
 */
import { useSyncExternalStore } from 'react';
import { createRealmcastClient, type ConnectionStatus } from '../../index.js';

const tokenKey = 'realmcast-token';
const gameKey = 'realmcast-game';

/** Reads localStorage, tolerating browsers that refuse it (private modes, sandboxed frames). */
function stored(key: string): string | null {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

function store(key: string, value: string | null): void {
  try {
    if (value === null) localStorage.removeItem(key);
    else localStorage.setItem(key, value);
  } catch {
    // Not persisted; the session still works until the page is closed.
  }
}

/**
 * `?maxRetries=N` in the page's address: give up after N failed connection
 * attempts in a row and offer a reload, for a page that should not keep
 * knocking on a server that is gone. Without it the page retries forever, so
 * a screen left open comes back by itself after an outage of any length.
 */
function maxRetriesFromAddress(): number {
  const value = new URLSearchParams(location.search).get('maxRetries');
  return value !== null && /^\d+$/.test(value) ? Number(value) : Infinity;
}

/** The page's client: HTTP and the WebSocket (or SSE) on the same origin's `/graphql`. */
export const realm = createRealmcastClient({
  url: '/graphql',
  getToken: () => stored(tokenKey),
  // A dashboard wants to be back soon after a server restart, not 15 s later.
  maxRetryDelayMs: 5_000,
  maxRetries: maxRetriesFromAddress(),
});

/** Whether a token is stored (the `Me` query says who it belongs to). */
export const hasToken = () => stored(tokenKey) !== null;

/**
 * Reconnects as `token` and refetches the active queries. Their failures are
 * not this call's: each panel shows its own query's error, and a refetch that
 * is aborted because its panel went away (the game room on sign-out) is no
 * error at all.
 */
async function switchUser(token: string | null): Promise<void> {
  await realm.switchUser(token).catch(() => {});
}

/** Stores the token of a fresh sign-in and reloads everything as that player. */
export async function signInWith(token: string): Promise<void> {
  store(tokenKey, token);
  store(gameKey, null);
  await switchUser(token);
}

/** Forgets the token and the open game; the dashboard continues anonymously. */
export async function signOut(): Promise<void> {
  store(tokenKey, null);
  store(gameKey, null);
  await switchUser(null);
}

/** The join code of the game room the player has open, kept across reloads. */
export const openGame = {
  get: () => stored(gameKey),
  set: (code: string | null) => store(gameKey, code),
};

/** The connection status, re-rendering on every change. */
export function useConnectionStatus(): ConnectionStatus {
  return useSyncExternalStore(realm.status.subscribe, realm.status.get);
}
