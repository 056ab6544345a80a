/**
 * Automatic resume for cursor streams.
 *
 * Every Realmcast event stream (`stockTicked`, `factionInfluenceChanged`,
 * `worldEvents`, later `gameEvents`…) carries a `cursor` on each event and
 * takes `after: String`: the server replays everything after that cursor from
 * its event log, then continues live. This link makes that automatic for any
 * subscription operation that
 *
 * 1. declares a variable `$after: String` (and passes it as `after: $after`), and
 * 2. selects `cursor` on its root field,
 *
 * by remembering the last cursor it delivered and, when the transport reports
 * a {@link TransportInterruptedError}, subscribing again with `after:` that
 * cursor. Nothing else is needed to make a new stream resumable: write its
 * `.graphql` operation that way and run codegen.
 *
 * Subscriptions without a cursor (e.g. `portfolioChanged`) are still
 * resubscribed after an interruption, with their original variables.
 *
 * A stream the server ends because the token expired (an `UNAUTHENTICATED`
 * error with `reason: "expired"`, as SSE streams end at expiry) is resumed
 * the same way: the transport reads the token again (`getToken`) for the new
 * request. Repeated expiries back off (0 s, 1 s, 2 s… up to 30 s), so a
 * `getToken` that keeps returning the expired token does not spin.
 *
 * Until a stream has delivered its first event there is no cursor to resume
 * from, so events published during a drop before that first event are not
 * replayed; pass an initial `after` (e.g. a stored cursor, as the relay bot
 * does) when that matters.
 */
import { ApolloLink } from '@apollo/client/link';
import { getMainDefinition } from '@apollo/client/utilities';
import type { DocumentNode, OperationDefinitionNode } from 'graphql';
import { Observable, type Subscription } from 'rxjs';
import { isTransportInterruption } from './transport/errors.js';

/** Reported each time the link subscribes again after an interruption. */
export interface ResubscribeEvent {
  operationName: string | undefined;
  /** The cursor resumed after; undefined when the operation is not resumable or saw no event yet. */
  after: string | undefined;
  /** Why the previous subscription ended. */
  reason: string;
}

export interface ResumeLinkOptions {
  /**
   * How many recent events per subscription are remembered to drop an event
   * delivered twice. The server already replays strictly after the cursor;
   * this is a guard, so a small window suffices. @default 1_000
   */
  dedupeWindow?: number;
  /** Called on every resubscription (for logs and metrics). @default no-op */
  onResubscribe?: (event: ResubscribeEvent) => void;
}

export class ResumeLink extends ApolloLink {
  readonly #dedupeWindow: number;
  readonly #onResubscribe: (event: ResubscribeEvent) => void;

  constructor(options: ResumeLinkOptions = {}) {
    super();
    const { dedupeWindow = 1_000, onResubscribe = () => {} } = options;
    this.#dedupeWindow = dedupeWindow;
    this.#onResubscribe = onResubscribe;
  }

  override request(operation: ApolloLink.Operation, forward: ApolloLink.ForwardFunction): Observable<ApolloLink.Result> {
    if (operation.operationType !== 'subscription') return forward(operation);
    const resumable = declaresAfterVariable(operation.query);
    const initialVariables = operation.variables;

    return new Observable<ApolloLink.Result>((observer) => {
      let lastCursor: string | undefined;
      const recent = new RecentKeys(this.#dedupeWindow);
      let inner: Subscription | undefined;
      let timer: ReturnType<typeof setTimeout> | undefined;
      let closed = false;
      let expiries = 0;

      const start = () => {
        operation.variables = resumable && lastCursor !== undefined ? { ...initialVariables, after: lastCursor } : initialVariables;
        inner = forward(operation).subscribe({
          next: (result) => {
            if (tokenExpired(result)) {
              expiries++;
              inner?.unsubscribe();
              this.#onResubscribe({ operationName: operation.operationName, after: resumable ? lastCursor : undefined, reason: 'token expired' });
              timer = setTimeout(start, expiries === 1 ? 0 : Math.min(30_000, 1_000 * 2 ** (expiries - 2)));
              return;
            }
            expiries = 0;
            const cursor = resumable ? cursorOf(result) : undefined;
            if (cursor !== undefined) {
              // Keyed by the whole event, not the cursor alone: ephemeral events
              // (typing indicators) repeat the cursor of the last stored event.
              const key = JSON.stringify(result.data);
              if (recent.has(key)) return;
              recent.add(key);
              lastCursor = cursor;
            }
            observer.next(result);
          },
          error: (error: unknown) => {
            if (closed) return;
            if (!isTransportInterruption(error)) {
              observer.error(error);
              return;
            }
            this.#onResubscribe({ operationName: operation.operationName, after: resumable ? lastCursor : undefined, reason: error.message });
            // Deferred: the transport is still unwinding the connection that just went away.
            timer = setTimeout(start, 0);
          },
          complete: () => observer.complete(),
        });
      };

      start();
      return () => {
        closed = true;
        clearTimeout(timer);
        inner?.unsubscribe();
      };
    });
  }
}

const afterVariableCache = new WeakMap<DocumentNode, boolean>();

/** Whether the operation declares `$after: String` (nullable, as every stream's `after` is). */
export function declaresAfterVariable(document: DocumentNode): boolean {
  let known = afterVariableCache.get(document);
  if (known === undefined) {
    const definition = getMainDefinition(document) as OperationDefinitionNode;
    known = (definition.variableDefinitions ?? []).some(
      (v) => v.variable.name.value === 'after' && v.type.kind === 'NamedType' && v.type.name.value === 'String',
    );
    afterVariableCache.set(document, known);
  }
  return known;
}

/** The `cursor` of a subscription result's root field, if it has one. */
export function cursorOf(result: ApolloLink.Result): string | undefined {
  const data = (result as { data?: Record<string, unknown> | null }).data;
  if (!data) return undefined;
  for (const value of Object.values(data)) {
    if (value && typeof value === 'object' && typeof (value as { cursor?: unknown }).cursor === 'string') {
      return (value as { cursor: string }).cursor;
    }
  }
  return undefined;
}

/** Whether a result is the server ending a stream because the caller's token expired. */
export function tokenExpired(result: ApolloLink.Result): boolean {
  const errors = (result as { errors?: ReadonlyArray<{ extensions?: Record<string, unknown> }> }).errors;
  return Boolean(errors?.some((error) => error.extensions?.code === 'UNAUTHENTICATED' && error.extensions.reason === 'expired'));
}

/** A set that forgets its oldest entries beyond `capacity`. */
class RecentKeys {
  readonly #keys = new Set<string>();
  constructor(readonly capacity: number) {}
  has(key: string) {
    return this.#keys.has(key);
  }
  add(key: string) {
    this.#keys.add(key);
    if (this.#keys.size > this.capacity) this.#keys.delete(this.#keys.values().next().value!);
  }
}
