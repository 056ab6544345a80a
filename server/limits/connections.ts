import type { GraphQLError } from 'graphql';
import { apiError, ErrorCode } from '../errors.js';

/**
 * How many connections an instance takes, from everyone and from one client
 * address, and how many operations one connection may run at once. Every
 * transport that keeps a connection open checks these names (the WebSocket
 * adapter at the upgrade, the protocol core at each `subscribe`); the
 * environment variables are `MAX_CONNECTIONS`, `MAX_CONNECTIONS_PER_ADDRESS`
 * and `MAX_SUBSCRIPTIONS_PER_CONNECTION` (`server/config.ts`).
 */
export interface ConnectionLimits {
  /** Open connections of this instance; one more is refused with 503. @default 10_000 */
  maxConnections?: number;
  /** Open connections per client address on this instance; one more is refused with 429. @default 50 */
  maxConnectionsPerAddress?: number;
  /** Operations running at once on one connection; the next gets `TOO_MANY_SUBSCRIPTIONS`. @default 100 */
  maxSubscriptionsPerConnection?: number;
}

/** The defaults of {@link ConnectionLimits}, the one place they are written (the transports destructure with them). */
export const connectionLimitDefaults = {
  maxConnections: 10_000,
  maxConnectionsPerAddress: 50,
  maxSubscriptionsPerConnection: 100,
} as const satisfies Required<ConnectionLimits>;

/** How long a refused client is told to wait (`Retry-After`, seconds). */
export const retryAfterSeconds = 5;

/** Which limit refused a connection, and the HTTP answer the client gets for it. */
export interface ConnectionRefusal {
  limit: 'connections' | 'connections-per-address';
  status: 503 | 429;
  message: string;
}

/** Counts open connections against {@link ConnectionLimits.maxConnections} and {@link ConnectionLimits.maxConnectionsPerAddress}. */
export interface ConnectionAdmission {
  /**
   * Admits one connection from `address`: the function to call once, when
   * that connection has closed (however it ended), or the refusal.
   */
  admit(address: string): { release: () => void } | { refused: ConnectionRefusal };
  /** Connections open right now (tests). */
  readonly open: number;
}

/** The admission counter of one instance (one per transport that shares the limits). */
export function createConnectionAdmission(limits: Pick<ConnectionLimits, 'maxConnections' | 'maxConnectionsPerAddress'> = {}): ConnectionAdmission {
  const { maxConnections = connectionLimitDefaults.maxConnections, maxConnectionsPerAddress = connectionLimitDefaults.maxConnectionsPerAddress } = limits;
  let open = 0;
  const perAddress = new Map<string, number>();
  const release = (address: string) => {
    open--;
    const left = (perAddress.get(address) ?? 1) - 1;
    if (left > 0) perAddress.set(address, left);
    else perAddress.delete(address);
  };
  return {
    admit(address) {
      if (open >= maxConnections) return { refused: { limit: 'connections', status: 503, message: 'Too many connections' } };
      const fromAddress = perAddress.get(address) ?? 0;
      if (fromAddress >= maxConnectionsPerAddress) {
        return { refused: { limit: 'connections-per-address', status: 429, message: 'Too many connections from this address' } };
      }
      open++;
      perAddress.set(address, fromAddress + 1);
      let released = false;
      return {
        release: () => {
          if (released) return;
          released = true;
          release(address);
        },
      };
    },
    get open() {
      return open;
    },
  };
}

/**
 * The error of an operation past {@link ConnectionLimits.maxSubscriptionsPerConnection}
 * (`extensions.limit` says how many may run); the connection and its other
 * operations go on.
 */
export function tooManySubscriptions(maxSubscriptionsPerConnection: number): GraphQLError {
  return apiError(ErrorCode.TooManySubscriptions, `At most ${maxSubscriptionsPerConnection} operations may run at once on one connection.`, {
    limit: maxSubscriptionsPerConnection,
  });
}
