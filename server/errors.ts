import { createGraphQLError } from 'graphql-yoga';

/**
 * The stable `extensions.code` values of the Realmcast API (SPEC "Errors").
 * Clients switch on these; never rename one.
 */
export const ErrorCode = {
  /** No token, or a token that is invalid or expired. */
  Unauthenticated: 'UNAUTHENTICATED',
  /** Authenticated, but the role or scope does not allow this. */
  Forbidden: 'FORBIDDEN',
  /** No such game code, stock symbol, faction… */
  NotFound: 'NOT_FOUND',
  /** The caller is not a player of the game. */
  NotInGame: 'NOT_IN_GAME',
  /** The game already has `maxPlayers` players. */
  GameFull: 'GAME_FULL',
  /** Validation failed; `extensions.field` names the offending argument. */
  BadUserInput: 'BAD_USER_INPUT',
  /** The request conflicts with the current state (a second choice in a turn…). */
  Conflict: 'CONFLICT',
  /** Too many requests of this kind; `extensions.retryAfterMs` says when to retry (HTTP 429 with `Retry-After` when refused before running). */
  RateLimited: 'RATE_LIMITED',
  /** The operation is over a query limit (depth, aliases, cost or tokens; `extensions.limit` says which). HTTP 400. */
  QueryTooComplex: 'QUERY_TOO_COMPLEX',
  /** A WebSocket already runs `MAX_SUBSCRIPTIONS_PER_CONNECTION` operations; this one is refused, the others go on. */
  TooManySubscriptions: 'TOO_MANY_SUBSCRIPTIONS',
  /** The request body is over `HTTP_BODY_LIMIT` (HTTP 413) or has no `Content-Length` (HTTP 411). */
  PayloadTooLarge: 'PAYLOAD_TOO_LARGE',
  /** Masked internal failure; details are only in the server log. */
  Internal: 'INTERNAL_SERVER_ERROR',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * Builds the one kind of error resolvers throw: a GraphQL error with a stable
 * code that Yoga passes through unmasked. Anything else a resolver throws is
 * masked as "Unexpected error." by Yoga. `httpStatus` is only for errors
 * raised before execution (a bad token): a field error must not turn a
 * partial result into an HTTP error.
 */
export function apiError(code: ErrorCode, message: string, extensions: Record<string, unknown> = {}, httpStatus?: number) {
  return createGraphQLError(message, {
    extensions: { code, ...extensions, ...(httpStatus ? { http: { status: httpStatus } } : {}) },
  });
}

/** A validation error naming the offending field (`extensions.field`). */
export function badInput(field: string, message: string) {
  return apiError(ErrorCode.BadUserInput, message, { field });
}

/** How many characters of a client's input an error message may quote. */
export const excerptLength = 32;

/**
 * A client's input as an error message may quote it: JSON-quoted (so control
 * characters show as escapes, never raw), at most {@link excerptLength}
 * characters, with "…" when cut.
 */
export function excerpt(input: string): string {
  const chars = [...input];
  return JSON.stringify(chars.slice(0, excerptLength).join('')) + (chars.length > excerptLength ? '…' : '');
}
