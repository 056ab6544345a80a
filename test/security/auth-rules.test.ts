/**
 * `server/auth.ts` in-process: the role rule, errors, tokens, bearer parsing
 * and the generated secret, each on its edges.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { GraphQLError } from 'graphql';
import { decodeJwt, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { actions, allowedRoles, authorize, bearerToken, can, createTokenIssuer, loadOrCreateSecret, requireViewer, roles, type Viewer } from '../../server/auth.js';
import { tempDataDir } from '../support/harness.js';

const viewer = (role: Viewer['role'], scopes: string[] = []): Viewer => ({ id: `${role}-id`, name: `${role} name`, role, scopes });
const secret = 'a-test-secret-that-is-long-enough-123';

/** The error `fn` throws, as a GraphQLError. */
function thrown(fn: () => unknown): GraphQLError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(GraphQLError);
    return error as GraphQLError;
  }
  throw new Error('expected an error');
}

describe('can / authorize', () => {
  it('should allow each role exactly the actions of the role table, and anonymous callers nothing', () => {
    for (const action of actions) {
      expect(can(null, action)).toBe(false);
      for (const role of roles) expect(can(viewer(role), action), `${role} ${action}`).toBe(allowedRoles[action].includes(role));
    }
  });

  it('should let a BOT do exactly the actions its scopes name', () => {
    for (const action of actions) {
      const scoped = viewer('BOT', [action]);
      for (const other of actions) expect(can(scoped, other), `BOT[${action}] ${other}`).toBe(other === action);
    }
    expect(can(viewer('BOT', ['trade', 'play']), 'play')).toBe(true);
    expect(can(viewer('BOT', ['trade', 'play']), 'watchAnyGame')).toBe(false);
  });

  it('should ignore scopes on tokens of other roles', () => {
    const player = viewer('PLAYER', ['setStockPrice', 'watchAnyGame']);
    expect(can(player, 'setStockPrice')).toBe(false);
    expect(can(player, 'watchAnyGame')).toBe(false);
    expect(can(player, 'trade')).toBe(true);
  });

  it('should return the caller from requireViewer, and refuse anonymous callers with UNAUTHENTICATED', () => {
    const gm = viewer('GAME_MASTER');
    expect(requireViewer(gm)).toBe(gm);
    const error = thrown(() => requireViewer(null));
    expect(error.extensions.code).toBe('UNAUTHENTICATED');
    expect(error.message).toMatch(/Authorization: Bearer/);
  });

  it('should return the caller from authorize, refuse others with FORBIDDEN naming role and action, and anonymous with UNAUTHENTICATED', () => {
    const gm = viewer('GAME_MASTER');
    expect(authorize(gm, 'setStockPrice')).toBe(gm);
    const bot = viewer('BOT', ['trade']);
    expect(authorize(bot, 'trade')).toBe(bot);
    const error = thrown(() => authorize(viewer('PLAYER'), 'announceWorldEvent'));
    expect(error.extensions).toMatchObject({ code: 'FORBIDDEN', action: 'announceWorldEvent' });
    expect(error.message).toBe('Your role (PLAYER) may not announceWorldEvent.');
    expect(thrown(() => authorize(null, 'trade')).extensions.code).toBe('UNAUTHENTICATED');
  });
});

