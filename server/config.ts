import { z } from 'zod';
import { formatRate, parseDuration, parseRate, type Rate } from './limits/durations.js';

/** What a setting says about itself besides its type and default (which its zod schema holds). */
export interface SettingMeta {
  /** The environment variable that sets it. */
  env: string;
  /** One sentence for the README's configuration table. */
  description: string;
  /** How the README shows the default when it is not a plain value (or there is none). */
  defaultText?: string;
  /** Turns the variable's text into the setting's value when its type alone cannot say how. */
  fromEnvironment?: (text: string) => unknown;
}

/** Holds the {@link SettingMeta} of every entry of {@link configSchema}. */
export const settingsRegistry = z.registry<SettingMeta>();

/** One setting: its schema (type, bounds, default) and where it comes from in the environment. */
function setting<T extends z.ZodType>(schema: T, meta: SettingMeta): T {
  settingsRegistry.add(schema as z.ZodType, meta);
  return schema;
}

const millis = () => z.number().int().min(0);
const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/**
 * Every setting of a Realmcast server, in one place: name (the key), environment
 * variable, type, bounds, default and description. {@link AppOptions},
 * {@link optionsFromEnvironment} and the README's configuration table
 * (`npm run docs:config`) are all derived from it, so adding a setting is one entry here.
 */
