import type { IncomingMessage, Server } from 'node:http';
import { getOperationAST, GraphQLError, type ExecutionArgs, type ExecutionResult } from 'graphql';
import {
  CloseCode,
  GRAPHQL_TRANSPORT_WS_PROTOCOL,
  handleProtocols,
  MessageType,
  parseMessage,
  stringifyMessage,
  type Message,
  type SubscribePayload,
} from 'graphql-ws';
import { isAsyncIterable, type YogaServerInstance } from 'graphql-yoga';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { bearerToken, type TokenIssuer, type Viewer } from '../auth.js';
import type { Context } from '../builder.js';
import { apiError, ErrorCode } from '../errors.js';
import { atTime, tokenExpired } from '../limits/expiry.js';
import { clientAddress } from '../limits/http.js';
import { originAllowed } from '../limits/plugins.js';
import type { Logger } from '../logger.js';
import { AdoptedSubscription, frameSinkKey, type FrameSink } from './fanout.js';

/** What Yoga's initial context carries: the Node request over HTTP, the fields below over the WebSocket. */
export interface WebSocketInitialContext {
  /** The HTTP request (operations over HTTP). */
  req?: IncomingMessage;
  /** The connection's (or the operation's) viewer; `undefined` means "read the HTTP headers". */
  wsViewer?: Viewer | null;
  /** The client's address, taken at the upgrade (per-address limits). */
  address?: string;
  /** Set for operations over the WebSocket (metrics tell transports apart by it). */
  transport?: 'ws';
  [frameSinkKey]?: FrameSink;
}

/** Close code for a consumer whose unsent data passed `maxBufferedBytes`: 1013 "try again later"; clients reconnect and resume. */
export const slowConsumerCloseCode = 1013;

/** How long a refused client is told to wait (`Retry-After`, seconds). */
const retryAfterSeconds = 5;

export interface WebSocketTransportOptions {
  /** The HTTP server to take upgrades from. */
  server: Server;
  /** Path of the GraphQL endpoint. */
  path: string;
  /** The Yoga instance whose envelop (parse, validate, context, plugins) every operation goes through. */
  yoga: YogaServerInstance<WebSocketInitialContext, Context>;
  tokens: TokenIssuer;
  logger: Logger;
  /** Interval of the server's pings; a connection that misses one is closed. */
  keepAliveMs: number;
  /** Called for every new socket (metrics count connections). @default none */
  onConnection?: (socket: WebSocket) => void;
  /** Largest message a client may send; larger ones close the socket with 1009. @default 65_536 // 64 KiB */
  maxPayload?: number;
  /** Open sockets of this instance; upgrades past it get 503. @default 10_000 */
  maxConnections?: number;
  /** Open sockets per client address on this instance; upgrades past it get 429. @default 50 */
  maxConnectionsPerAddress?: number;
  /** Operations running at once on one socket; the next gets `TOO_MANY_SUBSCRIPTIONS`. @default 100 */
  maxSubscriptionsPerConnection?: number;
  /** Unsent bytes a socket may hold back before it is closed with {@link slowConsumerCloseCode}. @default 1_048_576 // 1 MiB */
  maxBufferedBytes?: number;
  /** Browser origins allowed besides the server's own host (`*`: any); an upgrade from another gets 403. @default ['*'] */
  allowedOrigins?: readonly string[];
  /** Reverse proxies in front (see `clientAddress`). @default 0 */
  trustProxy?: number;
  /** Called when an upgrade is refused or a socket dropped by a limit (metrics). @default none */
  onLimit?: (limit: 'connections' | 'connections-per-address' | 'origin' | 'subscriptions-per-connection' | 'slow-consumer') => void;
}