describe('tokens', () => {
  const issuer = createTokenIssuer(secret);

  it('should round-trip a viewer, with scopes in a space-separated `scope` claim only when there are some', async () => {
    const bot = viewer('BOT', ['trade', 'play']);
    const token = await issuer.sign(bot);
    // The verified viewer also carries when its token expires (connections end then).
    expect(await issuer.verify(token)).toEqual({ ...bot, expiresAt: decodeJwt(token).exp! * 1000 });
    expect(decodeJwt(token)).toMatchObject({ sub: bot.id, name: bot.name, role: 'BOT', scope: 'trade play' });
    const player = await issuer.sign(viewer('PLAYER'));
    expect(decodeJwt(player)).not.toHaveProperty('scope');
    expect(await issuer.verify(player)).toEqual({ ...viewer('PLAYER'), expiresAt: decodeJwt(player).exp! * 1000 });
  });

  it('should expire after 30 days by default, or when told', async () => {
    const claims = decodeJwt(await issuer.sign(viewer('PLAYER')));
    expect(claims.exp! - claims.iat!).toBe(30 * 86_400);
    expect(Math.abs(claims.iat! - Date.now() / 1000)).toBeLessThan(5);
    const short = decodeJwt(await issuer.sign(viewer('PLAYER'), '2h'));
    expect(short.exp! - short.iat!).toBe(7_200);
    expect(decodeJwt(await issuer.sign(viewer('PLAYER'))).iat).toBeDefined();
  });

  it('should say "expired" for an expired token and "invalid" for a forged one, as UNAUTHENTICATED with HTTP 401', async () => {
    const expired = thrownAsync(issuer.verify(await issuer.sign(viewer('PLAYER'), '-1s')));
    expect((await expired).extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'expired', http: { status: 401 } });
    expect((await expired).message).toBe('The token is expired.');
    const forged = await thrownAsync(createTokenIssuer('another-secret-of-enough-length-456').verify(await issuer.sign(viewer('PLAYER'))));
    expect(forged.extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'invalid', http: { status: 401 } });
    expect(forged.message).toBe('The token is invalid.');
    expect((await thrownAsync(issuer.verify('not.a.jwt'))).extensions.reason).toBe('invalid');
  });

  it('should refuse tokens without a subject, a name or a known role, and other algorithms', async () => {
    const key = new TextEncoder().encode(secret);
    const signed = (claims: Record<string, unknown>, subject?: string, alg = 'HS256') => {
      const jwt = new SignJWT(claims).setProtectedHeader({ alg }).setIssuedAt().setExpirationTime('1h');
      return (subject ? jwt.setSubject(subject) : jwt).sign(key);
    };
    expect(await issuer.verify(await signed({ name: 'ok', role: 'PLAYER' }, 'id'))).toEqual({ id: 'id', name: 'ok', role: 'PLAYER', scopes: [], expiresAt: expect.any(Number) });
    for (const token of [
      await signed({ name: 'no subject', role: 'PLAYER' }),
      await signed({ role: 'PLAYER' }, 'id'),
      await signed({ name: 7, role: 'PLAYER' }, 'id'),
      await signed({ name: 'x', role: 'ADMIN' }, 'id'),
      await signed({ name: 'x' }, 'id'),
      await signed({ name: 'x', role: 'PLAYER' }, 'id', 'HS512'),
    ]) {
      expect((await thrownAsync(issuer.verify(token))).extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'invalid' });
    }
  });

  it('should keep tokens within the maximum lifetime (TOKEN_MAX_TTL), with one second of slack', async () => {
    const hourly = createTokenIssuer(secret, { maxTtlSeconds: 3_600 });
    expect(hourly.maxTtlSeconds).toBe(3_600);
    const claims = decodeJwt(await hourly.sign(viewer('PLAYER')));
    expect(claims.exp! - claims.iat!).toBe(3_600);
    expect(decodeJwt(await hourly.sign(viewer('PLAYER'), 60)).exp! - claims.iat!).toBeLessThanOrEqual(61);
    await expect(hourly.sign(viewer('PLAYER'), '2h')).rejects.toThrow(/at most 3600 s \(TOKEN_MAX_TTL\)/);
    await expect(hourly.sign(viewer('PLAYER'), 3_602)).rejects.toThrow(RangeError);

    const key = new TextEncoder().encode(secret);
    const now = Math.floor(Date.now() / 1000);
    const lasting = (seconds: number, issuedAt: number | null = now) => {
      const jwt = new SignJWT({ name: 'n', role: 'PLAYER' }).setProtectedHeader({ alg: 'HS256' }).setSubject('id').setExpirationTime(now + seconds);
      return (issuedAt === null ? jwt : jwt.setIssuedAt(issuedAt)).sign(key);
    };
    expect((await hourly.verify(await lasting(3_601))).expiresAt).toBe((now + 3_601) * 1000);
    expect((await thrownAsync(hourly.verify(await lasting(3_602)))).extensions.reason).toBe('invalid');
    // Without `iat`, the lifetime left is what counts.
    expect((await hourly.verify(await lasting(1_800, null))).id).toBe('id');
    expect((await thrownAsync(hourly.verify(await lasting(7_200, null)))).extensions.reason).toBe('invalid');
    // A token with no expiry at all is refused.
    const forever = await new SignJWT({ name: 'n', role: 'PLAYER' }).setProtectedHeader({ alg: 'HS256' }).setSubject('id').setIssuedAt().sign(key);
    expect((await thrownAsync(hourly.verify(forever))).extensions.reason).toBe('invalid');
  });

  it('should read scopes from a string claim, ignoring extra spaces and anything else', async () => {
    const key = new TextEncoder().encode(secret);
    const withScope = (scope: unknown) =>
      new SignJWT({ name: 'b', role: 'BOT', scope }).setProtectedHeader({ alg: 'HS256' }).setSubject('b').setExpirationTime('1h').sign(key);
    expect((await issuer.verify(await withScope('  trade   play '))).scopes).toEqual(['trade', 'play']);
    expect((await issuer.verify(await withScope(['trade']))).scopes).toEqual([]);
    expect((await issuer.verify(await withScope(''))).scopes).toEqual([]);
  });
});

