import { TypeInfo, visit, visitWithTypeInfo, type DocumentNode, type GraphQLSchema } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Context } from '../builder.js';
import { apiError, ErrorCode } from '../errors.js';

/**
 * The `extensions` entry of a field whose operations count against the
 * per-player in-flight limit ({@link useAnalyticsInFlight}): reads that can
 * take a database's worth of time (`pnlHistory`, `pnlCalendar`, `drawdown`).
 */
export const analyticsExtension = { analytics: true } as const;

/** How long a refused client is told to wait: an analytics query takes well under a second. */
export const analyticsRetryAfterMs = 1_000;

/** Whether a document selects a field marked with {@link analyticsExtension} (any of its operations). */
function selectsAnalytics(schema: GraphQLSchema, document: DocumentNode): boolean {
  const typeInfo = new TypeInfo(schema);
  let found = false;
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Field() {
        if ((typeInfo.getFieldDef()?.extensions as { analytics?: unknown } | undefined)?.analytics === true) found = true;
      },
    }),
  );
  return found;
}

/**
 * At most `limit` operations selecting analytics fields run at once per
 * player on this instance (an operation counts once, however many such
 * fields it asks: the dashboard's query asks three). One more is refused
 * before it runs with `RATE_LIMITED` (`extensions.limit: "analyticsInFlight"`,
 * `retryAfterMs`; HTTP 429 with `Retry-After`). The slot is freed when the
 * operation's execution settles, whatever its outcome. Whether a document
 * selects such a field is decided once per parsed document (Yoga caches
 * them), so other operations pay one WeakMap lookup.
 */
export function useAnalyticsInFlight(limit: number): Plugin<Context> {
  const running = new Map<string, number>();
  const analyticsDocuments = new WeakMap<DocumentNode, boolean>();
  const release = (playerId: string) => {
    const left = (running.get(playerId) ?? 1) - 1;
    if (left > 0) running.set(playerId, left);
    else running.delete(playerId);
  };
  return {
    onExecute({ args, executeFn, setExecuteFn, setResultAndStopExecution }) {
      const playerId = args.contextValue.viewer?.id;
      if (playerId === undefined) return; // anonymous: `portfolio` is null, nothing to read
      let analytics = analyticsDocuments.get(args.document);
      if (analytics === undefined) analyticsDocuments.set(args.document, (analytics = selectsAnalytics(args.schema, args.document)));
      if (!analytics) return;
      const count = running.get(playerId) ?? 0;
      if (count >= limit) {
        const error = apiError(
          ErrorCode.RateLimited,
          `Too many analytics queries running for this player: at most ${limit} at once. Retry in ${analyticsRetryAfterMs} ms.`,
          { retryAfterMs: analyticsRetryAfterMs, limit: 'analyticsInFlight', http: { status: 429, headers: { 'Retry-After': String(analyticsRetryAfterMs / 1000) } } },
        );
        setResultAndStopExecution({ errors: [error] });
        return;
      }
      running.set(playerId, count + 1);
      setExecuteFn(async (executeArgs) => {
        try {
          return await executeFn(executeArgs);
        } finally {
          release(playerId);
        }
      });
    },
  };
}
