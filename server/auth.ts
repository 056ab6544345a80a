import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { SignJWT, decodeJwt, jwtVerify, errors as joseErrors } from 'jose';
import { apiError, ErrorCode } from './errors.js';

export const roles = ['PLAYER', 'GAME_MASTER', 'BOT'] as const;
export type Role = (typeof roles)[number];

/** Who is calling: decoded from a verified token. */
export interface Viewer {
  id: string;
  name: string;
  role: Role;
  /** What a BOT token may mutate (see {@link Action}); empty for other roles. */
  scopes: string[];
  /**
   * When the token expires (ms since the epoch): operations are refused and
   * live subscriptions and connections end from then on. Absent for viewers
   * not made from a token (tests, tools).
   */
  expiresAt?: number;
}

/**
 * Everything that needs more than anonymous read access. Role checks happen
 * only through {@link authorize} with one of these.
 */
export type Action =
  | 'trade' // placeOrder, portfolio
  | 'play' // create/join/leave games, choose, type
  | 'setStockPrice'
  | 'shiftFactionInfluence'
  | 'announceWorldEvent'
  | 'resolveAnyTurn' // resolve a turn of a game one does not host
  | 'watchAnyGame'; // gameEvents/presence of a game one is not in

/**
 * The one role table: which roles may do each action. A BOT may also do an
 * action its token's scopes name. Exported so the authorization matrix test
 * derives every expected outcome from it.
 */
export const allowedRoles: Readonly<Record<Action, readonly Role[]>> = {
  trade: ['PLAYER', 'GAME_MASTER'],
  play: ['PLAYER', 'GAME_MASTER'],
  setStockPrice: ['GAME_MASTER'],
  shiftFactionInfluence: ['GAME_MASTER'],
  announceWorldEvent: ['GAME_MASTER'],
  resolveAnyTurn: ['GAME_MASTER'],
  watchAnyGame: ['GAME_MASTER'],
};

/** Every {@link Action}, in the order of the role table (also the BOT scopes a token may carry). */
export const actions = Object.keys(allowedRoles) as Action[];

/** Whether `viewer` may do `action`, without throwing. */
export function can(viewer: Viewer | null, action: Action): boolean {
  if (!viewer) return false;
  return allowedRoles[action].includes(viewer.role) || (viewer.role === 'BOT' && viewer.scopes.includes(action));
}

/** Requires a signed-in caller; `UNAUTHENTICATED` otherwise. */
export function requireViewer(viewer: Viewer | null): Viewer {
  if (!viewer) throw apiError(ErrorCode.Unauthenticated, 'Sign in first: send a token as "Authorization: Bearer <token>".');
  return viewer;
}

/** Requires that the caller may do `action`: `UNAUTHENTICATED` or `FORBIDDEN` otherwise. */
export function authorize(viewer: Viewer | null, action: Action): Viewer {
  const signedIn = requireViewer(viewer);
  if (!can(signedIn, action)) {
    throw apiError(ErrorCode.Forbidden, `Your role (${signedIn.role}) may not ${action}.`, { action });
  }
  return signedIn;
}

export interface TokenIssuer {
  /**
   * Signs a token for a player, valid for `expiresIn` (a jose time span such
   * as `'7d'`, or seconds); throws when that is longer than the issuer's
   * maximum lifetime. @default the maximum lifetime
   */
  sign(viewer: Viewer, expiresIn?: string | number): Promise<string>;
  /**
   * The longest a token may live, in seconds (`TOKEN_MAX_TTL`); an open
   * connection ends when its token expires.
   */
  readonly maxTtlSeconds: number;
  /**
   * Verifies a token; `UNAUTHENTICATED` when it is malformed, forged,
   * expired, has no `exp` or lives longer than the maximum lifetime.
   */
  verify(token: string): Promise<Viewer>;
}

export interface TokenIssuerOptions {
  /** Longest lifetime (`exp` − `iat`, or `exp` − now) a token may have, in seconds. @default 2_592_000 // 30 days */
  maxTtlSeconds?: number;
}

/** Creates the HS256 token issuer for `secret`. */
export function createTokenIssuer(secret: string, options: TokenIssuerOptions = {}): TokenIssuer {
  const { maxTtlSeconds = 2_592_000 } = options;
  const key = new TextEncoder().encode(secret);
  // A second of slack for the clock moving between signing and checking.
  const tooLong = (exp: number, iat: number) => exp - iat > maxTtlSeconds + 1;
  return {
    maxTtlSeconds,
    async sign(viewer, expiresIn = maxTtlSeconds) {
      const now = Math.floor(Date.now() / 1000);
      const token = await new SignJWT({ name: viewer.name, role: viewer.role, ...(viewer.scopes.length ? { scope: viewer.scopes.join(' ') } : {}) })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(viewer.id)
        .setIssuedAt(now)
        .setExpirationTime(typeof expiresIn === 'number' ? now + expiresIn : expiresIn)
        .sign(key);
      if (tooLong(decodeJwt(token).exp!, now)) throw new RangeError(`A token may live at most ${maxTtlSeconds} s (TOKEN_MAX_TTL).`);
      return token;
    },
    async verify(token) {
      try {
        const { payload } = await jwtVerify(token, key, { algorithms: ['HS256'], requiredClaims: ['exp'] });
        const role = payload.role;
        if (typeof payload.sub !== 'string' || typeof payload.name !== 'string' || !roles.includes(role as Role)) {
          throw new Error('missing claims');
        }
        if (tooLong(payload.exp!, payload.iat ?? Math.floor(Date.now() / 1000))) throw new Error('lifetime over TOKEN_MAX_TTL');
        const scopes = typeof payload.scope === 'string' ? payload.scope.split(' ').filter(Boolean) : [];
        return { id: payload.sub, name: payload.name, role: role as Role, scopes, expiresAt: payload.exp! * 1000 };
      } catch (error) {
        const reason = error instanceof joseErrors.JWTExpired ? 'expired' : 'invalid';
        throw apiError(ErrorCode.Unauthenticated, `The token is ${reason}.`, { reason }, 401);
      }
    },
  };
}

/** Reads `Bearer <token>` (or a bare token) from a header or connection param. */
export function bearerToken(value: unknown): string | null {
  if (typeof value !== 'string' || value.trim() === '') return null;
  return value.replace(/^Bearer\s+/i, '').trim();
}

/**
 * The signing secret: `JWT_SECRET` when configured, else one generated once
 * and kept in `dataDir/jwt-secret` so tokens survive restarts.
 */
export function loadOrCreateSecret(options: { jwtSecret?: string; dataDir: string }): string {
  if (options.jwtSecret) return options.jwtSecret;
  const file = path.join(options.dataDir, 'jwt-secret');
  mkdirSync(options.dataDir, { recursive: true });
  try {
    // 'wx' fails when the file exists, so two processes starting at once agree on one secret.
    writeFileSync(file, randomBytes(32).toString('base64url'), { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  return readFileSync(file, 'utf8').trim();
}