/** The GraphQLError a promise rejects with. */
async function thrownAsync(promise: Promise<unknown>): Promise<GraphQLError> {
  const error = await promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(GraphQLError);
  return error as GraphQLError;
}

describe('bearerToken', () => {
  it('should take the token from "Bearer <token>" in any case, or a bare token, and nothing from anything else', () => {
    expect(bearerToken('Bearer abc.def')).toBe('abc.def');
    expect(bearerToken('bearer    abc.def  ')).toBe('abc.def');
    expect(bearerToken('abc.def')).toBe('abc.def');
    expect(bearerToken('  abc.def ')).toBe('abc.def');
    expect(bearerToken('BearerX')).toBe('BearerX');
    // Only a leading scheme is taken off.
    expect(bearerToken('abc Bearer def')).toBe('abc Bearer def');
    for (const value of [undefined, null, 42, {}, '', '   ']) expect(bearerToken(value)).toBeNull();
  });
});

describe('loadOrCreateSecret', () => {
  it('should use JWT_SECRET when given, without touching the data dir', () => {
    const dataDir = path.join(tempDataDir(), 'not-created');
    expect(loadOrCreateSecret({ jwtSecret: secret, dataDir })).toBe(secret);
    expect(() => statSync(dataDir)).toThrow();
  });

  it('should generate a 256-bit secret once, readable only by its owner, and keep it', () => {
    const dataDir = path.join(tempDataDir(), 'nested', 'dir');
    const first = loadOrCreateSecret({ dataDir });
    expect(first).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(readFileSync(path.join(dataDir, 'jwt-secret'), 'utf8')).toBe(first);
    expect(statSync(path.join(dataDir, 'jwt-secret')).mode & 0o777).toBe(0o600);
    expect(loadOrCreateSecret({ dataDir })).toBe(first);
    expect(loadOrCreateSecret({ dataDir: tempDataDir() })).not.toBe(first);
  });

  it('should read a secret file an operator wrote, without its trailing newline', () => {
    const dataDir = tempDataDir();
    writeFileSync(path.join(dataDir, 'jwt-secret'), `${secret}\n`);
    expect(loadOrCreateSecret({ dataDir })).toBe(secret);
  });
});
