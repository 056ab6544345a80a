import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { getOperationAST, type DocumentNode, type GraphQLSchema } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { ErrorCode } from './errors.js';
import { Feed } from './events/feed.js';
import type { RealmPubSub } from './events/pubsub.js';
import type { Logger } from './logger.js';

/** How a client is connected; the only values the `transport` label takes. */
export type Transport = 'ws' | 'sse';

/** Kinds of event streams; a game's code never becomes a label. */
const streamKinds = ['market', 'factions', 'world', 'game'] as const;
const other = 'other';

/**
 * Everything Realmcast reports on `/metrics`. Every label takes its values
 * from a fixed list (schema field names, error codes, stream kinds,
 * transports) and never from what a client sends: a client-chosen label
 * (the operation name) lets anyone grow the registry without bound.
 */
export interface Metrics {
  readonly registry: Registry;
  /** Open client connections: WebSockets, and SSE streams (one per subscription). */
  readonly connections: Gauge<'transport'>;
  /** Active subscriptions by root field of the schema's `Subscription` type. */
  readonly subscriptions: Gauge<'field'>;
  /** Subscription results handed to a socket or SSE stream. */
  readonly messagesSent: Counter<'transport'>;
  /** Events published to pub/sub (stored and ephemeral), by stream kind. */
  readonly eventsPublished: Counter<'stream'>;
  /**
   * Seconds from a live event's commit until its result has been handed to
   * every subscriber of one subscription group (subscribers sharing one
   * execution): observed once per event per group and transport, not per
   * subscriber, which keeps the per-subscriber hot path free of it. A
   * subscription executed on its own (`pnlTicked`) is a group of one.
   * Replayed events, and results without a commit time (`portfolioChanged`,
   * `presence`), are not timed.
   */
  readonly fanOutLatency: Histogram<'transport'>;
  /** Connections or messages dropped because the client reads too slowly. */
  readonly slowConsumerDrops: Counter<'transport'>;
  /** Requests refused by a rate limit, by which limit (a name chosen by server code). */
  readonly rateLimited: Counter<'limit'>;
  /** GraphQL operations executed, by type. */
  readonly operations: Counter<'type'>;
  /** GraphQL errors returned, by `extensions.code` from the catalogue (`other` for anything else). */
  readonly errors: Counter<'code'>;
  /** Duration of queries and mutations. */
  readonly operationDuration: Histogram<'type'>;
  /** Counts an event published on `stream` (e.g. `market`, `game:ABC123` → `game`). */
  eventPublished(stream: string): void;
  /** Counts one rate-limit refusal. `limit` must be a fixed name from server code, never client input. */
  limited(limit: string): void;
  /**
   * Envelop plugin measuring operations, and subscriptions a transport
   * iterates (SSE, and subscriptions executed on their own): their count,
   * messages and latency as results pass.
   */
  plugin(): Plugin;
  /**
   * Follows a subscription the delivery core writes to its transport itself
   * (a delivery hook, `DeliveryHooks.onServe`; envelop never iterates it):
   * counts it in {@link subscriptions} until the returned function is
   * called at its end. Its messages and latency are counted by the core.
   */
  onServe(args: { document: DocumentNode; operationName?: string | null }): () => void;
  /**
   * Serves the registry in Prometheus text format. With a `token`, only
   * requests carrying `Authorization: Bearer <token>` get it (401 otherwise).
   * A failure answers 500 with a fixed message: no stack, no paths.
   */
  handle(req: IncomingMessage, res: ServerResponse): void;
  dispose(): void;
}

export interface MetricsOptions {
  /** The schema whose `Subscription` root fields label `subscriptions`. */
  schema: GraphQLSchema;
  /** Bearer token `/metrics` requires. @default undefined (open) */
  token?: string;
  /** Where a failing scrape is logged. */
  logger: Logger;
  /** Collects process and Node metrics (CPU, memory, GC, event-loop lag). @default true */
  processMetrics?: boolean;
}

/** A label value from `allowed`, or `other`. */
const bounded = (allowed: ReadonlySet<string>, value: string | undefined) => (value !== undefined && allowed.has(value) ? value : other);

/** Per-subscription context slot: the commit time of the event being executed. */
const committedAt = new WeakMap<object, number>();

