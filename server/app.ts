import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import type { ExecutionArgs, GraphQLError } from 'graphql';
import { createYoga, maskError, useReadinessCheck, type Plugin } from 'graphql-yoga';
import { bearerToken, createTokenIssuer, loadOrCreateSecret, type TokenIssuer, type Viewer } from './auth.js';
import type { Context } from './builder.js';
import { resolveOptions, type AppOptions, type ResolvedOptions } from './config.js';
import { createDashboardHandler } from './dashboard.js';
import { createDelivery, type Delivery } from './delivery/fanout.js';
import type { DeliveryHooks } from './delivery/subscriber.js';
import { createMarketSimulator } from './domain/market.js';
import { seedWorld } from './domain/seed.js';
import { createEventLog, type EventLog } from './events/event-log.js';
import { createLeaderLease } from './events/leadership.js';
import { createRealmPubSub, type RealmPubSub } from './events/pubsub.js';
import { connectRedis, type RedisConnections } from './events/redis-connections.js';
import { createRedisPubSub } from './events/redis-pubsub.js';
import { graphiqlOptions } from './graphiql.js';
import { useTokenExpiry } from './limits/expiry.js';
import { clientAddress, createStaticPage, refuseLargeBody } from './limits/http.js';
import { useAnalyticsInFlight } from './limits/in-flight.js';
import { allowedOrigins, corsFor, useCsrf, useIntrospection, useOperationRateLimit, useOriginCheck, useQueryLimits } from './limits/plugins.js';
import { createRateLimits, type RateLimits } from './limits/rate-limits.js';
import { createLogger, type Logger } from './logger.js';
import { countingPublishes, createMetrics, type Metrics } from './metrics.js';
import { createRedisPresenceTracker } from './presence/redis.js';
import { createRedisTypingLimit } from './limits/redis-typing-limit.js';
import { readinessCheck } from './readiness.js';
import { schema } from './schema/index.js';
import { createServices, type Services } from './services.js';
import { createStore, type Store } from './store/store.js';
import type { WebSocketInitialContext } from './transport/operations.js';
import { createSseAdapter } from './transport/sse.js';
import { createWebSocketTransport } from './transport/ws.js';

export interface App {
  /** Base URL of the GraphQL endpoint, e.g. `http://127.0.0.1:4000/graphql`. */
  url: string;
  /** The port actually bound (useful with `port: 0`). */
  port: number;
  /** Domain services, for tests and tools running in the same process. */
  services: Services;
  /** Signs tokens with this instance's secret. */
  tokens: TokenIssuer;
  /** This instance's Prometheus metrics (served on `/metrics`). */
  metrics: Metrics;
  /** The delivery core's shared execution (groups and executions, for tests and metrics). */
  fanout: Pick<Delivery, 'stats'>;
  /**
   * Graceful shutdown: stops accepting, completes every subscription (WebSocket
   * clients get close code 1001), stops the simulator, presence and typing
   * timers, and closes the store.
   */
  dispose(): Promise<void>;
}

export interface CreateAppOptions extends AppOptions {
  /** Logger to use instead of a new pino logger at `logLevel`. */
  logger?: Logger;
  /** Current time in epoch milliseconds for trades and P&L (tests drive a trading day with it). @default Date.now */
  clock?: () => number;
  /** Called with the SQL of every statement the store runs (tests count statements with it). @default nothing is called */
  onQuery?: (sql: string) => void;
}

/** Where the GraphQL endpoint lives, for HTTP, WebSocket and SSE alike. */
export const graphqlPath = '/graphql';

