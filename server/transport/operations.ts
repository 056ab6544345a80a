import type { IncomingMessage } from 'node:http';
import { getOperationAST, GraphQLError, type ExecutionArgs, type ExecutionResult } from 'graphql';
import { MessageType, stringifyMessage, type Message, type SubscribePayload } from 'graphql-ws';
import { isAsyncIterable, type YogaServerInstance } from 'graphql-yoga';
import { bearerToken, type TokenIssuer, type Viewer } from '../auth.js';
import type { Context } from '../builder.js';
import type { Delivery } from '../delivery/fanout.js';
import type { PreparedResult, Subscriber, SubscriptionHandle } from '../delivery/subscriber.js';
import { apiError, ErrorCode } from '../errors.js';
import { connectionLimitDefaults, tooManySubscriptions } from '../limits/connections.js';
import { atTime, tokenExpired } from '../limits/expiry.js';
import type { Logger } from '../logger.js';

/** What Yoga's initial context carries: the Node request over HTTP, the fields below over the WebSocket. */
export interface WebSocketInitialContext {
  /** The HTTP request (operations over HTTP). */
  req?: IncomingMessage;
  /** The connection's (or the operation's) viewer; `undefined` means "read the HTTP headers". */
  wsViewer?: Viewer | null;
  /** The client's address, taken at the upgrade (per-address limits). */
  address?: string;
  /** Set for operations over the WebSocket (metrics and token expiry tell transports apart by it). */
  transport?: 'ws';
}

/** The connection an operation runs on, as the runner needs it (`Connection` in `./protocol.ts`). */
export interface OperationConnection {
  /** Writes one frame to the client (the runtime adapter may drop a slow consumer there). */
  readonly socket: { send(frame: string): void; busy(): boolean };
  /** The client's address, taken at the upgrade (per-address limits). */
  readonly address: string;
  /** Who authenticated with `connectionParams` (null: anonymous). */
  readonly viewer: Viewer | null;
  /** Running operations by id. */
  readonly operations: Map<string, Operation>;
}

export interface OperationRunnerOptions {
  /** The Yoga instance whose envelop (parse, validate, context, plugins) every operation goes through. */
  yoga: YogaServerInstance<WebSocketInitialContext, Context>;
  /** The delivery core, which writes a feed's frames itself. */
  delivery: Pick<Delivery, 'serve'>;
  tokens: TokenIssuer;
  logger: Logger;
  /** Operations running at once on one connection (see `server/limits/connections.ts`). @default 100 */
  maxSubscriptionsPerConnection?: number;
  /** Called when an operation is refused by that limit (metrics). @default none */
  onLimit?: (limit: 'subscriptions-per-connection') => void;
}

/** What every {@link Operation} shares: the runner's error handling. */
interface OperationCore {
  logger: Logger;
  clientErrors(error: unknown): GraphQLError[];
}

/**
 * One running operation of a connection: its entry in the connection's
 * `operations` from its `subscribe` message on, and, for a feed, the
 * {@link Subscriber} the delivery core writes `next` frames to, so that an
 * idle subscription is this object, its frame prefix and the core's member.
 *
 * Whatever ends it, the client hears of it (`complete` or `error`) only
 * while it is still the connection's entry for its id: a client that
 * completed it (or reused the id) does not expect an answer.
 */
export class Operation implements Subscriber {
  /** `{"id":…,"type":"next","payload":` of a feed, built once: per event only the concatenation and the write. */
  prefix = '';
  /** What runs it once set up (the core's subscription, or an iterator's return). */
  #running: SubscriptionHandle | { cancel(): void } | undefined;
  #cancelExpiry: (() => void) | undefined;

  constructor(
    readonly connection: OperationConnection,
    readonly id: string,
    private readonly core: OperationCore,
  ) {}

  get transport(): 'ws' {
    return 'ws';
  }

  /** Whether it is still the connection's entry for its id. */
  get registered(): boolean {
    return this.connection.operations.get(this.id) === this;
  }