/**
 * The graphql-ws protocol (`graphql-transport-ws`) over `ws`: connection_init
 * and ack (the token in `connectionParams`), ping/pong, subscribe, complete,
 * its close codes, and queries and mutations over the socket, every operation
 * through Yoga's envelop (parse, validate, context, plugins). Messages are
 * read and written with graphql-ws's own `parseMessage` and constants.
 *
 * Written here rather than with graphql-ws's `useServer` because of what a
 * connection holds while it idles, which is what a server with thousands of
 * dashboards pays for: no per-socket ping timers (one sweep pings every
 * socket), no upgrade request kept, and a subscription the fan-out adopts
 * (`server/transport/fanout.ts`) is one entry here, its `next` frames written
 * by its group straight to the socket, with nothing of the operation's setup
 * (Yoga's context, plugin wrappers, a pending `next()`) kept alive.
 */
export function createWebSocketTransport(options: WebSocketTransportOptions) {
  const {
    server,
    path,
    yoga,
    tokens,
    logger,
    keepAliveMs,
    onConnection,
    maxPayload = 65_536,
    maxConnections = 10_000,
    maxConnectionsPerAddress = 50,
    maxSubscriptionsPerConnection = 100,
    maxBufferedBytes = 1_048_576,
    allowedOrigins = ['*'],
    trustProxy = 0,
    onLimit = () => {},
  } = options;
  /** Open (or opening) sockets, in all and per address; released when the TCP connection closes. */
  let open = 0;
  const perAddress = new Map<string, number>();
  /** Addresses of upgrades accepted and not yet connected (the upgrade request is not kept). */
  const addressOf = new WeakMap<IncomingMessage, string>();

  const releaseOnClose = (request: IncomingMessage, address: string) => {
    request.socket.once('close', () => {
      open--;
      const left = (perAddress.get(address) ?? 1) - 1;
      if (left > 0) perAddress.set(address, left);
      else perAddress.delete(address);
    });
  };

  const wsServer = new WebSocketServer({
    server,
    path,
    maxPayload,
    handleProtocols,
    // Refused before the upgrade: the client gets a plain HTTP answer it can act on.
    verifyClient: (info, accept) => {
      const refuse = (status: number, message: string, limit: Parameters<typeof onLimit>[0], headers: Record<string, string> = {}) => {
        onLimit(limit);
        accept(false, status, message, headers);
      };
      if (!originAllowed(info.origin || undefined, info.req.headers.host, allowedOrigins)) return refuse(403, 'Origin not allowed', 'origin');
      const address = clientAddress(info.req, trustProxy);
      const retry = { 'Retry-After': String(retryAfterSeconds) };
      if (open >= maxConnections) return refuse(503, 'Too many connections', 'connections', retry);
      if ((perAddress.get(address) ?? 0) >= maxConnectionsPerAddress) return refuse(429, 'Too many connections from this address', 'connections-per-address', retry);
      open++;
      perAddress.set(address, (perAddress.get(address) ?? 0) + 1);
      addressOf.set(info.req, address);
      // The TCP socket closes however the upgrade or the connection ends.
      releaseOnClose(info.req, address);
      accept(true);
    },
  });
  wsServer.on('error', (error) => logger.error({ err: error }, 'WebSocket server error'));

  const connections = new Map<WebSocket, Connection>();
  // The request Yoga's plugins see for every operation over a socket. POST:
  // Yoga refuses mutations on GET requests, and over graphql-ws every
  // operation may mutate. It carries nothing per connection, so one serves all.
  const connectionRequest = new Request('http://localhost/graphql', { method: 'POST' });

  /**
   * Drops a consumer that does not read: unsent data would otherwise grow
   * without bound. The close frame queues behind the unsent data, which a
   * client that does not read never gets, so the socket is cut a second later.
   */
  const dropSlow = (socket: WebSocket) => {
    if (socket.readyState !== socket.OPEN) return;
    onLimit('slow-consumer');
    socket.close(slowConsumerCloseCode, 'Slow consumer: reconnect and resume with after:');
    setTimeout(() => socket.terminate(), 1_000).unref();
  };

  /**
   * Every frame goes out here; a socket that holds back too much is dropped.
   * What was waiting before this frame decides, so that one large result
   * (a query's, or a snapshot) does not by itself make a reading client slow.
   */
  const send = (socket: WebSocket, frame: string) => {
    if (socket.readyState !== socket.OPEN) return;
    if (socket.bufferedAmount > maxBufferedBytes) return dropSlow(socket);
    socket.send(frame);
  };
  const sendMessage = (socket: WebSocket, message: Message) => send(socket, stringifyMessage(message));
  const sendErrors = (socket: WebSocket, id: string, errors: readonly GraphQLError[]) =>
    sendMessage(socket, { id, type: MessageType.Error, payload: errors.map((error) => error.toJSON()) });

  /** A thrown error as the client may see it: GraphQL errors as they are, anything else masked. */
  const clientErrors = (error: unknown): GraphQLError[] => {
    if (error instanceof GraphQLError) return [error];
    logger.error({ err: error }, 'internal error (masked)');
    return [apiError(ErrorCode.Internal, 'Unexpected error.')];
  };

  // One sweep pings every socket; one that has not answered the previous ping is cut.
  const keepAlive = setInterval(() => {
    for (const [socket, connection] of connections) {
      if (connection.awaitingPong) {
        socket.terminate();
        continue;
      }
      connection.awaitingPong = true;
      socket.ping();
    }
  }, keepAliveMs);
  keepAlive.unref();

  // Listeners shared by every socket (`this` is the socket): nothing per socket but its Connection.
  function onPong(this: WebSocket) {
    const connection = connections.get(this);
    if (connection) connection.awaitingPong = false;
  }
  function onSocketMessage(this: WebSocket, data: RawData) {
    const connection = connections.get(this);
    if (!connection) return;
    handleMessage(connection, String(data)).catch((error: unknown) => {
      logger.error({ err: error }, 'WebSocket message failed');
      this.close(CloseCode.InternalServerError, 'Internal server error');
    });
  }
  function onSocketError(this: WebSocket, error: Error) {
    logger.warn({ err: error }, 'WebSocket socket error');
    this.close(CloseCode.InternalServerError, 'Internal server error');
  }
  function onSocketClose(this: WebSocket) {
    const connection = connections.get(this);
    if (!connection) return;
    connections.delete(this);
    clearTimeout(connection.initTimeout);
    connection.cancelExpiry?.();
    const running = [...connection.operations.values()];
    connection.operations.clear();
    for (const operation of running) operation.stop();
  }

  wsServer.on('connection', (socket, request) => {
    onConnection?.(socket);
    if (socket.protocol !== GRAPHQL_TRANSPORT_WS_PROTOCOL) return socket.close(CloseCode.SubprotocolNotAcceptable, 'Subprotocol not acceptable');
    const connection: Connection = {
      socket,
      address: addressOf.get(request) ?? 'unknown',
      viewer: null,
      initReceived: false,
      acknowledged: false,
      awaitingPong: false,
      operations: new Map(),
      write: (frame) => send(socket, frame),
      initTimeout: setTimeout(() => {
        if (!connection.initReceived) socket.close(CloseCode.ConnectionInitialisationTimeout, 'Connection initialisation timeout');
      }, connectionInitWaitMs),
    };
    connections.set(socket, connection);
    socket.on('message', onSocketMessage);
    socket.on('pong', onPong);
    socket.on('error', onSocketError);
    socket.on('close', onSocketClose);
  });

  async function handleMessage(connection: Connection, data: string): Promise<void> {
    const { socket } = connection;
    let message: Message;
    try {
      message = parseMessage(data);
    } catch {
      return socket.close(CloseCode.BadRequest, 'Invalid message received');
    }
    switch (message.type) {
      case MessageType.ConnectionInit: {
        if (connection.initReceived) return socket.close(CloseCode.TooManyInitialisationRequests, 'Too many initialisation requests');
        connection.initReceived = true;
        clearTimeout(connection.initTimeout);
        const params = message.payload ?? {};
        try {
          const token = bearerToken(params.authToken ?? params.authorization);
          connection.viewer = token ? await tokens.verify(token) : null;
        } catch {
          // An invalid token closes the socket (4403) instead of silently continuing anonymously.
          return socket.close(CloseCode.Forbidden, 'Forbidden');
        }
        // Closed while the token was checked: nothing left to set up (an expiry timer would outlive it).
        if (!connections.has(socket)) return;
        const expiresAt = connection.viewer?.expiresAt;
        if (expiresAt !== undefined) {
          // The connection does not outlive its token: the client reconnects with a fresh one and resumes.
          connection.cancelExpiry = atTime(expiresAt, () => socket.close(CloseCode.Forbidden, 'Token expired'));
        }
        connection.acknowledged = true;
        return sendMessage(socket, { type: MessageType.ConnectionAck });
      }
      case MessageType.Ping:
        return sendMessage(socket, message.payload ? { type: MessageType.Pong, payload: message.payload } : { type: MessageType.Pong });
      case MessageType.Pong:
        return;
      case MessageType.Subscribe: {
        if (!connection.acknowledged) return socket.close(CloseCode.Unauthorized, 'Unauthorized');
        if (connection.operations.has(message.id)) return socket.close(CloseCode.SubscriberAlreadyExists, `Subscriber for ${message.id} already exists`);
        return runOperation(connection, message.id, message.payload);
      }
      case MessageType.Complete: {
        const operation = connection.operations.get(message.id);
        connection.operations.delete(message.id);
        return operation?.stop();
      }
      default:
        return socket.close(CloseCode.BadRequest, `Unexpected message of type ${message.type} received`);
    }
  }

  /**
   * Runs one operation. While it sets up, `operations` holds a stop that
   * does nothing (the client may complete it meanwhile, or the socket close);
   * once it runs, a stop that ends it. Whatever ended it, the client hears of it
   * (`complete` or `error`) only if it was still registered: a client that
   * completed it does not expect an answer.
   */
  async function runOperation(connection: Connection, id: string, payload: SubscribePayload): Promise<void> {
    const { socket, operations } = connection;
    // Completed while it sets up: it still runs (and counts against the
    // operation rate, so subscribe/complete churn is bounded), then stops.
    const settingUp: Operation = { stop: () => {} };
    operations.set(id, settingUp);
    const registered = (operation: Operation) => operations.get(id) === operation;
    const finish = (operation: Operation, errors?: readonly GraphQLError[]) => {
      if (!registered(operation)) return;
      operations.delete(id);
      if (errors) sendErrors(socket, id, errors);
      else sendMessage(socket, { id, type: MessageType.Complete });
    };
    // `operations` already holds this one.
    if (operations.size > maxSubscriptionsPerConnection) {
      onLimit('subscriptions-per-connection');
      const refusal = apiError(ErrorCode.TooManySubscriptions, `At most ${maxSubscriptionsPerConnection} operations may run at once on one connection.`, {
        limit: maxSubscriptionsPerConnection,
      });
      return finish(settingUp, [refusal]);
    }
    let result: unknown;
    let tokenExpiresAt: number | undefined;
    try {
      const prepared = await prepare(connection, id, payload);
      if (!('run' in prepared)) return finish(settingUp, prepared);
      tokenExpiresAt = prepared.operationTokenExpiresAt;
      result = await prepared.run();
    } catch (error) {
      return finish(settingUp, clientErrors(error));
    }
    // A subscription authenticated by its own token (GraphiQL's Headers pane)
    // ends with UNAUTHENTICATED (`reason: "expired"`) when that token expires,
    // as over SSE; the connection's own token closes the socket instead (4403).
    const endAtExpiry = (operation: Operation) =>
      tokenExpiresAt === undefined
        ? () => {}
        : atTime(tokenExpiresAt, () => {
            if (!registered(operation)) return;
            operations.delete(id);
            operation.stop();
            sendErrors(socket, id, [tokenExpired()]);
          });

    if (result instanceof AdoptedSubscription) {
      // The fan-out serves it from here on; this entry is all that is kept.
      if (!registered(settingUp)) return result.stop();
      adopt(connection, id, result);
      if (tokenExpiresAt !== undefined) result.onEnd(endAtExpiry(result));
      return;
    }
    if (!isAsyncIterable(result)) {
      if (!registered(settingUp)) return;
      sendMessage(socket, { id, type: MessageType.Next, payload: result as ExecutionResult });
      return finish(settingUp);
    }
    const iterator = (result as AsyncIterable<ExecutionResult>)[Symbol.asyncIterator]();
    const streaming: Operation = {
      stop: () => void iterator.return?.()?.catch((error: unknown) => logger.error({ err: error }, 'ending a subscription failed')),
    };
    if (!registered(settingUp)) return streaming.stop();
    operations.set(id, streaming);
    const cancelExpiry = endAtExpiry(streaming);
    try {
      for (;;) {
        const next = await iterator.next();
        if (next.done || !registered(streaming)) break;
        sendMessage(socket, { id, type: MessageType.Next, payload: next.value });
      }
    } catch (error) {
      return finish(streaming, clientErrors(error));
    } finally {
      cancelExpiry();
    }
    finish(streaming);
  }

  /**
   * Parses, validates and builds the context of an operation through Yoga's
   * envelop: its errors (to send), or how to run it.
   */
  async function prepare(
    connection: Connection,
    id: string,
    payload: SubscribePayload,
  ): Promise<readonly GraphQLError[] | { run: () => Promise<unknown>; operationTokenExpiresAt?: number }> {
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
      // No closure per subscription: the connection's writer and the id.
      [frameSinkKey]: { id, send: connection.write } satisfies FrameSink,
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
      run: async () => (operation.operation === 'subscription' ? subscribe(args) : execute(args)),
      operationTokenExpiresAt: operationToken ? wsViewer?.expiresAt : undefined,
    };
  }

  /**
   * Hands a running subscription to the fan-out: the entry is the adopted
   * subscription itself, and its end tells the client (`complete`, or
   * `error`) unless the client ended it. A function of its own so that what
   * waits for the end holds only these three.
   */
  function adopt(connection: Connection, id: string, adopted: AdoptedSubscription) {
    connection.operations.set(id, adopted);
    adopted.onEnd((error) => {
      if (connection.operations.get(id) !== adopted) return;
      connection.operations.delete(id);
      if (error === undefined) sendMessage(connection.socket, { id, type: MessageType.Complete });
      else sendErrors(connection.socket, id, clientErrors(error));
    });
  }

  return {
    /** Completes every subscription, closes every socket (1001) and stops accepting. */
    async dispose() {
      clearInterval(keepAlive);
      for (const socket of wsServer.clients) socket.close(1001, 'Going away');
      for (const socket of [...connections.keys()]) onSocketClose.call(socket);
      await new Promise<void>((resolve) => wsServer.close(() => resolve()));
    },
  };
}

/** How long a socket may stay open without `connection_init` (graphql-ws's default): then 4408. */
const connectionInitWaitMs = 3_000;

/** A running operation, as the transport keeps it. */
interface Operation {
  /** Ends it without a message to the client (it completed it, or the socket closed). */
  stop(): void;
}

/** What the transport keeps per socket. */
interface Connection {
  socket: WebSocket;
  /** The client's address, taken at the upgrade (per-address limits). */
  address: string;
  /** Who authenticated with `connectionParams` (null: anonymous). */
  viewer: Viewer | null;
  initReceived: boolean;
  acknowledged: boolean;
  /** Pinged by the last keep-alive sweep and not answered yet. */
  awaitingPong: boolean;
  /** Running operations by id. */
  operations: Map<string, Operation>;
  /** Writes one frame to this socket (the fan-out's sinks share it). */
  write: (frame: string) => void;
  initTimeout: NodeJS.Timeout;
  cancelExpiry?: () => void;
}

/** A header's value from a plain headers object, whatever the case of its name. */
function headerOf(headers: unknown, name: string): unknown {
  if (!headers || typeof headers !== 'object') return undefined;
  return Object.entries(headers).find(([key]) => key.toLowerCase() === name)?.[1];
}

