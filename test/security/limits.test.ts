import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { SignJWT, decodeJwt } from 'jose';
import { describe, expect, it } from 'vitest';
import { createTokenIssuer } from '../../server/auth.js';
import { optionsFromEnvironment, resolveOptions } from '../../server/config.js';
import { excerpt } from '../../server/errors.js';
import { WorldFeedDocument } from '../../client/generated/graphql.js';
import type { ResubscribeEvent } from '../../client/index.js';
import { realmcastClient } from '../support/client-harness.js';
import { collect, errorCode, eventually, gql, listening, startServer, tempDataDir } from '../support/harness.js';

const run = promisify(execFile);

describe('limit settings', () => {
  it('should read every limit from the environment and refuse malformed ones by name', () => {
    const options = resolveOptions(
      optionsFromEnvironment({
        RATE_LIMIT_PLAYER: '20/1s',
        SIGNIN_RATE: '3/1h',
        TOKEN_MAX_TTL: '7d',
        CORS_ORIGINS: 'https://game.example, https://admin.example/',
        GRAPHIQL: 'off',
        INTROSPECTION: 'false',
        HTTP_BODY_LIMIT: '65536',
        TURN_PRICE_BUDGET_PERCENT: '2.5',
      }),
    );
    expect(options).toMatchObject({
      operationRatePerPlayer: { points: 20, seconds: 1 },
      operationRatePerAddress: { points: 600, seconds: 10 },
      signInRate: { points: 3, seconds: 3_600 },
      tokenMaxTtlSeconds: 604_800,
      corsOrigins: ['https://game.example', 'https://admin.example'],
      graphiql: false,
      introspection: false,
      httpBodyLimit: 65_536,
      turnPriceBudgetPercent: 2.5,
    });
    expect(() => optionsFromEnvironment({ SIGNIN_RATE: 'lots', TOKEN_MAX_TTL: 'forever' })).toThrow(/SIGNIN_RATE[\s\S]*TOKEN_MAX_TTL/);
  });

  it('should quote client input in errors only as a short escaped prefix', () => {
    expect(excerpt('\u001b[31mred')).toBe('"\\u001b[31mred"');
    expect(excerpt('x'.repeat(1_000))).toBe(`"${'x'.repeat(32)}"…`);
  });
});

describe('token lifetime', () => {
  const secret = 'a-test-secret-that-is-long-enough-0123456789';
  const viewer = { id: 'p1', name: 'Ada', role: 'PLAYER' as const, scopes: [] };

  it('should sign for TOKEN_MAX_TTL by default and refuse to sign longer', async () => {
    const issuer = createTokenIssuer(secret, { maxTtlSeconds: 3_600 });
    const { exp, iat } = decodeJwt(await issuer.sign(viewer));
    expect(exp! - iat!).toBe(3_600);
    await expect(issuer.sign(viewer, '2h')).rejects.toThrow(/TOKEN_MAX_TTL/);
  });

  it('should refuse a token without exp, or living longer than TOKEN_MAX_TTL, with UNAUTHENTICATED', async () => {
    const app = await startServer({ jwtSecret: secret, tokenMaxTtlSeconds: 3_600 });
    const key = new TextEncoder().encode(secret);
    const claims = { name: 'Ada', role: 'PLAYER' };
    const noExp = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject('p1').setIssuedAt().sign(key);
    const tooLong = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject('p1').setIssuedAt().setExpirationTime('30d').sign(key);
    const fine = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject('p1').setIssuedAt().setExpirationTime('1h').sign(key);
    for (const token of [noExp, tooLong]) {
      const result = await gql(app.url, '{ me { id } }', {}, token);
      expect(result.status).toBe(401);
      expect(errorCode(result)).toBe('UNAUTHENTICATED');
    }
    expect((await gql(app.url, '{ me { id } }', {}, fine)).data).toEqual({ me: { id: 'p1' } });
  });

  it('should print tokens from the CLI that expire after TOKEN_MAX_TTL, and refuse a longer --expires', async () => {
    const env = { ...process.env, DATA_DIR: tempDataDir(), TOKEN_MAX_TTL: '2h' };
    const { stdout } = await run('npx', ['tsx', 'server/token.ts', '--name', 'ops'], { env });
    const { exp, iat } = decodeJwt(stdout.trim());
    expect(exp! - iat!).toBe(7_200);
    await expect(run('npx', ['tsx', 'server/token.ts', '--name', 'ops', '--expires', '3h'], { env })).rejects.toMatchObject({
      stderr: expect.stringContaining('TOKEN_MAX_TTL'),
    });
  });
});

describe('token expiry on open connections', () => {
  it('should end an SSE stream when its token expires; the typed client gets a fresh token and resumes without a gap', async () => {
    const app = await startServer();
    const player = await app.services.players.create('Reader', 'PLAYER');
    const viewer = { ...player, role: 'PLAYER' as const, scopes: [] };
    let token = await app.tokens.sign(viewer, 2);
    const resumed: ResubscribeEvent[] = [];
    // No WebSocket: subscriptions go over SSE from the start.
    const realm = realmcastClient(app.url, { webSocketImpl: null, getToken: () => token, onResubscribe: (event) => resumed.push(event) });
    const gm = await app.token('GAME_MASTER');
    const announce = (message: string) => gql(app.url, 'mutation ($m: String!) { announceWorldEvent(message: $m) { id } }', { m: message }, gm);
    const feed = collect(realm.client.subscribe({ query: WorldFeedDocument }));
    await listening(app, 'streamEvent', 'world');
    await announce('before expiry');
    expect((await feed.next()).data?.worldEvents.message).toBe('before expiry');
    token = await app.tokens.sign(viewer); // what getToken returns from now on
    // The server ends the stream at expiry; this one is published around then and must not be lost.
    await eventually(() => resumed.length > 0, 'the stream to end at expiry', 5_000, 50);
    await announce('around expiry');
    expect((await feed.next()).data?.worldEvents.message).toBe('around expiry');
    expect(resumed[0]).toMatchObject({ operationName: 'WorldFeed', reason: 'token expired' });
  });
});

describe('browsers', () => {
  const post = (url: string, origin: string) =>
    fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', origin }, body: JSON.stringify({ query: '{ stocks { symbol } }' }) });

  it('should allow listed origins with credentials and refuse the rest', async () => {
    const app = await startServer({ production: true, corsOrigins: ['https://game.example'] });
    const allowed = await post(app.url, 'https://game.example');
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://game.example');
    expect(allowed.headers.get('access-control-allow-credentials')).toBe('true');
    const preflight = await fetch(app.url, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    expect((await post(app.url, 'https://evil.example')).status).toBe(403);
    // Same-origin requests (the dashboard, GraphiQL) need no listing.
    expect((await post(app.url, new URL(app.url).origin)).status).toBe(200);
  });

  it('should never allow credentials for "*"', async () => {
    const app = await startServer({ corsOrigins: ['*'] });
    const response = await post(app.url, 'https://anyone.example');
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-credentials')).toBeNull();
  });

  it('should switch GraphiQL and introspection off', async () => {
    const app = await startServer({ graphiql: false, introspection: false });
    const page = await fetch(app.url, { headers: { accept: 'text/html' } });
    expect(String(page.headers.get('content-type'))).not.toContain('text/html');
    expect(await page.text()).not.toContain('GraphiQL');
    const introspection = await gql(app.url, '{ __schema { types { name } } }');
    expect(introspection.errors![0]!.message).toContain('introspection');
    expect((await gql(app.url, '{ stocks { symbol } }')).errors).toBeUndefined();
  });
});