/** Creates the metrics of one app instance, in a registry of its own. */
export function createMetrics(options: MetricsOptions): Metrics {
  const { schema, token, logger, processMetrics = true } = options;
  const registry = new Registry();
  if (processMetrics) collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 20 });

  const rootFields = new Set(
    [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()].flatMap((type) => Object.keys(type?.getFields() ?? {})),
  );
  const subscriptionFields = new Set(Object.keys(schema.getSubscriptionType()?.getFields() ?? {}));
  const errorCodes = new Set<string>(Object.values(ErrorCode));
  const streams = new Set<string>(streamKinds);
  const operationTypes = new Set(['query', 'mutation', 'subscription']);
  // Rate limits are named by server code; the cap is a last guard against a
  // caller that passes something client-controlled by mistake.
  const limitNames = new Set<string>();
  const maxLimitNames = 50;

  const transport = { labelNames: ['transport'] as const, registers: [registry] };
  const connections = new Gauge({ name: 'realmcast_connections', help: 'Open client connections (SSE: one per subscription stream).', ...transport });
  const subscriptions = new Gauge({
    name: 'realmcast_subscriptions',
    help: 'Active subscriptions by Subscription root field.',
    labelNames: ['field'] as const,
    registers: [registry],
  });
  const messagesSent = new Counter({ name: 'realmcast_messages_sent_total', help: 'Subscription results sent to clients.', ...transport });
  const eventsPublished = new Counter({
    name: 'realmcast_events_published_total',
    help: 'Events published to pub/sub, by stream kind.',
    labelNames: ['stream'] as const,
    registers: [registry],
  });
  const fanOutLatency = new Histogram({
    name: 'realmcast_fanout_latency_seconds',
    help:
      'Commit-to-write latency of each live event, once per subscription group (subscribers sharing one execution) and transport, not per subscriber: from the commit until the result was handed to every subscriber of the group. Replayed events are not timed.',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    ...transport,
  });
  const slowConsumerDrops = new Counter({
    name: 'realmcast_slow_consumer_drops_total',
    help: 'Connections or messages dropped because the client reads too slowly.',
    ...transport,
  });
  const rateLimited = new Counter({
    name: 'realmcast_rate_limited_total',
    help: 'Requests refused by a rate limit, by limit.',
    labelNames: ['limit'] as const,
    registers: [registry],
  });
  const operations = new Counter({
    name: 'realmcast_graphql_operations_total',
    help: 'GraphQL operations executed, by type.',
    labelNames: ['type'] as const,
    registers: [registry],
  });
  const errors = new Counter({
    name: 'realmcast_graphql_errors_total',
    help: 'GraphQL errors returned, by extensions.code.',
    labelNames: ['code'] as const,
    registers: [registry],
  });
  const operationDuration = new Histogram({
    name: 'realmcast_graphql_operation_duration_seconds',
    help: 'Duration of queries and mutations.',
    labelNames: ['type'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  // Zero series up front so dashboards and alerts see every label from the start.
  for (const field of subscriptionFields) subscriptions.set({ field }, 0);
  for (const stream of streamKinds) eventsPublished.inc({ stream }, 0);
  for (const value of ['ws', 'sse'] as const) {
    connections.set({ transport: value }, 0);
    messagesSent.inc({ transport: value }, 0);
    slowConsumerDrops.inc({ transport: value }, 0);
    fanOutLatency.zero({ transport: value });
  }

  /** The operation's first root field (a schema field name, or `other`). */
  const rootFieldOf = (args: { document: DocumentNode; operationName?: string | null }) => {
    const selection = getOperationAST(args.document, args.operationName)?.selectionSet.selections[0];
    return bounded(rootFields, selection?.kind === 'Field' ? selection.name.value : undefined);
  };
  // A RATE_LIMITED GraphQL error counts as a refusal of the limit named after its root field.
  const countErrors = (result: { errors?: readonly { extensions?: Record<string, unknown> }[] }, field: string) => {
    for (const error of result.errors ?? []) {
      const code = error.extensions?.code;
      errors.inc({ code: bounded(errorCodes, typeof code === 'string' ? code : undefined) });
      if (code === ErrorCode.RateLimited) rateLimited.inc({ limit: field });
    }
  };

  const transportOf = (context: unknown): Transport => ((context as { transport?: unknown }).transport === 'ws' ? 'ws' : 'sse');

  stampCommitTimes(schema);

  return {
    registry,
    connections,
    subscriptions,
    messagesSent,
    eventsPublished,
    fanOutLatency,
    slowConsumerDrops,
    rateLimited,
    operations,
    errors,
    operationDuration,
    eventPublished: (stream) => eventsPublished.inc({ stream: bounded(streams, stream.split(':', 1)[0]) }),
    limited(limit) {
      if (!limitNames.has(limit) && limitNames.size < maxLimitNames) limitNames.add(limit);
      rateLimited.inc({ limit: bounded(limitNames, limit) });
    },
    onServe(args) {
      // What waits for the end holds the field name only.
      const field = bounded(subscriptionFields, rootFieldOf(args));
      subscriptions.inc({ field });
      return () => subscriptions.dec({ field });
    },
    plugin: () => ({
      onExecute({ args }) {
        const type = bounded(operationTypes, getOperationAST(args.document, args.operationName)?.operation);
        operations.inc({ type });
        const stop = operationDuration.startTimer({ type });
        return {
          onExecuteDone({ result }) {
            stop();
            if (!(Symbol.asyncIterator in result)) countErrors(result, rootFieldOf(args));
          },
        };
      },
      onSubscribe({ args }) {
        const field = bounded(subscriptionFields, rootFieldOf(args));
        const via = transportOf(args.contextValue);
        operations.inc({ type: 'subscription' });
        return {
          onSubscribeResult({ result, args: resultArgs }) {
            // Not iterated: errors, or a feed the delivery core serves (an empty result; see `onServe`).
            if (!(Symbol.asyncIterator in result)) {
              countErrors(result, field);
              return;
            }
            subscriptions.inc({ field });
            if (via === 'sse') connections.inc({ transport: 'sse' });
            const context = resultArgs.contextValue as object;
            return {
              onNext({ result: next }) {
                messagesSent.inc({ transport: via });
                countErrors(next, field);
                // Only subscriptions executed on their own get here with a time (each its own group of one);
                // feeds are timed by the fan-out, once per group.
                const time = committedAt.get(context);
                if (time !== undefined) fanOutLatency.observe({ transport: via }, Math.max(0, Date.now() - time) / 1000);
              },
              onEnd() {
                subscriptions.dec({ field });
                if (via === 'sse') connections.dec({ transport: 'sse' });
              },
            };
          },
        };
      },
    }),
    handle(req, res) {
      if (token && !bearerMatches(req.headers.authorization, token)) {
        res.writeHead(401, { 'content-type': 'text/plain; charset=utf-8', 'www-authenticate': 'Bearer realm="metrics"' });
        res.end('metrics need Authorization: Bearer <METRICS_TOKEN>\n');
        return;
      }
      registry.metrics().then(
        (body) => {
          res.writeHead(200, { 'content-type': registry.contentType });
          res.end(body);
        },
        (error: unknown) => {
          logger.error({ err: error }, 'metrics scrape failed');
          res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
          res.end('metrics unavailable; see the server log\n');
        },
      );
    },
    dispose: () => registry.clear(),
  };
}

const stamped = new WeakSet<object>();

/**
 * Wraps the `subscribe` of every `Subscription` field (once per schema, for
 * every app using it) so that, per subscription context, {@link committedAt}
 * holds the commit time of the event about to be executed. Replayed events
 * (committed before the subscription started) and events without an `at`
 * (snapshots) clear it, so they are not timed.
 */
function stampCommitTimes(schema: GraphQLSchema) {
  for (const field of Object.values(schema.getSubscriptionType()?.getFields() ?? {})) {
    const subscribe = field.subscribe;
    if (!subscribe || stamped.has(field)) continue;
    stamped.add(field);
    field.subscribe = async (root, args, context: object, info) => {
      const since = Date.now();
      const source: unknown = await subscribe(root, args, context, info);
      if (!source || typeof source !== 'object' || !(Symbol.asyncIterator in source)) return source;
      // A feed is served by the fan-out, which times its events itself (once per group).
      if (source instanceof Feed) return source;
      const iterator = (source as AsyncIterable<unknown>)[Symbol.asyncIterator]();
      // A plain iterator object, not an async generator: `return()` must reach
      // the source at once even while a `next()` is pending (graphql-ws calls
      // it on complete), or the source's cleanup would wait for another event.
      const timed: AsyncIterableIterator<unknown> = {
        [Symbol.asyncIterator]: () => timed,
        async next() {
          const step = await iterator.next();
          const at = (step.value as { at?: unknown } | undefined)?.at;
          const time = typeof at === 'string' ? Date.parse(at) : Number.NaN;
          if (!step.done && time >= since) committedAt.set(context, time);
          else committedAt.delete(context);
          return step;
        },
        return: (value?: unknown) => iterator.return?.(value) ?? Promise.resolve({ done: true, value }),
        throw: (error?: unknown) => iterator.throw?.(error) ?? Promise.reject(error),
      };
      return timed;
    };
  }
}

/** Constant-time check of an `Authorization: Bearer …` header. */
function bearerMatches(header: string | undefined, token: string): boolean {
  const given = Buffer.from(/^Bearer (.+)$/i.exec(header ?? '')?.[1] ?? '');
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}


/** `pubsub` counting every event published on a stream topic in `metrics`. */
export function countingPublishes(pubsub: RealmPubSub, metrics: Pick<Metrics, 'eventPublished'>): RealmPubSub {
  return {
    ...pubsub,
    async publish(topic, id, payload) {
      await pubsub.publish(topic, id, payload);
      if (topic === 'streamEvent') metrics.eventPublished(id);
    },
  };
}
