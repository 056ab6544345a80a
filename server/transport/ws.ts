import type { IncomingMessage, Server } from 'node:http';
import { CloseCode, handleProtocols } from 'graphql-ws';
import type { YogaServerInstance } from 'graphql-yoga';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { TokenIssuer } from '../auth.js';
import type { Context } from '../builder.js';
import type { Delivery } from '../delivery/fanout.js';
import { connectionLimitDefaults, createConnectionAdmission, retryAfterSeconds, type ConnectionLimits, type ConnectionRefusal } from '../limits/connections.js';
import { clientAddress } from '../limits/http.js';
import { originAllowed } from '../limits/plugins.js';
import type { Logger } from '../logger.js';
import { createOperationRunner, type WebSocketInitialContext } from './operations.js';
import { createProtocol, type Connection, type ProtocolSocket } from './protocol.js';

/** Close code for a consumer whose unsent data passed `maxBufferedBytes`: 1013 "try again later"; clients reconnect and resume. */
export const slowConsumerCloseCode = 1013;

/** Close code of every socket when the server shuts down: 1001 "going away". */
const goingAwayCloseCode = 1001;

/** What the adapter reports to metrics: an upgrade refused or a socket dropped by a limit. */
export type WebSocketLimit = ConnectionRefusal['limit'] | 'origin' | 'subscriptions-per-connection' | 'slow-consumer';

export interface WebSocketTransportOptions extends ConnectionLimits {
  /** The HTTP server to take upgrades from. */
  server: Server;
  /** Path of the GraphQL endpoint. */
  path: string;
  /** The Yoga instance whose envelop (parse, validate, context, plugins) every operation goes through. */
  yoga: YogaServerInstance<WebSocketInitialContext, Context>;
  /** The delivery core, which writes the frames of feed subscriptions itself. */
  delivery: Pick<Delivery, 'serve'>;
  tokens: TokenIssuer;
  logger: Logger;
  /** Interval of the server's pings; a connection that misses one is closed. */
  keepAliveMs: number;
  /** Called for every new socket (metrics count connections). @default none */
  onConnection?: (socket: WebSocket) => void;
  /** Largest message a client may send; larger ones close the socket with 1009. @default 65_536 // 64 KiB */
  maxPayload?: number;
  /** Unsent bytes a socket may hold back before it is closed with {@link slowConsumerCloseCode}. @default 1_048_576 // 1 MiB */
  maxBufferedBytes?: number;
  /** Browser origins allowed besides the server's own host (`*`: any); an upgrade from another gets 403. @default ['*'] */
  allowedOrigins?: readonly string[];
  /** Reverse proxies in front (see `clientAddress`). @default 0 */
  trustProxy?: number;
  /** Bits of an IPv6 address that name one client (see `clientAddress`). @default 64 */
  ipv6PrefixLength?: number;
  /** Called when an upgrade is refused or a socket dropped by a limit (metrics). @default none */
  onLimit?: (limit: WebSocketLimit) => void;
}

/** What every {@link SocketLink} shares. */
interface LinkCore {
  maxBufferedBytes: number;
  onLimit: (limit: WebSocketLimit) => void;
}

/**
 * One `ws` socket as the protocol sees it ({@link ProtocolSocket}), with what
 * the runtime keeps per socket: its connection and its keep-alive mark.
 */
class SocketLink implements ProtocolSocket {
  /** Pinged by the last keep-alive sweep and not answered yet. */
  awaitingPong = false;
  connection: Connection | undefined;

  constructor(
    readonly socket: WebSocket,
    private readonly core: LinkCore,
  ) {}

  get protocol(): string {
    return this.socket.protocol;
  }

  /**
   * Every frame goes out here; a socket that holds back too much is dropped.
   * What was waiting before this frame decides, so that one large result
   * (a query's, or a snapshot) does not by itself make a reading client slow.
   */
  send(frame: string): void {
    const { socket } = this;
    if (socket.readyState !== socket.OPEN) return;
    if (socket.bufferedAmount > this.core.maxBufferedBytes) return this.dropSlow();
    socket.send(frame);
  }

  busy(): boolean {
    const { socket } = this;
    return socket.readyState === socket.OPEN && socket.bufferedAmount > this.core.maxBufferedBytes / 2;
  }

  close(code: number, reason: string): void {
    this.socket.close(code, reason);
  }

  /**
   * Drops a consumer that does not read: unsent data would otherwise grow
   * without bound. The close frame queues behind the unsent data, which a
   * client that does not read never gets, so the socket is cut a second later.
   */
  private dropSlow(): void {
    const { socket } = this;
    if (socket.readyState !== socket.OPEN) return;
    this.core.onLimit('slow-consumer');
    socket.close(slowConsumerCloseCode, 'Slow consumer: reconnect and resume with after:');
    setTimeout(() => socket.terminate(), 1_000).unref();
  }
}

