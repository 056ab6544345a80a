import type { IncomingMessage, Server } from 'node:http';
import { GraphQLError, type ExecutionArgs } from 'graphql';
import { CloseCode } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import type { YogaServerInstance } from 'graphql-yoga';
import { WebSocketServer, type WebSocket } from 'ws';
import { bearerToken, type TokenIssuer, type Viewer } from '../auth.js';
import type { Context } from '../builder.js';
import { apiError, ErrorCode } from '../errors.js';
import { atTime } from '../limits/expiry.js';
import { clientAddress } from '../limits/http.js';
import { originAllowed } from '../limits/plugins.js';
import type { Logger } from '../logger.js';
import { frameSinkKey, type FrameSink } from './fanout.js';

/** What Yoga's initial context carries for an operation that came over the WebSocket. */
export interface WebSocketInitialContext {
  /** The connection's (or the operation's) viewer; `undefined` means "read the HTTP headers". */
  wsViewer?: Viewer | null;
  /** The upgrade request (the client's address for per-address limits). */
  req?: IncomingMessage;
  /** Set for operations over the WebSocket (metrics tell transports apart by it). */
  transport?: 'ws';
  [frameSinkKey]?: FrameSink;
}

/**
 * State kept per WebSocket connection (one object, so limits and expiry have
 * one place to live).
 */
export interface ConnectionState {
  /** Who authenticated with `connectionParams` (null: anonymous). */
  viewer: Viewer | null;
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
 * graphql-ws over `ws`: connection_init/ack (the token in `connectionParams`),
 * ping/pong, subscribe validation, complete, close codes, and queries and
 * mutations over the socket, all through Yoga's envelop. A subscription
 * served by the fan-out (`server/transport/fanout.ts`) gets a {@link FrameSink}:
 * its `next` messages are written here directly, while graphql-ws still
 * sends `complete` when the subscription ends and calls `return()` when the
 * client completes it.
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

  const wsServer = new WebSocketServer({
    server,
    path,
    maxPayload,
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
      // The TCP socket closes however the upgrade or the connection ends.
      info.req.socket.once('close', () => {
        open--;
        const left = (perAddress.get(address) ?? 1) - 1;
        if (left > 0) perAddress.set(address, left);
        else perAddress.delete(address);
      });
      accept(true);
    },
  });
  if (onConnection) wsServer.on('connection', onConnection);
  const connections = new WeakMap<object, ConnectionState>();
  const viewerOf = async (token: string | null) => (token ? tokens.verify(token) : null);
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
  // graphql-ws writes some messages itself (portfolio, presence, errors): a sweep catches those.
  const sweep = setInterval(() => {
    for (const socket of wsServer.clients) if (socket.bufferedAmount > maxBufferedBytes) dropSlow(socket);
  }, 500);
  sweep.unref();

  /** Writes a frame of the fan-out; a socket that holds back too much is dropped. */
  const frameSink = (socket: WebSocket, id: string): FrameSink => ({
    id,
    send: (frame) => {
      socket.send(frame);
      if (socket.bufferedAmount > maxBufferedBytes) dropSlow(socket);
    },
  });

  const graphqlWs = useServer<Record<string, unknown>>(
    {
      execute: (args) => (args.rootValue as Enveloped).execute(args) as never,
      subscribe: (args) => (args.rootValue as Enveloped).subscribe(args) as never,
      onConnect: async (ctx) => {
        const params = ctx.connectionParams ?? {};
        try {
          const viewer = await viewerOf(bearerToken(params.authToken ?? params.authorization));
          connections.set(ctx, { viewer });
          if (viewer?.expiresAt !== undefined) {
            // The connection does not outlive its token: the client reconnects with a fresh one and resumes.
            const socket = ctx.extra.socket;
            const cancel = atTime(viewer.expiresAt, () => socket.close(CloseCode.Forbidden, 'Token expired'));
            socket.once('close', cancel);
          }
          return true;
        } catch {
          // An invalid token closes the socket (4403) instead of silently continuing anonymously.
          return false;
        }
      },
      onSubscribe: async (ctx, id, payload) => {
        // `ctx.subscriptions` already holds this one.
        if (Object.keys(ctx.subscriptions).length > maxSubscriptionsPerConnection) {
          onLimit('subscriptions-per-connection');
          return [
            apiError(ErrorCode.TooManySubscriptions, `At most ${maxSubscriptionsPerConnection} operations may run at once on one connection.`, {
              limit: maxSubscriptionsPerConnection,
            }),
          ];
        }
        let wsViewer = connections.get(ctx)?.viewer ?? null;
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
        // Only what resolvers and plugins read: the context lives as long as the
        // subscription, so every field here is paid for per subscription.
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          req: ctx.extra.request,
          params: payload,
          request: connectionRequest,
          wsViewer,
          transport: 'ws',
          [frameSinkKey]: frameSink(ctx.extra.socket, id),
        });
        // A bad operation fails alone with an error message; thrown here it
        // would close the whole socket (4500) and every other subscription on it.
        let args: ExecutionArgs;
        try {
          args = {
            schema,
            operationName: payload.operationName,
            document: parse(payload.query),
            variableValues: payload.variables,
            contextValue: await contextFactory(),
            rootValue: { execute, subscribe } satisfies Enveloped,
          };
        } catch (error) {
          if (error instanceof GraphQLError) return [error];
          logger.error({ err: error }, 'internal error (masked)');
          return [apiError(ErrorCode.Internal, 'Unexpected error.')];
        }
        const errors = validate(args.schema, args.document);
        return errors.length ? errors : args;
      },
    },
    wsServer,
    keepAliveMs,
  );

  return {
    /** Completes every subscription, closes every socket (1001) and stops accepting. */
    async dispose() {
      clearInterval(sweep);
      await graphqlWs.dispose();
      await new Promise<void>((resolve) => wsServer.close(() => resolve()));
    },
  };
}

/** A header's value from a plain headers object, whatever the case of its name. */
function headerOf(headers: unknown, name: string): unknown {
  if (!headers || typeof headers !== 'object') return undefined;
  return Object.entries(headers).find(([key]) => key.toLowerCase() === name)?.[1];
}

type Enveloped = Pick<ReturnType<YogaServerInstance<object, object>['getEnveloped']>, 'execute' | 'subscribe'>;
