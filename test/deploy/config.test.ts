import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { withConfigTable } from '../../scripts/config-docs.js';
import { configSchema, ConfigError, optionsFromEnvironment, resolveOptions, settingsTable } from '../../server/config.js';
import { createTokenIssuer } from '../../server/auth.js';
import { errorCode, gql, startServer, tempDataDir } from '../support/harness.js';

const run = promisify(execFile);

const configurationPage = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');

describe('configuration', () => {
  it('should keep the configuration table of docs/configuration.md generated from the schema (npm run docs:config)', () => {
    expect(withConfigTable(configurationPage)).toBe(configurationPage);
  });

  it('should give every setting its own environment variable and a description', () => {
    const rows = settingsTable();
    expect(rows.map((row) => row.key)).toEqual(Object.keys(configSchema.shape));
    expect(new Set(rows.map((row) => row.env)).size).toBe(rows.length);
    for (const row of rows) {
      expect(row.env).toMatch(/^[A-Z][A-Z0-9_]*$/);
      expect(row.description.length).toBeGreaterThan(10);
    }
  });

  it('should apply the documented defaults', () => {
    const resolved = resolveOptions({});
    expect(resolved).toMatchObject({ port: 4_000, host: '0.0.0.0', dataDir: './data', keepAliveMs: 12_000, marketTickMs: 1_000, guestSignIn: true, production: false, logLevel: 'info' });
    expect(resolved.databaseUrl).toBeUndefined();
    expect(resolveOptions({ production: true }).guestSignIn).toBe(false);
    expect(resolveOptions({ production: true, guestSignIn: true }).guestSignIn).toBe(true);
  });

  it('should read every setting from its environment variable', () => {
    const env = {
      PORT: '0', HOST: '127.0.0.1', DATA_DIR: '/tmp/x', DATABASE_URL: 'postgres://db/realm', REDIS_URL: 'redis://r:6379', REDIS_PREFIX: 'w1:',
      JWT_SECRET: 's'.repeat(32), METRICS_TOKEN: 'm'.repeat(16), MARKET_TICK_MS: '0', LEADER_LEASE_MS: '3000', PRESENCE_GRACE_MS: '10', PRESENCE_TTL_MS: '400',
      PRESENCE_SWEEP_MS: '60', TYPING_TIMEOUT_MS: '70', NODE_ENV: 'production', GUEST_SIGNIN: 'on', PORTFOLIO_COALESCE_MS: '80', PNL_RECORD_MS: '85', PNL_CACHE_PLAYERS: '86', PNL_SECOND_SERIES: '3',
      EVENT_RETENTION_MS: '90', EVENT_RETENTION_MINIMUM: '5', KEEP_ALIVE_MS: '2500', LOG_LEVEL: 'warn',
      RATE_LIMIT_PLAYER: '20/1s', RATE_LIMIT_ADDRESS: '40/2m', SIGNIN_RATE: '3/1h', CREATE_GAME_RATE: '4/1d', TURN_RATE: '5/30s', JOIN_CODE_MISS_RATE: '6/10m',
      TURN_FULL_EFFECT_PLAYERS: '3', TURN_EFFECT_WINDOW_MS: '60000', TURN_PRICE_BUDGET_PERCENT: '2.5', TURN_INFLUENCE_BUDGET: '4',
      HTTP_BODY_LIMIT: '65536', MAX_DEPTH: '8', MAX_ALIASES: '9', MAX_COST: '1000', ANALYTICS_IN_FLIGHT: '3', MAX_TOKENS: '500', TOKEN_MAX_TTL: '7d',
      GRAPHIQL: 'off', INTROSPECTION: 'false', CORS_ORIGINS: 'https://game.example, https://admin.example/', TRUST_PROXY: '1', IPV6_PREFIX_LENGTH: '56',
      WS_MAX_PAYLOAD: '2048', MAX_CONNECTIONS: '7', MAX_CONNECTIONS_PER_ADDRESS: '3', MAX_SUBSCRIPTIONS_PER_CONNECTION: '4', MAX_BUFFERED_BYTES: '4096',
    };
    expect(Object.keys(env).sort()).toEqual(settingsTable().map((row) => row.env).sort());
    expect(optionsFromEnvironment(env)).toEqual({
      port: 0, host: '127.0.0.1', dataDir: '/tmp/x', databaseUrl: 'postgres://db/realm', redisUrl: 'redis://r:6379', redisPrefix: 'w1:',
      jwtSecret: 's'.repeat(32), marketTickMs: 0, leaderLeaseMs: 3_000, presenceGraceMs: 10, presenceTtlMs: 400, presenceSweepMs: 60,
      typingTimeoutMs: 70, production: true, guestSignIn: true, portfolioCoalesceMs: 80, pnlRecordMs: 85, pnlCachePlayers: 86, pnlSecondSeries: 3, eventRetentionMs: 90, eventRetentionMinimum: 5,
      keepAliveMs: 2_500, metricsToken: 'm'.repeat(16), logLevel: 'warn',
      operationRatePerPlayer: { points: 20, seconds: 1 }, operationRatePerAddress: { points: 40, seconds: 120 }, signInRate: { points: 3, seconds: 3_600 },
      createGameRate: { points: 4, seconds: 86_400 }, turnRate: { points: 5, seconds: 30 }, joinCodeMissRate: { points: 6, seconds: 600 },
      turnFullEffectPlayers: 3, turnEffectWindowMs: 60_000, turnPriceBudgetPercent: 2.5, turnInfluenceBudget: 4,
      httpBodyLimit: 65_536, maxDepth: 8, maxAliases: 9, maxCost: 1_000, analyticsInFlight: 3, maxTokens: 500, tokenMaxTtlSeconds: 604_800,
      graphiql: false, introspection: false, corsOrigins: ['https://game.example', 'https://admin.example'], trustProxy: 1, ipv6PrefixLength: 56,
      wsMaxPayload: 2_048, maxConnections: 7, maxConnectionsPerAddress: 3, maxSubscriptionsPerConnection: 4, maxBufferedBytes: 4_096,
    });
    expect(optionsFromEnvironment({ PORT: '', NODE_ENV: 'development' })).toEqual({ production: false });
  });

  it('should name every bad variable in one error', () => {
    const read = () => optionsFromEnvironment({ PORT: 'eighty', KEEP_ALIVE_MS: '-5', GUEST_SIGNIN: 'maybe', DATABASE_URL: 'mysql://x', LOG_LEVEL: 'loud', MARKET_TICK_MS: '1e3' });
    expect(read).toThrow(ConfigError);
    const message = (() => { try { read(); } catch (error) { return (error as Error).message; } })()!;
    for (const name of ['PORT', 'KEEP_ALIVE_MS', 'GUEST_SIGNIN', 'DATABASE_URL', 'LOG_LEVEL', 'MARKET_TICK_MS']) expect(message).toContain(`  ${name}: `);
  });

  it('should require a shared JWT_SECRET in production and with Redis', () => {
    expect(() => optionsFromEnvironment({ NODE_ENV: 'production' })).toThrow(/JWT_SECRET: required when NODE_ENV=production/);
    expect(() => optionsFromEnvironment({ REDIS_URL: 'redis://127.0.0.1:6379' })).toThrow(/JWT_SECRET: required with REDIS_URL/);
  });

  it('should refuse bad createApp options by name', () => {
    expect(() => resolveOptions({ keepAliveMs: 0 })).toThrow(/keepAliveMs: /);
    expect(() => resolveOptions({ port: 70_000 })).toThrow(/port: /);
  });

  it('should ping WebSocket clients at the KEEP_ALIVE_MS interval taken from the environment', async () => {
    const server = await startServer(optionsFromEnvironment({ KEEP_ALIVE_MS: '40' }));
    const socket = new WebSocket(server.url.replace('http', 'ws'), 'graphql-transport-ws');
    try {
      // graphql-ws keeps alive with WebSocket ping frames; the default (12 s) would time this test out.
      const pinged = await new Promise<boolean>((resolve, reject) => {
        socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init' })));
        socket.on('ping', () => resolve(true));
        socket.on('error', reject);
      });
      expect(pinged).toBe(true);
    } finally {
      socket.close();
    }
  });
});