/**
 * The `ws` runtime adapter of the graphql-transport-ws protocol core
 * (`./protocol.ts`), as graphql-ws's `use/ws.ts`: upgrade admission (origin,
 * `server/limits/connections.ts`), one keep-alive sweep that pings every
 * socket (no per-socket timers), socket events handed to the protocol, and
 * dispose. No upgrade request is kept.
 */
export function createWebSocketTransport(options: WebSocketTransportOptions) {
  const {
    server,
    path,
    yoga,
    delivery,
    tokens,
    logger,
    keepAliveMs,
    onConnection,
    maxPayload = 65_536,
    maxConnections = connectionLimitDefaults.maxConnections,
    maxConnectionsPerAddress = connectionLimitDefaults.maxConnectionsPerAddress,
    maxSubscriptionsPerConnection = connectionLimitDefaults.maxSubscriptionsPerConnection,
    maxBufferedBytes = 1_048_576,
    allowedOrigins = ['*'],
    trustProxy = 0,
    ipv6PrefixLength = 64,
    onLimit = () => {},
  } = options;
  const admission = createConnectionAdmission({ maxConnections, maxConnectionsPerAddress });
  const operations = createOperationRunner({ yoga, delivery, tokens, logger, maxSubscriptionsPerConnection, onLimit });
  const protocol = createProtocol({ tokens, logger, operations });
  const linkCore: LinkCore = { maxBufferedBytes, onLimit };
  /** Addresses of upgrades accepted and not yet connected (the upgrade request is not kept). */
  const addressOf = new WeakMap<IncomingMessage, string>();

  const wsServer = new WebSocketServer({
    server,
    path,
    maxPayload,
    handleProtocols,
    // Refused before the upgrade: the client gets a plain HTTP answer it can act on.
    verifyClient: (info, accept) => {
      if (!originAllowed(info.origin || undefined, info.req.headers.host, allowedOrigins)) {
        onLimit('origin');
        return accept(false, 403, 'Origin not allowed');
      }
      const address = clientAddress(info.req, trustProxy, ipv6PrefixLength);
      const admitted = admission.admit(address);
      if ('refused' in admitted) {
        const { limit, status, message } = admitted.refused;
        onLimit(limit);
        return accept(false, status, message, { 'Retry-After': String(retryAfterSeconds) });
      }
      addressOf.set(info.req, address);
      // The TCP socket closes however the upgrade or the connection ends.
      info.req.socket.once('close', admitted.release);
      accept(true);
    },
  });
  wsServer.on('error', (error) => logger.error({ err: error }, 'WebSocket server error'));

  const links = new Map<WebSocket, SocketLink>();

  // One sweep pings every socket; one that has not answered the previous ping is cut.
  const keepAlive = setInterval(() => {
    for (const [socket, link] of links) {
      if (link.awaitingPong) {
        socket.terminate();
        continue;
      }
      link.awaitingPong = true;
      socket.ping();
    }
  }, keepAliveMs);
  keepAlive.unref();

  // Listeners shared by every socket (`this` is the socket): nothing per socket but its link.
  function onPong(this: WebSocket) {
    const link = links.get(this);
    if (link) link.awaitingPong = false;
  }
  function onSocketMessage(this: WebSocket, data: RawData) {
    links.get(this)?.connection?.received(String(data));
  }
  function onSocketError(this: WebSocket, error: Error) {
    logger.warn({ err: error }, 'WebSocket socket error');
    this.close(CloseCode.InternalServerError, 'Internal server error');
  }
  function onSocketClose(this: WebSocket) {
    const link = links.get(this);
    if (!link) return;
    links.delete(this);
    link.connection?.closed();
  }

  wsServer.on('connection', (socket, request) => {
    onConnection?.(socket);
    const link = new SocketLink(socket, linkCore);
    link.connection = protocol.opened(link, { address: addressOf.get(request) ?? 'unknown' });
    if (!link.connection) return;
    links.set(socket, link);
    socket.on('message', onSocketMessage);
    socket.on('pong', onPong);
    socket.on('error', onSocketError);
    socket.on('close', onSocketClose);
  });

  return {
    /** Completes every subscription, closes every socket (1001) and stops accepting. */
    async dispose() {
      clearInterval(keepAlive);
      for (const socket of wsServer.clients) socket.close(goingAwayCloseCode, 'Going away');
      for (const socket of [...links.keys()]) onSocketClose.call(socket);
      await new Promise<void>((resolve) => wsServer.close(() => resolve()));
    },
  };
}