export const configSchema = z.object({
  port: setting(z.number().int().min(0).max(65_535).default(4_000), {
    env: 'PORT',
    description: 'HTTP/WebSocket port; `0` picks a free one.',
  }),
  host: setting(z.string().min(1).default('0.0.0.0'), { env: 'HOST', description: 'Interface to bind.' }),
  dataDir: setting(z.string().min(1).default('./data'), {
    env: 'DATA_DIR',
    description: 'Folder for the embedded SQLite file and the generated JWT secret.',
  }),
  databaseUrl: setting(z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL').optional(), {
    env: 'DATABASE_URL',
    description: 'A `postgres://` URL switches the store to PostgreSQL.',
    defaultText: 'unset (SQLite in `DATA_DIR`)',
  }),
  redisUrl: setting(z.string().regex(/^rediss?:\/\//, 'must be a redis:// URL').optional(), {
    env: 'REDIS_URL',
    description: 'A `redis://` URL switches pub/sub, presence and simulator leadership to Redis.',
    defaultText: 'unset (in-process)',
  }),
  redisPrefix: setting(z.string().default('realmcast:'), {
    env: 'REDIS_PREFIX',
    description: 'Prefix of every Redis key and channel, so worlds can share one Redis.',
  }),
  jwtSecret: setting(z.string().min(32, 'must be at least 32 characters').optional(), {
    env: 'JWT_SECRET',
    description:
      'HS256 token secret (at least 32 characters). Required when `NODE_ENV=production` or `REDIS_URL` is set (every instance must share it).',
    defaultText: 'generated into `DATA_DIR`',
  }),
  marketTickMs: setting(millis().default(1_000), {
    env: 'MARKET_TICK_MS',
    description: 'Market simulator period in milliseconds; `0` switches it off.',
  }),
  leaderLeaseMs: setting(z.number().int().min(300).default(10_000), {
    env: 'LEADER_LEASE_MS',
    description:
      'Redis mode: how long the simulator leader’s lease lasts without renewal, i.e. the longest the market stands still after the leader dies (renewed every third of it).',
  }),
  presenceGraceMs: setting(millis().default(5_000), {
    env: 'PRESENCE_GRACE_MS',
    description: 'How long a player stays online after their last connection ends.',
  }),
  presenceTtlMs: setting(z.number().int().min(300).default(10_000), {
    env: 'PRESENCE_TTL_MS',
    description:
      'Redis mode: how long a connection’s presence hold lasts without renewal, i.e. the longest a crashed instance’s connections still count as online (renewed every third of it).',
  }),
  presenceSweepMs: setting(z.number().int().min(50).default(1_000), {
    env: 'PRESENCE_SWEEP_MS',
    description: 'Redis mode: how often each instance settles games whose holds expired or grace ended.',
  }),
  typingTimeoutMs: setting(z.number().int().min(1).default(3_000), {
    env: 'TYPING_TIMEOUT_MS',
    description: 'How long a typing indicator lasts without a new `setTyping(typing: true)`.',
  }),
  production: setting(z.boolean().default(false), {
    env: 'NODE_ENV',
    description: '`production` turns off guest sign-in by default and requires `JWT_SECRET`.',
    defaultText: 'unset (not production)',
    fromEnvironment: (text) => text === 'production',
  }),
  guestSignIn: setting(z.boolean().optional(), {
    env: 'GUEST_SIGNIN',
    description: 'Whether `signIn(name)` hands out guest tokens.',
    defaultText: '`true` (`false` when `NODE_ENV=production`)',
  }),
  portfolioCoalesceMs: setting(millis().default(500), {
    env: 'PORTFOLIO_COALESCE_MS',
    description: 'Minimum gap between two `portfolioChanged` events caused by price moves.',
  }),
  pnlRecordMs: setting(millis().default(1_000), {
    env: 'PNL_RECORD_MS',
    description:
      'How often the P&L recorder values changed portfolios, records the equity series and sends `pnlTicked`; `0` records only on demand (tests). The series keeps at most one point per second whatever this is.',
  }),
  pnlCachePlayers: setting(z.number().int().min(1).default(10_000), {
    env: 'PNL_CACHE_PLAYERS',
    description:
      'Players the P&L recorder keeps in memory (last recorded values, last `pnlTicked`), least recently recorded dropped first; a dropped player costs one read when their value changes again.',
  }),
  pnlSecondSeries: setting(z.number().int().min(1).max(21).default(2), {
    env: 'PNL_SECOND_SERIES',
    description:
      'P&L series per player recorded every second at most: the whole account and the strategies traded most recently (in the last 10 minutes); the others at most once a minute (their minute, hour and day rows stay right).',
  }),
  eventRetentionMs: setting(millis().default(86_400_000), {
    env: 'EVENT_RETENTION_MS',
    description: 'Event log entries older than this are pruned (every minute)…',
  }),
  eventRetentionMinimum: setting(z.number().int().min(0).default(1_000), {
    env: 'EVENT_RETENTION_MINIMUM',
    description: '…except the newest this many of each stream, which are always kept.',
  }),
  keepAliveMs: setting(z.number().int().min(1).default(12_000), {
    env: 'KEEP_ALIVE_MS',
    description: 'graphql-ws keep-alive ping interval.',
  }),
  metricsToken: setting(z.string().min(16, 'must be at least 16 characters').optional(), {
    env: 'METRICS_TOKEN',
    description: 'When set, `/metrics` answers only requests with `Authorization: Bearer <METRICS_TOKEN>` (401 otherwise).',
    defaultText: 'unset (`/metrics` open)',
  }),
  logLevel: setting(z.enum(logLevels).default('info'), {
    env: 'LOG_LEVEL',
    description: 'pino level (`debug` logs every operation start and end).',
  }),

  // Abuse limits (README "Security and limits"). Rates are `<calls>/<duration>`, fixed windows, in Redis when REDIS_URL is set.
  /** Counted by `createRateLimits` (`server/limits/rate-limits.ts`), like every rate below; charged per operation by `useOperationRateLimit` (`server/limits/plugins.ts`). */
  operationRatePerPlayer: rateSetting({ points: 300, seconds: 10 }, 'RATE_LIMIT_PLAYER', 'Operations (queries, mutations, subscription starts) per signed-in player, over HTTP, WebSocket and SSE alike.'),
  /** Counted and charged as `operationRatePerPlayer`, keyed by `clientAddress` (`server/limits/http.ts`). */
  operationRatePerAddress: rateSetting({ points: 600, seconds: 10 }, 'RATE_LIMIT_ADDRESS', 'Operations per client address, anonymous callers included.'),
  /** Counted in `server/limits/rate-limits.ts`; charged by the `signIn` mutation (`server/schema/players.ts`). */
  signInRate: rateSetting({ points: 10, seconds: 600 }, 'SIGNIN_RATE', 'Guest `signIn` calls per client address.'),
  /** Counted in `server/limits/rate-limits.ts`; charged by the `createGame` mutation (`server/schema/games.ts`). */
  createGameRate: rateSetting({ points: 10, seconds: 600 }, 'CREATE_GAME_RATE', '`createGame` calls per player.'),
  /** Counted in `server/limits/rate-limits.ts`; charged by `submitChoice` and `resolveTurn` (`server/schema/games.ts`). */
  turnRate: rateSetting({ points: 30, seconds: 60 }, 'TURN_RATE', '`submitChoice` and `resolveTurn` calls per player.'),
  /** Counted in `server/limits/rate-limits.ts`; charged by `limitCodeGuesses` (`server/limits/guards.ts`), which every field taking a join code goes through. */
  joinCodeMissRate: rateSetting({ points: 20, seconds: 600 }, 'JOIN_CODE_MISS_RATE', 'Unknown join codes tried (any field taking a `code`) per player and per client address; then every code lookup is refused until the window ends.'),
  /** A game rule rather than an abuse limit, like the budgets below: applied by `createTurnEconomy` (`server/domain/economy.ts`). */
  turnFullEffectPlayers: setting(z.number().int().min(1).default(2), {
    env: 'TURN_FULL_EFFECT_PLAYERS',
    description: 'Players backing the winning choice for its full effect; fewer scale it down proportionally (a solo turn moves half as much by default).',
  }),
  /** Applied by `createTurnEconomy` (`server/domain/economy.ts`). */
  turnEffectWindowMs: setting(z.number().int().min(1).default(3_600_000), {
    env: 'TURN_EFFECT_WINDOW_MS',
    description: 'The window of the turn-effect budgets below.',
  }),
  /** Applied by `createTurnEconomy` (`server/domain/economy.ts`). */
  turnPriceBudgetPercent: setting(z.number().positive().default(10), {
    env: 'TURN_PRICE_BUDGET_PERCENT',
    description: 'Sum of the absolute price moves, in percent, that turns of all games together may apply to one stock per window.',
  }),
  /** Applied by `createTurnEconomy` (`server/domain/economy.ts`). */
  turnInfluenceBudget: setting(z.number().positive().default(10), {
    env: 'TURN_INFLUENCE_BUDGET',
    description: 'Sum of the absolute influence shifts, in points, that turns of all games together may apply to one faction per window.',
  }),
  /** Enforced by `refuseLargeBody` (`server/limits/http.ts`), before Yoga reads the body. */
  httpBodyLimit: setting(z.number().int().min(1_024).default(1_048_576), {
    env: 'HTTP_BODY_LIMIT',
    description: 'Largest HTTP request body in bytes; a larger one gets 413 before it is read (a body without `Content-Length` gets 411).',
  }),
  /** The four query limits are installed by `useQueryLimits` (`server/limits/plugins.ts`). */
  maxDepth: setting(z.number().int().min(1).default(10), { env: 'MAX_DEPTH', description: 'Deepest selection set of an operation (graphql-armor; introspection excepted).' }),
  maxAliases: setting(z.number().int().min(1).default(30), { env: 'MAX_ALIASES', description: 'Most aliases in one operation (graphql-armor).' }),
  /** Estimated by `costLimitRule` (`server/limits/cost.ts`), installed by `useQueryLimits` (`server/limits/plugins.ts`). */
  maxCost: setting(z.number().int().min(1).default(20_000), { env: 'MAX_COST', description: 'Highest estimated cost of one operation (graphql-armor).' }),
  /** Enforced by `useAnalyticsInFlight` (`server/limits/in-flight.ts`), for the fields marked with its `analyticsExtension`. */
  analyticsInFlight: setting(z.number().int().min(1).default(2), {
    env: 'ANALYTICS_IN_FLIGHT',
    description:
      'Operations reading P&L history (`pnlHistory`, `pnlCalendar`, `drawdown`) running at once per player on one instance; one more is refused with `RATE_LIMITED` (`extensions.limit: "analyticsInFlight"`, HTTP 429).',
  }),
  maxTokens: setting(z.number().int().min(100).default(2_000), { env: 'MAX_TOKENS', description: 'Most tokens in one document, checked while parsing (graphql-armor).' }),
  /** Enforced when signing and verifying by `createTokenIssuer` (`server/auth.ts`); open connections end at a token's `exp` through `server/limits/expiry.ts`. */
  tokenMaxTtlSeconds: setting(z.number().int().min(60).default(2_592_000), {
    env: 'TOKEN_MAX_TTL',
    description: 'Longest lifetime of a token (`30d`, `12h`, or seconds); tokens without `exp` or living longer are refused, and `npm run token` defaults to it.',
    defaultText: '`30d`',
    fromEnvironment: (text) => parseDuration(text) ?? text,
  }),
  graphiql: setting(z.boolean().default(true), { env: 'GRAPHIQL', description: 'Whether `/graphql` serves GraphiQL to browsers.' }),
  /** Enforced by `useIntrospection` (`server/limits/plugins.ts`). */
  introspection: setting(z.boolean().default(true), { env: 'INTROSPECTION', description: 'Whether introspection (`__schema`, `__type`) is answered.' }),
  /** Resolved by `allowedOrigins` and enforced by `corsFor`, `useOriginCheck` and `originAllowed` (`server/limits/plugins.ts`). */
  corsOrigins: setting(z.array(z.string().regex(/^(\*|null|https?:\/\/[^/]+)$/, 'must be origins like https://game.example, or *')).optional(), {
    env: 'CORS_ORIGINS',
    description:
      'Comma-separated browser origins allowed to call the API cross-origin (CORS with credentials, and WebSocket/SSE `Origin` checks); `*` allows any origin without credentials.',
    defaultText: 'any origin without credentials; none when `NODE_ENV=production`',
    fromEnvironment: (text) => text.split(',').map((origin) => origin.trim().replace(/\/$/, '')).filter(Boolean),
  }),
  wsMaxPayload: setting(z.number().int().min(1_024).default(65_536), {
    env: 'WS_MAX_PAYLOAD',
    description: 'Largest WebSocket message in bytes a client may send; a larger one closes the socket with 1009.',
  }),
  maxConnections: setting(z.number().int().min(1).default(10_000), {
    env: 'MAX_CONNECTIONS',
    description: 'Open WebSocket connections per instance; past it an upgrade is refused with HTTP 503 and `Retry-After`.',
  }),
  maxConnectionsPerAddress: setting(z.number().int().min(1).default(50), {
    env: 'MAX_CONNECTIONS_PER_ADDRESS',
    description: 'Open WebSocket connections per client address on one instance; past it an upgrade is refused with HTTP 429 and `Retry-After`.',
  }),
  maxSubscriptionsPerConnection: setting(z.number().int().min(1).default(100), {
    env: 'MAX_SUBSCRIPTIONS_PER_CONNECTION',
    description: 'Operations running at once on one WebSocket; the one over it fails with `TOO_MANY_SUBSCRIPTIONS` (the socket stays open).',
  }),
  maxBufferedBytes: setting(z.number().int().min(1_024).default(1_048_576), {
    env: 'MAX_BUFFERED_BYTES',
    description:
      'Unsent data one consumer may hold back: a WebSocket past it is closed with 1013 (try again later), an SSE stream is ended; the client reconnects and resumes with `after:`.',
  }),
  /** Read by `clientAddress` (`server/limits/http.ts`), the one place a client address is derived. */
  trustProxy: setting(z.number().int().min(0).max(10).default(0), {
    env: 'TRUST_PROXY',
    description: 'How many reverse proxies in front append to `X-Forwarded-For`; per-address limits then use the address they saw. `0` uses the socket’s peer.',
  }),
  /** Read by `clientAddress` (`server/limits/http.ts`) with `trustProxy`. */
  ipv6PrefixLength: setting(z.number().int().min(32).max(128).default(64), {
    env: 'IPV6_PREFIX_LENGTH',
    description: 'Per-address limits count an IPv6 client by its network of this many bits (one subscriber usually gets a whole /64); `128` counts single addresses.',
  }),
});

