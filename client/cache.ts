/**
 * The normalized cache of a Realmcast client and the live updates that keep
 * it current.
 *
 * Entities are keyed the way the API identifies them: stocks by `symbol`,
 * games by `code`, everything else by `id`. Subscription results that return
 * an entity with its key (e.g. `factionInfluenceChanged { faction { id … } }`)
 * update it through normalization alone. A `StockTick` is not a `Stock`, so
 * ticks are written into the cached `Stock` by a live cache writer (the
 * `stockTicked` entry of {@link defaultLiveCacheWriters}), applied to every
 * subscription result that passes through the client: a component showing
 * `stock(symbol)` or `stocks` re-renders on each tick as long as any ticker
 * subscription for that symbol is running.
 */
import { InMemoryCache, type ApolloCache, type InMemoryCacheConfig, type TypePolicies } from '@apollo/client/cache';
import { ApolloLink } from '@apollo/client/link';
import { getMainDefinition } from '@apollo/client/utilities';
import type { DocumentNode, OperationDefinitionNode } from 'graphql';
import { map } from 'rxjs';

/** Cache identities and field policies for the Realmcast schema. */
export const realmcastTypePolicies: TypePolicies = {
  Stock: { keyFields: ['symbol'] },
  Game: { keyFields: ['code'] },
  Player: { keyFields: ['id'] },
  Faction: { keyFields: ['id'] },
  WorldEvent: { keyFields: ['id'] },
  Trade: { keyFields: ['id'] },
  // One portfolio per viewer; `switchUser` resets the cache. `portfolio` and
  // `portfolioChanged` therefore update the same object.
  // Lists and per-argument answers are replaced whole, never merged item by item.
  Portfolio: {
    keyFields: [],
    fields: {
      positions: { merge: false },
      strategies: { merge: false },
      trades: { merge: false },
      pnlHistory: { merge: false },
      pnlCalendar: { merge: false },
    },
  },
  Query: {
    fields: {
      // `stock(symbol)` answers from a stock already cached by `stocks` (symbols are case-insensitive).
      stock: {
        read(existing, { args, toReference, canRead }) {
          if (existing !== undefined || typeof args?.symbol !== 'string') return existing;
          const reference = toReference({ __typename: 'Stock', symbol: args.symbol.toUpperCase() });
          return canRead(reference) ? reference : undefined;
        },
      },
    },
  },
};

/**
 * The concrete types of each interface in the schema. The cache needs them to
 * match inline fragments such as `... on TurnResolved` in a `gameEvents`
 * result; without them it guesses, warns "missing possibleTypes" and may drop
 * fields. `test/client/cache.test.ts` keeps this in step with schema.graphql.
 */
export const realmcastPossibleTypes: Readonly<Record<string, readonly string[]>> = {
  GameEvent: [
    'ChoiceSubmitted',
    'PlayerConnected',
    'PlayerDisconnected',
    'PlayerJoined',
    'PlayerLeft',
    'PlayerTyping',
    'ScenarioStarted',
    'TurnResolved',
  ],
};

/**
 * A new cache with {@link realmcastTypePolicies} (merged under any
 * `typePolicies` you pass) and {@link realmcastPossibleTypes}.
 */
export function createRealmcastCache(config: InMemoryCacheConfig = {}): InMemoryCache {
  return new InMemoryCache({
    ...config,
    possibleTypes: { ...realmcastPossibleTypes, ...config.possibleTypes } as Record<string, string[]>,
    typePolicies: { ...realmcastTypePolicies, ...config.typePolicies },
  });
}

/** What a tick must carry to update a cached stock; absent fields are left alone. */
export interface StockTickLike {
  symbol: string;
  price: number;
  change?: number;
  changePercent?: number;
  at?: string;
}

/** Default `history(last:)` length, as the schema documents it. */
const defaultHistoryLength = 50;

/**
 * Writes one tick into the cached `Stock` (price, change, changePercent,
 * updatedAt, and a new point at the end of each cached `history`). Returns
 * false when that stock is not in the cache.
 */
export function applyStockTick(cache: ApolloCache, tick: StockTickLike): boolean {
  const id = cache.identify({ __typename: 'Stock', symbol: tick.symbol });
  if (!id) return false;
  return cache.modify({
    id,
    fields: {
      price: () => tick.price,
      change: (value) => tick.change ?? value,
      changePercent: (value) => tick.changePercent ?? value,
      updatedAt: (value) => tick.at ?? value,
      history: (points, { storeFieldName }) => {
        if (!tick.at || !Array.isArray(points)) return points;
        const newest = points.at(-1) as { price?: number; at?: string } | undefined;
        if (newest?.at === tick.at && newest.price === tick.price) return points; // seen through another subscription
        const last = Number(/"last":(\d+)/.exec(storeFieldName)?.[1] ?? defaultHistoryLength);
        return [...points, { __typename: 'PricePoint', price: tick.price, at: tick.at }].slice(-last);
      },
    },
  });
}

/** Writes one subscription event (the value of its root field) into the cache. */
export type LiveCacheWriter = (cache: ApolloCache, value: any) => void;

/**
 * Live cache writers by subscription root field name. Add an entry for a
 * stream whose events describe an entity they do not return with its key
 * (a future `gameEvents` writer could bump `Game.turnNumber`).
 */
export const defaultLiveCacheWriters: Readonly<Record<string, LiveCacheWriter>> = {
  stockTicked: (cache, tick: StockTickLike) => applyStockTick(cache, tick),
};

/**
 * A link that runs the matching {@link LiveCacheWriter} for each result of a
 * subscription whose root field has one, before Apollo Client sees it.
 */
export function createLiveCacheLink(writers: Readonly<Record<string, LiveCacheWriter>> = defaultLiveCacheWriters): ApolloLink {
  return new ApolloLink((operation, forward) => {
    if (operation.operationType !== 'subscription') return forward(operation);
    const targets = writerTargets(operation.query, writers);
    if (targets.length === 0) return forward(operation);
    const { cache } = operation.client;
    return forward(operation).pipe(
      map((result) => {
        const data = (result as { data?: Record<string, unknown> | null }).data;
        for (const [responseKey, write] of targets) {
          const value = data?.[responseKey];
          if (value && typeof value === 'object') write(cache, value);
        }
        return result;
      }),
    );
  });
}

/** Root fields of the operation that have a writer, by response key (alias or name). */
function writerTargets(document: DocumentNode, writers: Readonly<Record<string, LiveCacheWriter>>): Array<[string, LiveCacheWriter]> {
  const definition = getMainDefinition(document) as OperationDefinitionNode;
  const targets: Array<[string, LiveCacheWriter]> = [];
  for (const selection of definition.selectionSet.selections) {
    if (selection.kind !== 'Field') continue;
    const write = Object.hasOwn(writers, selection.name.value) ? writers[selection.name.value] : undefined;
    if (write) targets.push([selection.alias?.value ?? selection.name.value, write]);
  }
  return targets;
}
