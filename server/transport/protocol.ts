import { CloseCode, GRAPHQL_TRANSPORT_WS_PROTOCOL, MessageType, parseMessage, stringifyMessage, type Message } from 'graphql-ws';
import { bearerToken, type TokenIssuer, type Viewer } from '../auth.js';
import { atTime } from '../limits/expiry.js';
import type { Logger } from '../logger.js';
import type { Operation, OperationConnection, OperationRunner } from './operations.js';

/**
 * A client connection as the protocol sees it, whatever runtime carries it
 * (`server/transport/ws.ts` adapts `ws`).
 */
export interface ProtocolSocket {
  /** The subprotocol the client and the server agreed on. */
  readonly protocol: string;
  /** Writes one frame (the runtime may drop a slow consumer here). */
  send(frame: string): void;
  /** Whether its unsent data is past half of what the runtime lets it hold (a replay waits). */
  busy(): boolean;
  close(code: number, reason: string): void;
}

export interface ProtocolOptions {
  tokens: TokenIssuer;
  logger: Logger;
  /** Runs the operation of every `subscribe` message. */
  operations: OperationRunner;
  /** How long a socket may stay open without `connection_init` (graphql-ws's default); then 4408. @default 3_000 // 3 seconds */
  connectionInitWaitMs?: number;
}

/** What every {@link Connection} of one protocol shares. */
interface ProtocolCore {
  tokens: TokenIssuer;
  logger: Logger;
  operations: OperationRunner;
  connectionInitWaitMs: number;
}

/**
 * The state of one graphql-transport-ws connection: `connection_init` and
 * its ack (the token in `connectionParams`), ping/pong, `subscribe` and
 * `complete`, and the protocol's close codes. Its runtime adapter hands it
 * each message ({@link received}) and tells it when the socket closed
 * ({@link closed}).
 */
export class Connection implements OperationConnection {
  viewer: Viewer | null = null;
  readonly operations = new Map<string, Operation>();
  #initReceived = false;
  #acknowledged = false;
  #closed = false;
  #initTimeout: NodeJS.Timeout;
  #cancelExpiry: (() => void) | undefined;

  constructor(
    readonly socket: ProtocolSocket,
    readonly address: string,
    private readonly core: ProtocolCore,
  ) {
    // A shared callback with the connection as its argument: no closure per connection.
    this.#initTimeout = setTimeout(closeUninitialised, core.connectionInitWaitMs, this);
  }

  /** Whether `connection_init` arrived. */
  get initialised(): boolean {
    return this.#initReceived;
  }

  /** Handles one message; a failure closes the socket with 1011 (it never rejects). */
  received(data: string): void {
    this.handle(data).catch((error: unknown) => {
      this.core.logger.error({ err: error }, 'WebSocket message failed');
      this.socket.close(CloseCode.InternalServerError, 'Internal server error');
    });
  }

  /** The socket closed: every running operation stops, timers are cleared. */
  closed(): void {
    this.#closed = true;
    clearTimeout(this.#initTimeout);
    this.#cancelExpiry?.();
    const running = [...this.operations.values()];
    this.operations.clear();
    for (const operation of running) operation.stop();
  }

  private send(message: Message): void {
    this.socket.send(stringifyMessage(message));
  }

  private async handle(data: string): Promise<void> {
    const { socket } = this;
    let message: Message;
    try {
      message = parseMessage(data);
    } catch {
      return socket.close(CloseCode.BadRequest, 'Invalid message received');
    }
    switch (message.type) {
      case MessageType.ConnectionInit: {
        if (this.#initReceived) return socket.close(CloseCode.TooManyInitialisationRequests, 'Too many initialisation requests');
        this.#initReceived = true;
        clearTimeout(this.#initTimeout);
        const params = message.payload ?? {};
        try {
          const token = bearerToken(params.authToken ?? params.authorization);
          this.viewer = token ? await this.core.tokens.verify(token) : null;
        } catch {
          // An invalid token closes the socket (4403) instead of silently continuing anonymously.
          return socket.close(CloseCode.Forbidden, 'Forbidden');
        }
        // Closed while the token was checked: nothing left to set up (an expiry timer would outlive it).
        if (this.#closed) return;
        const expiresAt = this.viewer?.expiresAt;
        if (expiresAt !== undefined) {
          // The connection does not outlive its token: the client reconnects with a fresh one and resumes.
          this.#cancelExpiry = atTime(expiresAt, () => socket.close(CloseCode.Forbidden, 'Token expired'));
        }
        this.#acknowledged = true;
        return this.send({ type: MessageType.ConnectionAck });
      }
      case MessageType.Ping:
        return this.send(message.payload ? { type: MessageType.Pong, payload: message.payload } : { type: MessageType.Pong });
      case MessageType.Pong:
        return;
      case MessageType.Subscribe: {
        if (!this.#acknowledged) return socket.close(CloseCode.Unauthorized, 'Unauthorized');
        if (this.operations.has(message.id)) return socket.close(CloseCode.SubscriberAlreadyExists, `Subscriber for ${message.id} already exists`);
        return this.core.operations.run(this, message.id, message.payload);
      }
      case MessageType.Complete: {
        const operation = this.operations.get(message.id);
        this.operations.delete(message.id);
        return operation?.stop();
      }
      default:
        return socket.close(CloseCode.BadRequest, `Unexpected message of type ${message.type} received`);
    }
  }
}

/** 4408 for a socket that sent no `connection_init` in time. */
function closeUninitialised(connection: Connection): void {
  if (!connection.initialised) connection.socket.close(CloseCode.ConnectionInitialisationTimeout, 'Connection initialisation timeout');
}

/**
 * The graphql-ws protocol (`graphql-transport-ws`) over any socket, as
 * graphql-ws's `makeServer`: it knows nothing of `ws`. `opened` starts a
 * connection's state, or closes a socket that speaks another subprotocol
 * (4406). Messages are read and written with graphql-ws's own
 * `parseMessage` and constants.
 */
export function createProtocol(options: ProtocolOptions) {
  const { tokens, logger, operations, connectionInitWaitMs = 3_000 } = options;
  const core: ProtocolCore = { tokens, logger, operations, connectionInitWaitMs };
  return {
    /** A socket opened: its connection, or `undefined` when it was closed for its subprotocol. */
    opened(socket: ProtocolSocket, extra: { address: string }): Connection | undefined {
      if (socket.protocol !== GRAPHQL_TRANSPORT_WS_PROTOCOL) {
        socket.close(CloseCode.SubprotocolNotAcceptable, 'Subprotocol not acceptable');
        return undefined;
      }
      return new Connection(socket, extra.address, core);
    },
  };
}

/** The protocol of one WebSocket transport. */
export type Protocol = ReturnType<typeof createProtocol>;