/** A rate setting: `<calls>/<duration>` in the environment, `{ points, seconds }` as an option. */
function rateSetting(fallback: Rate, env: string, description: string) {
  return setting(z.object({ points: z.number().int().min(1), seconds: z.number().int().min(1) }).default(fallback), {
    env,
    description: `${description} Written \`<calls>/<duration>\` (units s, m, h, d).`,
    defaultText: `\`${formatRate(fallback)}\``,
    fromEnvironment: (text) => parseRate(text) ?? text,
  });
}

/**
 * Everything `createApp` can be told: one optional key per entry of
 * {@link configSchema}, which documents each one and its default.
 */
export type AppOptions = z.input<typeof configSchema>;

/** {@link AppOptions} with every default applied. */
export type ResolvedOptions = z.output<typeof configSchema> & { guestSignIn: boolean };

/** Thrown for settings that break their schema; the message lists every bad one. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

const describeIssues = (issues: readonly z.core.$ZodIssue[], label: (key: string) => string) =>
  `Invalid configuration:\n${issues.map((issue) => `  ${label(String(issue.path[0] ?? ''))}: ${issue.message}`).join('\n')}`;

/**
 * Validates options against {@link configSchema} and applies its defaults.
 * Throws a {@link ConfigError} naming each bad option.
 */