/** Per environment variable: values it must refuse (on or just past its bounds). Free text variables refuse nothing. */
const refused: Record<string, string[]> = {
  PORT: ['-1', '65536', '80.5', 'eighty'],
  HOST: [],
  DATA_DIR: [],
  DATABASE_URL: ['mysql://db/realm', 'localhost:5432'],
  REDIS_URL: ['http://r:6379', 'r:6379'],
  REDIS_PREFIX: [],
  JWT_SECRET: ['s'.repeat(31)],
  MARKET_TICK_MS: ['-1', '1.5', '1e3', 'fast'],
  LEADER_LEASE_MS: ['299', 'long'],
  PRESENCE_GRACE_MS: ['-1', '0x10'],
  PRESENCE_TTL_MS: ['299'],
  PRESENCE_SWEEP_MS: ['49'],
  TYPING_TIMEOUT_MS: ['0'],
  NODE_ENV: [],
  GUEST_SIGNIN: ['maybe', 'yes'],
  PORTFOLIO_COALESCE_MS: ['-1'],
  PNL_RECORD_MS: ['-1', '1s'],
  PNL_CACHE_PLAYERS: ['0', '1.5'],
  PNL_SECOND_SERIES: ['0', '22', '1.5'],
  METRICS_TOKEN: ['m'.repeat(15)],
  EVENT_RETENTION_MS: ['-1', '1d'],
  EVENT_RETENTION_MINIMUM: ['-1', '2.5'],
  KEEP_ALIVE_MS: ['0'],
  LOG_LEVEL: ['loud', 'INFO'],
  RATE_LIMIT_PLAYER: ['lots', '0/10s', '10', '10/ever'],
  RATE_LIMIT_ADDRESS: ['10/0s'],
  SIGNIN_RATE: ['1.5/1m'],
  CREATE_GAME_RATE: ['10/10m/1'],
  TURN_RATE: ['-1/1m'],
  JOIN_CODE_MISS_RATE: [''.padEnd(3, '/')],
  TURN_FULL_EFFECT_PLAYERS: ['0', '1.5'],
  TURN_EFFECT_WINDOW_MS: ['0'],
  TURN_PRICE_BUDGET_PERCENT: ['0', '-1'],
  TURN_INFLUENCE_BUDGET: ['0'],
  HTTP_BODY_LIMIT: ['1023', '1MB'],
  MAX_DEPTH: ['0'],
  MAX_ALIASES: ['0'],
  MAX_COST: ['0'],
  ANALYTICS_IN_FLIGHT: ['0', '1.5'],
  MAX_TOKENS: ['99'],
  TOKEN_MAX_TTL: ['59', 'forever', '30 days'],
  GRAPHIQL: ['maybe'],
  INTROSPECTION: ['yes'],
  CORS_ORIGINS: ['game.example', 'https://game.example/path'],
  TRUST_PROXY: ['-1', '11'],
  IPV6_PREFIX_LENGTH: ['31', '129', '64.5'],
  WS_MAX_PAYLOAD: ['1023', '64k'],
  MAX_CONNECTIONS: ['0'],
  MAX_CONNECTIONS_PER_ADDRESS: ['0', '1.5'],
  MAX_SUBSCRIPTIONS_PER_CONNECTION: ['0'],
  MAX_BUFFERED_BYTES: ['1023'],
};
/** The values right on the bounds, which must be accepted. */
const accepted: Record<string, string> = {
  PORT: '65535', JWT_SECRET: 's'.repeat(32), MARKET_TICK_MS: '0', LEADER_LEASE_MS: '300', PRESENCE_GRACE_MS: '0', PRESENCE_TTL_MS: '300',
  PRESENCE_SWEEP_MS: '50', TYPING_TIMEOUT_MS: '1', GUEST_SIGNIN: 'off', PORTFOLIO_COALESCE_MS: '0', EVENT_RETENTION_MS: '0',
  EVENT_RETENTION_MINIMUM: '0', KEEP_ALIVE_MS: '1', PNL_RECORD_MS: '0', PNL_CACHE_PLAYERS: '1', PNL_SECOND_SERIES: '21', ANALYTICS_IN_FLIGHT: '1', METRICS_TOKEN: 'm'.repeat(16), LOG_LEVEL: 'silent', RATE_LIMIT_PLAYER: '1/1s', HTTP_BODY_LIMIT: '1024', TOKEN_MAX_TTL: '60',
  MAX_TOKENS: '100', TRUST_PROXY: '10', IPV6_PREFIX_LENGTH: '32', WS_MAX_PAYLOAD: '1024', MAX_CONNECTIONS: '1', MAX_BUFFERED_BYTES: '1024', CORS_ORIGINS: '*', TURN_PRICE_BUDGET_PERCENT: '0.5', GRAPHIQL: 'on', REDIS_PREFIX: '', DATABASE_URL: 'postgresql://db/realm', REDIS_URL: 'rediss://r:6380',
};