/** Builds and starts one Realmcast server. */
export async function createApp(options: CreateAppOptions = {}): Promise<App> {
  const config = resolveOptions(options);
  const logger = options.logger ?? createLogger(config.logLevel);
  const core = await openCore(config, options, logger);
  const { store, metrics, pubsub, events, limits, tokens, services } = core;

  const viewerFromToken = async (token: string | null): Promise<Viewer | null> => (token ? tokens.verify(token) : null);

  const origins = allowedOrigins(config.corsOrigins, config.production);
  const maskInternal = (error: unknown, message: string, isDev?: boolean) => {
    const masked = maskError(error, message, isDev);
    if (masked !== error) logger.error({ err: error }, 'internal error (masked)');
    return masked;
  };
  const logging = createOperationLogging(logger);
  const delivery = createDelivery({
    events,
    logger,
    metrics,
    maskError: (error) => maskInternal(error, 'Unexpected error.') as GraphQLError,
    pull: createSseAdapter({ maxBufferedBytes: config.maxBufferedBytes, metrics }),
    hooks: [{ onServe: metrics.onServe }, logging.hooks],
  });

  const yoga = createYoga<WebSocketInitialContext, Context>({
    schema,
    graphqlEndpoint: graphqlPath,
    landingPage: false,
    logging: logger,
    // GraphiQL is served below, compressed once; with GRAPHIQL=false Yoga refuses to render it too.
    graphiql: config.graphiql ? graphiqlOptions : false,
    cors: corsFor(origins),
    maskedErrors: { maskError: maskInternal },
    context: async ({ request, req, wsViewer, address }): Promise<Context> => ({
      viewer: wsViewer !== undefined ? wsViewer : await viewerFromToken(bearerToken(request.headers.get('authorization'))),
      services,
      address: address ?? (req ? clientAddress(req, config.trustProxy, config.ipv6PrefixLength) : 'unknown'),
    }),
    plugins: [
      useOriginCheck(origins),
      useCsrf(),
      // The cost of a range ending now is measured on the clock the analytics read with.
      ...useQueryLimits({ ...config, clock: options.clock }),
      useIntrospection(config.introspection),
      useTokenExpiry(),
      useOperationRateLimit(limits),
      logging.plugin,
      useReadinessCheck({
        endpoint: '/ready',
        check: readinessCheck({ store, pubsub }),
      }),
      metrics.plugin(),
      delivery.plugin,
      // Last: no later plugin may stop an execution it counted (the slot is freed when execution settles).
      useAnalyticsInFlight(config.analyticsInFlight),
    ],
  });

  const server: Server = createServer(createRequestHandler(config, { yoga, metrics, logger }));
  const webSockets = createWebSocketTransport({
    server,
    path: graphqlPath,
    yoga,
    delivery,
    tokens,
    logger,
    keepAliveMs: config.keepAliveMs,
    onConnection: (socket) => {
      metrics.connections.inc({ transport: 'ws' });
      socket.once('close', () => metrics.connections.dec({ transport: 'ws' }));
    },
    maxPayload: config.wsMaxPayload,
    maxConnections: config.maxConnections,
    maxConnectionsPerAddress: config.maxConnectionsPerAddress,
    maxSubscriptionsPerConnection: config.maxSubscriptionsPerConnection,
    maxBufferedBytes: config.maxBufferedBytes,
    allowedOrigins: origins,
    trustProxy: config.trustProxy,
    ipv6PrefixLength: config.ipv6PrefixLength,
    onLimit: (limit) => (limit === 'slow-consumer' ? metrics.slowConsumerDrops.inc({ transport: 'ws' }) : metrics.limited(limit)),
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}${graphqlPath}`;

  const jobs = await startBackgroundJobs(config, core, logger);

  logger.info({ url, store: store.dialect, pubsub: config.redisUrl ? 'redis' : 'in-process', marketTickMs: config.marketTickMs }, 'Realmcast listening');

  let disposing: Promise<void> | undefined;
  return {
    url,
    port,
    services,
    tokens,
    metrics,
    fanout: delivery,
    dispose: () =>
      (disposing ??= (async () => {
        await jobs.dispose();
        await webSockets.dispose();
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        // After every subscription ended (so presence holds are released).
        await core.dispose();
        logger.info('Realmcast stopped');
      })()),
  };
}

/**
 * The HTTP side of an instance, in the order requests are told apart:
 * `/metrics`, bodies over the limit (refused before they are read), the
 * GraphiQL page for browsers, GraphQL over HTTP and SSE (Yoga), and the
 * dashboard's static files for the rest.
 */
function createRequestHandler(
  config: ResolvedOptions,
  { yoga, metrics, logger }: { yoga: (req: IncomingMessage, res: ServerResponse) => unknown; metrics: Metrics; logger: Logger },
): (req: IncomingMessage, res: ServerResponse) => void {
  const dashboard = createDashboardHandler();
  const graphiql = createStaticPage(() => renderGraphiQL(graphiqlOptions));
  const servesGraphiQL = (req: IncomingMessage) =>
    config.graphiql &&
    (req.method === 'GET' || req.method === 'HEAD') &&
    new URL(req.url ?? '/', 'http://x').pathname.replace(/\/$/, '') === graphqlPath &&
    String(req.headers.accept).includes('text/html');
  return (req: IncomingMessage, res: ServerResponse) => {
    logAccess(logger, req, res);
    if (req.method === 'GET' && req.url?.split('?', 1)[0] === '/metrics') return metrics.handle(req, res);
    if (refuseLargeBody(req, res, config.httpBodyLimit)) return;
    if (servesGraphiQL(req)) {
      graphiql(req, res).catch((error) => {
        logger.error({ err: error }, 'GraphiQL page failed');
        if (!res.headersSent) res.writeHead(500).end();
      });
      return;
    }
    if (req.url?.startsWith(graphqlPath) || (req.method !== 'GET' && req.method !== 'HEAD')) return yoga(req, res);
    dashboard(req, res, () => yoga(req, res));
  };
}

/**
 * What every part of an instance works with: storage, metrics, pub/sub and
 * the event log, the domain services, limits and tokens, and (scaled out)
 * the Redis connections they share.
 */
interface Core {
  store: Store;
  metrics: Metrics;
  /** The instance's Redis connections; undefined without `REDIS_URL`. */
  redis: RedisConnections | undefined;
  pubsub: RealmPubSub;
  events: EventLog;
  limits: RateLimits;
  tokens: TokenIssuer;
  services: Services;
  /** Closes the services (presence, typing timers), then pub/sub, Redis and the store, each after its users. */
  dispose(): Promise<void>;
}

/** Opens the store and Redis, seeds the world once, and builds the services over them. */
async function openCore(config: ResolvedOptions, options: CreateAppOptions, logger: Logger): Promise<Core> {
  const onConnectionError = (error: Error) => logger.warn({ err: error }, 'database connection lost');
  const store = await createStore(
    config.databaseUrl
      ? { databaseUrl: config.databaseUrl, onConnectionError, onQuery: options.onQuery }
      : { dataDir: config.dataDir, onQuery: options.onQuery },
  );
  const metrics = createMetrics({ schema, token: config.metricsToken, logger });
  // Scaled out: the instance's two Redis connections, shared by every user below and closed after them.
  const redis = config.redisUrl ? await connectRedis({ url: config.redisUrl, logger }) : undefined;
  const pubsub = countingPublishes(
    redis ? createRedisPubSub({ redis, prefix: config.redisPrefix }) : createRealmPubSub({ prefix: config.redisPrefix }),
    metrics,
  );
  const events = createEventLog({
    store,
    pubsub,
    logger,
    retention: { maxAgeMs: config.eventRetentionMs, keepNewest: config.eventRetentionMinimum },
  });
  await events.transact(async (tx, append) => {
    await store.lockExclusive(tx, 'seed'); // instances starting together seed one after the other: only the first finds it empty
    return seedWorld(tx, append);
  });

  const typingLimit = redis
    ? createRedisTypingLimit({
        redis: redis.commands,
        prefix: config.redisPrefix,
        onError: (error) => logger.warn({ err: error }, 'typing rate limit unavailable; counting per instance'),
      })
    : undefined;
  const limits = createRateLimits({
    redis: redis?.commands,
    prefix: config.redisPrefix,
    rates: {
      operationPlayer: config.operationRatePerPlayer,
      operationAddress: config.operationRatePerAddress,
      signIn: config.signInRate,
      createGame: config.createGameRate,
      turn: config.turnRate,
      joinCodeMiss: config.joinCodeMissRate,
    },
  });
  const tokens = createTokenIssuer(loadOrCreateSecret({ jwtSecret: config.jwtSecret, dataDir: config.dataDir }), {
    maxTtlSeconds: config.tokenMaxTtlSeconds,
  });
  const services = createServices({
    store,
    events,
    pubsub,
    tokens,
    logger,
    guestSignIn: config.guestSignIn,
    portfolioCoalesceMs: config.portfolioCoalesceMs,
    pnlCachePlayers: config.pnlCachePlayers,
    pnlSecondSeries: config.pnlSecondSeries,
    tokenMaxTtlSeconds: config.tokenMaxTtlSeconds,
    presenceGraceMs: config.presenceGraceMs,
    typingTimeoutMs: config.typingTimeoutMs,
    // Scaled out, presence lives in Redis so every instance sees every connection.
    presenceTracker: redis
      ? (hooks) =>
          createRedisPresenceTracker({
            ...hooks,
            redis: redis.commands,
            prefix: config.redisPrefix,
            graceMs: config.presenceGraceMs,
            ttlMs: config.presenceTtlMs,
            sweepIntervalMs: config.presenceSweepMs,
          })
      : undefined,
    typingLimit,
    clock: options.clock,
    limits,
    economy: {
      fullEffectPlayers: config.turnFullEffectPlayers,
      windowMs: config.turnEffectWindowMs,
      priceBudgetPercent: config.turnPriceBudgetPercent,
      influenceBudget: config.turnInfluenceBudget,
    },
  });


  return {
    store,
    metrics,
    redis,
    pubsub,
    events,
    limits,
    tokens,
    services,
    async dispose() {
      await services.dispose();
      await pubsub.dispose();
      // Last of Redis: every user above is done with the connections.
      await redis?.dispose();
      await store.dispose();
      metrics.dispose();
    },
  };
}

/**
 * Starts the work that runs beside requests: the market simulator and the
 * P&L recorder (scaled out, each on the one instance holding its lease) and
 * the minutely housekeeping (pruning the log, histories, order keys).
 * Resolves with what stops them all.
 */
async function startBackgroundJobs(config: ResolvedOptions, core: Core, logger: Logger): Promise<{ dispose(): Promise<void> }> {
  const { store, events, services, redis } = core;
  const startSimulator = () =>
    createMarketSimulator({
      store,
      market: services.market,
      events,
      periodMs: config.marketTickMs,
      onError: (error) => logger.error({ err: error }, 'market tick failed'),
    });
  // Scaled out, exactly one instance (the lease holder) moves the market.
  const simulator =
    redis && config.marketTickMs > 0
      ? createLeaderLease({
          redis: redis.commands,
          location: redis.location,
          key: `${config.redisPrefix}leader:market-simulator`,
          name: 'market simulator',
          ttlMs: config.leaderLeaseMs,
          logger,
          lead: startSimulator,
        })
      : startSimulator();
  // One recorder values portfolios and writes the P&L series; scaled out, the lease holder.
  const startRecorder = () => services.analytics.startRecorder({ periodMs: config.pnlRecordMs });
  const recorder = redis
    ? createLeaderLease({
        redis: redis.commands,
        location: redis.location,
        key: `${config.redisPrefix}leader:pnl-recorder`,
        name: 'P&L recorder',
        ttlMs: config.leaderLeaseMs,
        logger,
        lead: () => {
          const started = startRecorder();
          return { dispose: async () => (await started).dispose() };
        },
      })
    : await startRecorder();
  const housekeeping = setInterval(() => {
    Promise.all([events.prune(), services.market.pruneHistory(), services.analytics.prune(), services.economy.prune(), services.portfolios.pruneOrderKeys()])
      .then(([pruned]) => pruned && logger.info({ pruned }, 'event log pruned'))
      .catch((error) => logger.error({ err: error }, 'housekeeping failed'));
  }, 60_000);
  housekeeping.unref();


  return {
    async dispose() {
      clearInterval(housekeeping);
      await simulator.dispose();
      await recorder.dispose();
    },
  };
}

/**
 * One structured line per HTTP request once its response is finished (for
 * SSE and WebSocket upgrades: when the stream ends). The query string is left
 * out: it can carry a whole GraphQL document or variables.
 */
function logAccess(logger: Logger, req: IncomingMessage, res: ServerResponse) {
  const started = performance.now();
  res.once('close', () => {
    logger.info(
      {
        method: req.method,
        path: (req.url ?? '').split('?', 1)[0]!.slice(0, 200),
        status: res.statusCode,
        ms: Math.round(performance.now() - started),
        bytes: Number(res.getHeader('content-length')) || undefined,
      },
      'request',
    );
  });
}

/**
 * One debug line when an operation or subscription starts and one when it
 * ends: an envelop plugin, and a delivery hook for the subscriptions the
 * delivery core writes itself (envelop never iterates those, so never sees
 * them end).
 */
function createOperationLogging(logger: Logger): { plugin: Plugin; hooks: DeliveryHooks } {
  // Nothing to follow below debug: a running subscription then holds nothing for its log line.
  if (!logger.isLevelEnabled('debug')) return { plugin: {}, hooks: {} };
  const describe = (args: ExecutionArgs) => ({
    operation: args.operationName ?? undefined,
    viewer: (args.contextValue as Context).viewer?.id,
  });
  return {
    plugin: {
      onExecute({ args }) {
        const started = performance.now();
        logger.debug(describe(args), 'operation start');
        return {
          onExecuteDone: () => logger.debug({ ...describe(args), ms: Math.round(performance.now() - started) }, 'operation end'),
        };
      },
      onSubscribe({ args }) {
        const description = describe(args);
        logger.debug(description, 'subscription start');
        return {
          onSubscribeResult: () => ({ onEnd: logSubscriptionEnd(logger, description) }),
        };
      },
    },
    hooks: { onServe: (args) => logSubscriptionEnd(logger, describe(args)) },
  };
}

/**
 * What logs the end of a subscription; a helper of its own so that what
 * waits for the end holds the description only, not the operation's context.
 */
function logSubscriptionEnd(logger: Logger, description: object): () => void {
  return () => logger.debug(description, 'subscription end');
}
