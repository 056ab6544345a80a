import { z } from 'zod';

/**
 * Everything `createApp` can be told. Each option documents its default, and
 * `resolveOptions` applies exactly these defaults.
 */
export interface AppOptions {
  /** TCP port; `0` picks a free one (tests). @default 4000 */
  port?: number;
  /** Interface to bind. @default '0.0.0.0' */
  host?: string;
  /** Folder for the embedded SQLite file and the generated JWT secret. @default './data' */
  dataDir?: string;
  /** A `postgres://` URL switches the store to PostgreSQL. @default undefined (SQLite in `dataDir`) */
  databaseUrl?: string;
  /** A `redis://` URL switches pub/sub, presence and simulator leadership to Redis. @default undefined (in-process) */
  redisUrl?: string;
  /** Prefix for every Redis key and channel, so worlds can share one Redis. @default 'realmcast:' */
  redisPrefix?: string;
  /** HS256 secret for tokens. When unset in embedded mode one is generated into `dataDir`. */
  jwtSecret?: string;
  /** Market simulator period in milliseconds; `0` switches it off. @default 1_000 // 1 second */
  marketTickMs?: number;
  /**
   * With Redis: how long the simulator leader's lease lasts without renewal,
   * i.e. the longest the market stands still after the leader dies. The
   * holder renews it every third of this. @default 10_000 // 10 seconds
   */
  leaderLeaseMs?: number;
  /** How long a player stays online after their last connection ends. @default 5_000 // 5 seconds */
  presenceGraceMs?: number;
  /**
   * With Redis: how long a connection's presence hold lasts without renewal,
   * i.e. the longest a crashed instance's connections still count as online
   * (its players go offline at most `presenceTtlMs + presenceGraceMs +
   * presenceSweepMs` after the crash). Each instance renews its holds every
   * third of this. @default 10_000 // 10 seconds
   */
  presenceTtlMs?: number;
  /** With Redis: how often each instance settles games whose holds expired or grace ended. @default 1_000 // 1 second */
  presenceSweepMs?: number;
  /** How long a typing indicator lasts without a new `setTyping(typing: true)`. @default 3_000 // 3 seconds */
  typingTimeoutMs?: number;
  /** Whether `signIn(name)` hands out guest tokens. @default true, false when NODE_ENV=production */
  guestSignIn?: boolean;
  /** Minimum time between two `portfolioChanged` events caused by price moves. @default 500 // ms */
  portfolioCoalesceMs?: number;
  /** Event log retention: entries older than this are pruned… @default 86_400_000 // 24 hours */
  eventRetentionMs?: number;
  /** …except the newest `eventRetentionMinimum` entries of each stream, which are always kept. @default 1_000 */
  eventRetentionMinimum?: number;
  /** graphql-ws keep-alive ping interval. @default 12_000 // 12 seconds */
  keepAliveMs?: number;
  /** pino level. @default 'info' */
  logLevel?: string;
  /** Whether the process runs in production (`NODE_ENV=production`). @default false */
  production?: boolean;
}

export type ResolvedOptions = Required<Omit<AppOptions, 'databaseUrl' | 'redisUrl' | 'jwtSecret'>> &
  Pick<AppOptions, 'databaseUrl' | 'redisUrl' | 'jwtSecret'>;

/** Applies the documented defaults of {@link AppOptions}. */
export function resolveOptions(options: AppOptions): ResolvedOptions {
  const {
    port = 4000,
    host = '0.0.0.0',
    dataDir = './data',
    redisPrefix = 'realmcast:',
    marketTickMs = 1_000,
    leaderLeaseMs = 10_000,
    presenceGraceMs = 5_000,
    presenceTtlMs = 10_000,
    presenceSweepMs = 1_000,
    typingTimeoutMs = 3_000,
    production = false,
    guestSignIn = !production,
    portfolioCoalesceMs = 500,
    eventRetentionMs = 86_400_000,
    eventRetentionMinimum = 1_000,
    keepAliveMs = 12_000,
    logLevel = 'info',
    databaseUrl,
    redisUrl,
    jwtSecret,
  } = options;
  return {
    port, host, dataDir, redisPrefix, marketTickMs, leaderLeaseMs, presenceGraceMs, presenceTtlMs, presenceSweepMs, typingTimeoutMs, production, guestSignIn,
    portfolioCoalesceMs, eventRetentionMs, eventRetentionMinimum, keepAliveMs, logLevel,
    databaseUrl, redisUrl, jwtSecret,
  };
}

const boolean = z.enum(['true', 'false', '1', '0', 'on', 'off']).transform((v) => ['true', '1', 'on'].includes(v));
const millis = z.coerce.number().int().min(0);

const environmentSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65_535).optional(),
  HOST: z.string().min(1).optional(),
  DATA_DIR: z.string().min(1).optional(),
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL').optional(),
  REDIS_URL: z.string().regex(/^rediss?:\/\//, 'must be a redis:// URL').optional(),
  REDIS_PREFIX: z.string().optional(),
  JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  MARKET_TICK_MS: millis.optional(),
  LEADER_LEASE_MS: z.coerce.number().int().min(300).optional(),
  PRESENCE_GRACE_MS: millis.optional(),
  PRESENCE_TTL_MS: z.coerce.number().int().min(300).optional(),
  PRESENCE_SWEEP_MS: z.coerce.number().int().min(50).optional(),
  GUEST_SIGNIN: boolean.optional(),
  PORTFOLIO_COALESCE_MS: millis.optional(),
  EVENT_RETENTION_MS: millis.optional(),
  EVENT_RETENTION_MINIMUM: z.coerce.number().int().min(0).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
  NODE_ENV: z.string().optional(),
});

/**
 * Reads the SPEC's configuration variables. Empty strings count as unset.
 * Throws one readable error listing every bad variable.
 */
export function optionsFromEnvironment(env: NodeJS.ProcessEnv = process.env): AppOptions {
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = environmentSchema.safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`).join('\n');
    throw new Error(`Invalid configuration:\n${problems}`);
  }
  const e = parsed.data;
  const production = e.NODE_ENV === 'production';
  if (production && !e.JWT_SECRET) throw new Error('Invalid configuration:\n  JWT_SECRET: required when NODE_ENV=production');
  // A secret generated into one instance's DATA_DIR would not verify the others' tokens.
  if (e.REDIS_URL && !e.JWT_SECRET) throw new Error('Invalid configuration:\n  JWT_SECRET: required with REDIS_URL (every instance must share it)');
  return {
    port: e.PORT,
    host: e.HOST,
    dataDir: e.DATA_DIR,
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    redisPrefix: e.REDIS_PREFIX,
    jwtSecret: e.JWT_SECRET,
    marketTickMs: e.MARKET_TICK_MS,
    leaderLeaseMs: e.LEADER_LEASE_MS,
    presenceGraceMs: e.PRESENCE_GRACE_MS,
    presenceTtlMs: e.PRESENCE_TTL_MS,
    presenceSweepMs: e.PRESENCE_SWEEP_MS,
    guestSignIn: e.GUEST_SIGNIN,
    portfolioCoalesceMs: e.PORTFOLIO_COALESCE_MS,
    eventRetentionMs: e.EVENT_RETENTION_MS,
    eventRetentionMinimum: e.EVENT_RETENTION_MINIMUM,
    logLevel: e.LOG_LEVEL,
    production,
  };
}