  next(prepared: PreparedResult): void {
    this.connection.socket.send(this.prefix + prepared.json + '}');
  }

  busy(): boolean {
    return this.connection.socket.busy();
  }

  end(error?: unknown): void {
    this.finish(error === undefined ? undefined : this.core.clientErrors(error));
  }

  /** Ends it without a message to the client (it completed it, or the socket closed). */
  stop(): void {
    this.#cancelExpiry?.();
    this.#running?.cancel();
  }

  /** Removes it and tells the client: `error` with `errors`, else `complete`. */
  finish(errors?: readonly GraphQLError[]): void {
    this.#cancelExpiry?.();
    if (!this.registered) return;
    this.connection.operations.delete(this.id);
    if (errors) this.sendErrors(errors);
    else this.send({ id: this.id, type: MessageType.Complete });
  }

  send(message: Message): void {
    this.connection.socket.send(stringifyMessage(message));
  }

  /** The delivery core serves it from here on (unless the client completed it meanwhile). */
  adopt(subscription: SubscriptionHandle, tokenExpiresAt: number | undefined): void {
    if (!this.registered) return subscription.cancel();
    this.#running = subscription;
    this.expireAt(tokenExpiresAt);
  }

  /** Sends every result of `source` as `next`, then `complete` (or `error`). */
  async stream(source: AsyncIterable<ExecutionResult>, tokenExpiresAt: number | undefined): Promise<void> {
    const iterator = source[Symbol.asyncIterator]();
    const { logger } = this.core;
    const running = { cancel: () => void iterator.return?.()?.catch((error: unknown) => logger.error({ err: error }, 'ending a subscription failed')) };
    if (!this.registered) return running.cancel();
    this.#running = running;
    this.expireAt(tokenExpiresAt);
    try {
      for (;;) {
        const next = await iterator.next();
        if (next.done || !this.registered) break;
        this.send({ id: this.id, type: MessageType.Next, payload: next.value });
      }
    } catch (error) {
      return this.finish(this.core.clientErrors(error));
    }
    this.finish();
  }

  /**
   * A subscription authenticated by its own token (GraphiQL's Headers pane)
   * ends with UNAUTHENTICATED (`reason: "expired"`) when that token expires,
   * as over SSE; the connection's own token closes the socket instead (4403).
   */
  private expireAt(tokenExpiresAt: number | undefined): void {
    if (tokenExpiresAt === undefined) return;
    this.#cancelExpiry = atTime(tokenExpiresAt, () => {
      if (!this.registered) return;
      this.connection.operations.delete(this.id);
      this.stop();
      this.sendErrors([tokenExpired()]);
    });
  }

  private sendErrors(errors: readonly GraphQLError[]): void {
    this.send({ id: this.id, type: MessageType.Error, payload: errors.map((error) => error.toJSON()) });
  }
}

/** An operation parsed, validated and with its context: how to run it. */
interface Prepared {
  args: ExecutionArgs;
  subscription: boolean;
  execute: (args: ExecutionArgs) => unknown;
  subscribe: (args: ExecutionArgs) => unknown;
  /** When the operation's own token (not the connection's) expires. */
  operationTokenExpiresAt: number | undefined;
}

/**
 * Runs the operations of `subscribe` messages, every one through Yoga's
 * envelop (parse, validate, context, plugins): queries and mutations answer
 * `next` then `complete`; a feed subscription is handed to the delivery
 * core, which writes its frames; any other subscription is iterated here.
 */
