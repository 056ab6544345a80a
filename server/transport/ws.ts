import type { IncomingMessage, Server } from 'node:http';
import { GraphQLError, type ExecutionArgs } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import type { YogaServerInstance } from 'graphql-yoga';
import { WebSocketServer, type WebSocket } from 'ws';
import { bearerToken, type TokenIssuer, type Viewer } from '../auth.js';
import type { Context } from '../builder.js';
import { apiError, ErrorCode } from '../errors.js';
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
  const { server, path, yoga, tokens, logger, keepAliveMs, onConnection } = options;
  const wsServer = new WebSocketServer({ server, path });
  if (onConnection) wsServer.on('connection', onConnection);
  const connections = new WeakMap<object, ConnectionState>();
  const viewerOf = async (token: string | null) => (token ? tokens.verify(token) : null);
  // The request Yoga's plugins see for every operation over a socket. POST:
  // Yoga refuses mutations on GET requests, and over graphql-ws every
  // operation may mutate. It carries nothing per connection, so one serves all.
  const connectionRequest = new Request('http://localhost/graphql', { method: 'POST' });

  /**
   * Writes a frame of the fan-out. A socket that is closing drops it (ws
   * ignores sends after close); the place to check `bufferedAmount` for slow
   * consumers.
   */
  const frameSink = (socket: WebSocket, id: string): FrameSink => ({ id, send: (frame) => socket.send(frame) });

  const graphqlWs = useServer<Record<string, unknown>>(
    {
      execute: (args) => (args.rootValue as Enveloped).execute(args) as never,
      subscribe: (args) => (args.rootValue as Enveloped).subscribe(args) as never,
      onConnect: async (ctx) => {
        const params = ctx.connectionParams ?? {};
        try {
          connections.set(ctx, { viewer: await viewerOf(bearerToken(params.authToken ?? params.authorization)) });
          return true;
        } catch {
          // An invalid token closes the socket (4403) instead of silently continuing anonymously.
          return false;
        }
      },
      onSubscribe: async (ctx, id, payload) => {
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
