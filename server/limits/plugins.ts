import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import { GraphQLError, NoSchemaIntrospectionCustomRule } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Context } from '../builder.js';
import { apiError, ErrorCode } from '../errors.js';
import { costLimitRule } from './cost.js';
import type { RateLimits } from './rate-limits.js';

/** Which graphql-armor protection refused an operation (`extensions.limit` of `QUERY_TOO_COMPLEX`). */
export type QueryLimit = 'depth' | 'aliases' | 'cost' | 'tokens';

/** The error of an operation over one of the query limits: HTTP 400, stable code. */
const tooComplex = (limit: QueryLimit, armorMessage: string) =>
  apiError(ErrorCode.QueryTooComplex, armorMessage.replace(/^Syntax Error: /, ''), { limit }, 400);

/**
 * graphql-armor's depth, alias and token limits and its cost estimate (our
 * {@link costLimitRule}: armor's formula plus the extra cost a field
 * declares), with errors that carry `extensions.code: QUERY_TOO_COMPLEX` and
 * `extensions.limit` instead of armor's bare "Syntax Error". The validation
 * limits report through the validation context; the token limit (checked
 * while parsing) throws, and its error is replaced on the way out of `parse`.
 */
export function useQueryLimits(options: {
  maxDepth: number;
  maxAliases: number;
  maxCost: number;
  maxTokens: number;
  /** Current time in epoch milliseconds, for declared costs of ranges ending now. @default Date.now */
  clock?: () => number;
}): Plugin[] {
  const report = (limit: QueryLimit) => ({
    propagateOnRejection: false,
    onReject: [(ctx: { reportError(error: GraphQLError): void } | null, error: GraphQLError) => ctx?.reportError(tooComplex(limit, error.message))],
  });
  const tokenRejections = new WeakSet<GraphQLError>();
  return [
    EnvelopArmorPlugin({
      maxDepth: { n: options.maxDepth, ...report('depth') },
      maxAliases: { n: options.maxAliases, ...report('aliases') },
      costLimit: { enabled: false },
      maxTokens: { n: options.maxTokens, onReject: [(_ctx, error) => tokenRejections.add(error)] },
    }),
    {
      onValidate: ({ addValidationRule }) => addValidationRule(costLimitRule(options.maxCost, (ctx, error) => ctx.reportError(tooComplex('cost', error.message)), options.clock)),
      onParse: () => ({ result, replaceParseResult }) => {
        if (result instanceof GraphQLError && tokenRejections.has(result)) replaceParseResult(tooComplex('tokens', result.message));
      },
    },
  ];
}

/**
 * Counts every operation (query, mutation, subscription start; over HTTP,
 * WebSocket and SSE alike) against the caller's address and, when signed
 * in, against the player. Over the limit the operation does not run: the
 * error is `RATE_LIMITED` with `retryAfterMs`, HTTP 429 with `Retry-After`.
 */
export function useOperationRateLimit(limits: RateLimits): Plugin<Context> {
  const admit = async (context: Context) => {
    try {
      await limits.consume('operationAddress', [context.address], 429);
      if (context.viewer) await limits.consume('operationPlayer', [context.viewer.id], 429);
      return undefined;
    } catch (error) {
      if (error instanceof GraphQLError && error.extensions.code === ErrorCode.RateLimited) return error;
      throw error;
    }
  };
  return {
    async onExecute({ args, setResultAndStopExecution }) {
      const refused = await admit(args.contextValue);
      if (refused) setResultAndStopExecution({ errors: [refused] });
    },
    async onSubscribe({ args, setResultAndStopExecution }) {
      const refused = await admit(args.contextValue);
      if (refused) setResultAndStopExecution({ errors: [refused] });
    },
  };
}

/** With `enabled: false`, introspection fields are refused by graphql-js' own validation rule. */
export function useIntrospection(enabled: boolean): Plugin {
  return enabled ? {} : { onValidate: ({ addValidationRule }) => addValidationRule(NoSchemaIntrospectionCustomRule) };
}

/**
 * Which browser origins may call the API: `corsOrigins` when configured
 * (`*` meaning any, without credentials), else any origin without
 * credentials in development and none in production.
 */
export function allowedOrigins(corsOrigins: string[] | undefined, production: boolean): string[] {
  return corsOrigins ?? (production ? [] : ['*']);
}

/** Whether a request's `Origin` may use the API: no Origin (not a browser), same host, or allowed. */
export function originAllowed(origin: string | null | undefined, host: string | null | undefined, allowed: readonly string[]): boolean {
  if (!origin) return true;
  if (allowed.includes('*') || allowed.includes(origin)) return true;
  try {
    return new URL(origin).host === host;
  } catch {
    return false; // `null` (sandboxed frames, file://) and garbage
  }
}

/** Yoga's `cors` option for the allow-list: credentials only for listed origins, never for `*`. */
export function corsFor(allowed: readonly string[]) {
  return (request: Request) => {
    const origin = request.headers.get('origin');
    if (allowed.includes('*')) return { origin: ['*'], credentials: false };
    if (origin && allowed.includes(origin)) return { origin: [origin], credentials: true };
    return false as const;
  };
}

/**
 * Refuses requests from browser origins that are not allowed (HTTP 403) before
 * anything runs: CORS only hides responses from a page, while this also stops
 * an SSE stream or a simple POST from another site. Preflights are left to
 * the CORS plugin.
 */
export function useOriginCheck(allowed: readonly string[]): Plugin {
  return {
    onRequest({ request, endResponse }) {
      if (request.method === 'OPTIONS') return;
      if (originAllowed(request.headers.get('origin'), request.headers.get('host'), allowed)) return;
      endResponse(
        Response.json(
          { errors: [{ message: 'This origin may not use the API (see CORS_ORIGINS).', extensions: { code: ErrorCode.Forbidden } }] },
          { status: 403 },
        ),
      );
    },
  };
}

/** The header a non-JSON POST must carry (any value); browsers only send it after a CORS preflight. */
export const csrfHeader = 'x-graphql-yoga-csrf';

/**
 * Yoga's CSRF prevention for POSTs: a POST whose content type a browser form
 * can send (form-encoded, multipart, text/plain) needs the {@link csrfHeader}
 * header, which no page can add without a CORS preflight. GET stays open for
 * queries (Yoga never runs mutations over GET), so plain links and
 * `curl -G` SSE keep working.
 */
export function useCsrf(): Plugin {
  const csrf = useCSRFPrevention({ requestHeaders: [csrfHeader] });
  return {
    onRequestParse(payload) {
      if (payload.request.method !== 'POST') return;
      try {
        return csrf.onRequestParse!(payload);
      } catch {
        throw apiError(ErrorCode.Forbidden, `A POST that is not JSON needs the "${csrfHeader}" header (CSRF prevention).`, {}, 403);
      }
    },
  };
}
