/**
 * The live subscriptions of a transport, whichever link carries them, so that
 * the machine's `interrupt`, `fail` and `end-all` effects reach them.
 */
import { TransportInterruptedError } from './errors.js';
import type { SocketId } from './state.js';

/** Where a subscription's outcome goes: graphql-ws's sink or an rxjs observer. */
interface Consumer {
  error(error: unknown): void;
  complete(): void;
}

/**
 * One live subscription, from its start until it ends one way or another
 * (the consumer unsubscribes, the link below ends it, or the transport stops
 * it); whatever comes after its end is ignored.
 */
export class LiveSubscription {
  #done = false;
  /** The WebSocket it was sent on (ws only; unset while it waits for the next socket). */
  socket?: SocketId;

  constructor(
    readonly via: 'ws' | 'sse',
    private readonly registry: LiveSubscriptions,
    private readonly consumer: Consumer,
    /** Stops it below (unsubscribes from the link, cancels its waits). */
    private readonly release: () => void,
  ) {
    registry.add(this);
  }

  get done(): boolean {
    return this.#done;
  }

  /** Stops it and tells the consumer to subscribe again. */
  interrupt(reason: string): void {
    if (this.stop()) this.consumer.error(new TransportInterruptedError(reason));
  }

  /** Stops it and fails the consumer with `error` (no resubscription). */
  fail(error: unknown): void {
    if (this.stop()) this.consumer.error(error);
  }

  /** Stops it and completes the consumer (the client is being disposed). */
  end(): void {
    if (this.stop()) this.consumer.complete();
  }

  /** The consumer unsubscribed. */
  cancel(): void {
    this.stop();
  }

  /** The link below ended it (an error or its completion), so there is nothing to release; false when it had ended already. */
  settle(): boolean {
    if (this.#done) return false;
    this.#done = true;
    this.registry.delete(this);
    return true;
  }

  /** Ends it from our side; false when it had ended already. */
  private stop(): boolean {
    if (!this.settle()) return false;
    this.release();
    return true;
  }
}

/** Every live subscription of one transport. */
export class LiveSubscriptions {
  readonly #entries = new Set<LiveSubscription>();

  add(entry: LiveSubscription): void {
    this.#entries.add(entry);
  }

  delete(entry: LiveSubscription): void {
    this.#entries.delete(entry);
  }

  /** Interrupts the ones going `via` (on `socket`, when given). */
  interrupt(via: 'ws' | 'sse', reason: string, socket?: SocketId): void {
    for (const entry of [...this.#entries]) if (entry.via === via && (socket === undefined || entry.socket === socket)) entry.interrupt(reason);
  }

  /** Fails the WebSocket ones on `socket` when given, else every one, with the same `error`. */
  fail(error: unknown, socket?: SocketId): void {
    for (const entry of [...this.#entries]) if (socket === undefined || (entry.via === 'ws' && entry.socket === socket)) entry.fail(error);
  }

  endAll(): void {
    for (const entry of [...this.#entries]) entry.end();
  }
}