export function createOperationRunner(options: OperationRunnerOptions) {
  const { yoga, delivery, tokens, logger, maxSubscriptionsPerConnection = connectionLimitDefaults.maxSubscriptionsPerConnection, onLimit = () => {} } = options;
  // The request Yoga's plugins see for every operation over a socket. POST:
  // Yoga refuses mutations on GET requests, and over graphql-ws every
  // operation may mutate. It carries nothing per connection, so one serves all.
  const connectionRequest = new Request('http://localhost/graphql', { method: 'POST' });

  /** A thrown error as the client may see it: GraphQL errors as they are, anything else masked. */
  const clientErrors = (error: unknown): GraphQLError[] => {
    if (error instanceof GraphQLError) return [error];
    logger.error({ err: error }, 'internal error (masked)');
    return [apiError(ErrorCode.Internal, 'Unexpected error.')];
  };
  const core: OperationCore = { logger, clientErrors };

  /**
   * Parses, validates and builds the context of an operation through Yoga's
   * envelop: its errors (to send), or how to run it.
   */
  async function prepare(connection: OperationConnection, payload: SubscribePayload): Promise<readonly GraphQLError[] | Prepared> {
    let wsViewer = connection.viewer;
    // GraphiQL sends its Headers pane with every operation (`extensions.headers`),
    // not as connectionParams: a token there authenticates that operation.
    const operationToken = bearerToken(headerOf(payload.extensions?.headers, 'authorization'));
    if (operationToken) {
      try {
        wsViewer = await tokens.verify(operationToken);
      } catch (error) {
        return [error as GraphQLError];
      }
    }
    const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
      address: connection.address,
      params: payload,
      request: connectionRequest,
      wsViewer,
      transport: 'ws',
    });
    // A bad operation fails alone with an error message; thrown, it would
    // close the whole socket and every other subscription on it.
    let args: ExecutionArgs;
    try {
      args = {
        schema,
        operationName: payload.operationName,
        document: parse(payload.query),
        variableValues: payload.variables,
        contextValue: await contextFactory(),
      };
    } catch (error) {
      return clientErrors(error);
    }
    const errors = validate(args.schema, args.document);
    if (errors.length) return errors;
    const operation = getOperationAST(args.document, args.operationName);
    if (!operation) return [new GraphQLError('Unable to identify operation')];
    return {
      args,
      subscription: operation.operation === 'subscription',
      execute,
      subscribe,
      operationTokenExpiresAt: operationToken ? wsViewer?.expiresAt : undefined,
    };
  }

  /**
   * Runs one operation. Its entry is registered at once (the client may
   * complete it while it sets up, or the socket close): it still runs (and
   * counts against the operation rate, so subscribe/complete churn is
   * bounded), then stops.
   */
  async function run(connection: OperationConnection, id: string, payload: SubscribePayload): Promise<void> {
    const operation = new Operation(connection, id, core);
    connection.operations.set(id, operation);
    // `operations` already holds this one.
    if (connection.operations.size > maxSubscriptionsPerConnection) {
      onLimit('subscriptions-per-connection');
      return operation.finish([tooManySubscriptions(maxSubscriptionsPerConnection)]);
    }
    let result: unknown;
    let tokenExpiresAt: number | undefined;
    try {
      const prepared = await prepare(connection, payload);
      if (!('args' in prepared)) return operation.finish(prepared);
      tokenExpiresAt = prepared.operationTokenExpiresAt;
      if (prepared.subscription) {
        operation.prefix = `{"id":${JSON.stringify(id)},"type":"next","payload":`;
        const served = await delivery.serve(operation, prepared.args, prepared.subscribe);
        if ('subscription' in served) return operation.adopt(served.subscription, tokenExpiresAt);
        operation.prefix = '';
        result = served.result;
      } else {
        result = await prepared.execute(prepared.args);
      }
    } catch (error) {
      return operation.finish(clientErrors(error));
    }
    if (isAsyncIterable(result)) return operation.stream(result as AsyncIterable<ExecutionResult>, tokenExpiresAt);
    if (!operation.registered) return;
    operation.send({ id, type: MessageType.Next, payload: result as ExecutionResult });
    operation.finish();
  }

  return { run };
}

/** The operation runner of one WebSocket transport. */
export type OperationRunner = ReturnType<typeof createOperationRunner>;

/** A header's value from a plain headers object, whatever the case of its name. */
function headerOf(headers: unknown, name: string): unknown {
  if (!headers || typeof headers !== 'object') return undefined;
  return Object.entries(headers).find(([key]) => key.toLowerCase() === name)?.[1];
}