export function resolveOptions(options: AppOptions): ResolvedOptions {
  // Only the schema's own keys: callers pass wider objects (a logger, test helpers).
  const known = Object.fromEntries(Object.keys(configSchema.shape).map((key) => [key, (options as Record<string, unknown>)[key]]));
  const parsed = configSchema.safeParse(known);
  if (!parsed.success) throw new ConfigError(describeIssues(parsed.error.issues, (key) => key));
  const resolved = parsed.data;
  return { ...resolved, guestSignIn: resolved.guestSignIn ?? !resolved.production };
}

/** One row per setting, in schema order: the data behind the README table. */
export function settingsTable(): Array<{ key: string; env: string; defaultText: string; description: string }> {
  return Object.entries(configSchema.shape).map(([key, schema]) => {
    const meta = settingsRegistry.get(schema)!;
    const fallback = schema instanceof z.ZodDefault ? `\`${String(schema.def.defaultValue)}\`` : 'unset';
    return { key, env: meta.env, defaultText: meta.defaultText ?? fallback, description: meta.description };
  });
}

/** The value kind underneath `.default()` / `.optional()`, which decides how a variable's text is read. */
function kindOf(schema: z.ZodType): string {
  let inner: z.ZodType = schema;
  while (inner instanceof z.ZodDefault || inner instanceof z.ZodOptional) inner = inner.unwrap() as z.ZodType;
  return inner.def.type;
}