describe('configuration: each variable on its bounds', () => {
  it('should list every environment variable here, so a new one gets its bounds tested', () => {
    expect(Object.keys(refused).sort()).toEqual(settingsTable().map((row) => row.env).sort());
  });

  it.each(Object.entries(refused).flatMap(([name, values]) => values.map((value) => [name, value])))(
    'should refuse %s=%j with a message naming it',
    (name, value) => {
      const env = { [name]: value, JWT_SECRET: name === 'JWT_SECRET' ? value : 's'.repeat(32) };
      let message = '';
      try {
        optionsFromEnvironment(env);
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        message = (error as Error).message;
      }
      expect(message.split('\n')).toEqual(['Invalid configuration:', expect.stringMatching(new RegExp(`^  ${name}: \\w.{5,}`))]);
      expect(message).not.toMatch(/undefined|\[object/);
    },
  );

  it('should accept the values right on the bounds', () => {
    for (const [name, value] of Object.entries(accepted)) {
      expect(() => optionsFromEnvironment({ [name]: value, JWT_SECRET: 's'.repeat(32) }), `${name}=${value}`).not.toThrow();
    }
  });

  it('should start a production server with guest sign-in off and the configured secret, unless GUEST_SIGNIN says otherwise', async () => {
    const secret = 'p'.repeat(40);
    const env = { NODE_ENV: 'production', JWT_SECRET: secret, DATA_DIR: tempDataDir(), PORT: '0', MARKET_TICK_MS: '0', LOG_LEVEL: 'silent' };
    const server = await startServer(optionsFromEnvironment(env));
    expect(errorCode(await gql(server.url, 'mutation { signIn(name: "Eve") { token } }'))).toBe('FORBIDDEN');
    // Tokens are signed with JWT_SECRET, not a secret generated into DATA_DIR.
    const token = await createTokenIssuer(secret).sign({ id: 'ops', name: 'ops', role: 'GAME_MASTER', scopes: [] });
    expect((await gql(server.url, '{ me { name role } }', {}, token)).data).toEqual({ me: { name: 'ops', role: 'GAME_MASTER' } });
    expect(existsSync(path.join(env.DATA_DIR, 'jwt-secret'))).toBe(false);
    const open = await startServer(optionsFromEnvironment({ ...env, DATA_DIR: tempDataDir(), GUEST_SIGNIN: 'on' }));
    expect((await gql(open.url, 'mutation { signIn(name: "Eve") { token } }')).errors).toBeUndefined();
    const development = await startServer(optionsFromEnvironment({ ...env, NODE_ENV: 'development', DATA_DIR: tempDataDir() }));
    expect((await gql(development.url, 'mutation { signIn(name: "Eve") { token } }')).errors).toBeUndefined();
  });

  it('should stop `server/main.ts` with exit code 1 and a message naming each bad variable', async () => {
    const child = await run('npx', ['tsx', 'server/main.ts'], { env: { ...process.env, PORT: 'eighty', REDIS_URL: 'localhost', NODE_ENV: 'production' } }).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code: number; stderr: string }) => error,
    );
    expect(child.code).toBe(1);
    expect(child.stderr).toContain('Invalid configuration:');
    expect(child.stderr).toContain('  PORT: ');
    expect(child.stderr).toContain('  REDIS_URL: must be a redis:// URL');
    expect(child.stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
  });
});
