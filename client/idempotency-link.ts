import { CombinedGraphQLErrors, ServerError } from '@apollo/client/errors';
import { ApolloLink } from '@apollo/client/link';
import { RetryLink } from '@apollo/client/link/retry';
import { Kind, type DocumentNode } from 'graphql';

/** The variable through which a mutation takes its idempotency key (`placeOrder(idempotencyKey:)`). */
export const idempotencyKeyVariable = 'idempotencyKey';

/** Whether an operation declares `$idempotencyKey`, i.e. the server makes its retries safe. */
const takesKey = (query: DocumentNode) =>
  query.definitions.some(
    (definition) =>
      definition.kind === Kind.OPERATION_DEFINITION &&
      definition.variableDefinitions?.some((variable) => variable.variable.name.value === idempotencyKeyVariable),
  );

export interface IdempotencyLinkOptions {
  /** Attempts in all (the first included) of an operation that takes a key, when the network fails. @default 3 */
  attempts?: number;
  /** First delay between attempts; doubles each time, with jitter. @default 300 // ms */
  delayMs?: number;
  /** Makes a fresh key. @default crypto.randomUUID */
  newKey?: () => string;
}

/**
 * Safe retries for mutations that take an idempotency key (`PlaceOrder`):
 * each such operation gets a fresh key unless the caller gave one, and is
 * retried with that same key when the network fails (connection refused or
 * cut, 5xx): if the first attempt did commit before its answer was lost, the
 * server answers the retry with the first trade instead of trading again.
 * GraphQL errors and 4xx answers are final and never retried; operations
 * without the variable pass through untouched.
 */
export function createIdempotencyLink(options: IdempotencyLinkOptions = {}): ApolloLink {
  const { attempts = 3, delayMs = 300, newKey = () => globalThis.crypto.randomUUID() } = options;
  const assignKey = new ApolloLink((operation, forward) => {
    if (takesKey(operation.query) && operation.variables[idempotencyKeyVariable] == null) {
      operation.variables = { ...operation.variables, [idempotencyKeyVariable]: newKey() };
    }
    return forward(operation);
  });
  const retry = new RetryLink({
    delay: { initial: delayMs, max: delayMs * 8, jitter: true },
    attempts: {
      max: attempts,
      retryIf: (error, operation) =>
        takesKey(operation.query) && !CombinedGraphQLErrors.is(error) && !(ServerError.is(error) && error.statusCode < 500),
    },
  });
  // The key is assigned once, above the retry, so every attempt carries the same one.
  return ApolloLink.from([assignKey, retry]);
}