const booleanWords: Record<string, boolean> = { true: true, '1': true, on: true, false: false, '0': false, off: false };

function fromText(schema: z.ZodType, meta: SettingMeta, text: string): unknown {
  if (meta.fromEnvironment) return meta.fromEnvironment(text);
  switch (kindOf(schema)) {
    case 'number':
      // Number('') is 0 and Number('1e3') is 1000: only plain (optionally negative) decimals count.
      return /^-?\d+(\.\d+)?$/.test(text.trim()) ? Number(text) : text;
    case 'boolean':
      return booleanWords[text.trim().toLowerCase()] ?? text;
    default:
      return text;
  }
}

/**
 * Reads every setting of {@link configSchema} from its environment variable.
 * Empty strings count as unset. Throws one {@link ConfigError} listing every
 * bad variable by name.
 */
export function optionsFromEnvironment(env: NodeJS.ProcessEnv = process.env): AppOptions {
  const options: Record<string, unknown> = {};
  const envOf: Record<string, string> = {};
  for (const [key, schema] of Object.entries(configSchema.shape)) {
    const meta = settingsRegistry.get(schema)!;
    envOf[key] = meta.env;
    const text = env[meta.env];
    if (text !== undefined && text !== '') options[key] = fromText(schema, meta, text);
  }
  const parsed = configSchema.partial().safeParse(options);
  if (!parsed.success) throw new ConfigError(describeIssues(parsed.error.issues, (key) => envOf[key] ?? key));
  const result: AppOptions = Object.fromEntries(Object.keys(options).map((key) => [key, (parsed.data as Record<string, unknown>)[key]]));
  if (result.production && !result.jwtSecret) throw new ConfigError('Invalid configuration:\n  JWT_SECRET: required when NODE_ENV=production');
  // A secret generated into one instance's DATA_DIR would not verify the others' tokens.
  if (result.redisUrl && !result.jwtSecret) throw new ConfigError('Invalid configuration:\n  JWT_SECRET: required with REDIS_URL (every instance must share it)');
  return result;
}
