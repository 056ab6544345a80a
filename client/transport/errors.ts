/**
 * The errors a Realmcast subscription can end with when its connection, not
 * the server, is the reason.
 */

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
