import SchemaBuilder from '@pothos/core';
import type { Viewer } from './auth.js';
import type { Services } from './services.js';

/** What every resolver receives. */
export interface Context {
  /** The verified caller, or null for anonymous requests. */
  viewer: Viewer | null;
  /** Domain services of this app instance. */
  services: Services;
  /** The client's network address (behind `TRUST_PROXY` proxies, from `X-Forwarded-For`), for per-address limits. */
  address: string;
}

/**
 * The one SchemaBuilder. It defines no types: each `schema/<domain>.ts`
 * defines its own types next to its root fields.
 */
export const builder = new SchemaBuilder<{
  Context: Context;
  DefaultFieldNullability: false;
  Scalars: {
    DateTime: { Input: Date; Output: Date | string };
    ID: { Input: string; Output: string | number };
  };
}>({
  // The SPEC marks most fields `!`; nullable ones say `nullable: true`.
  defaultFieldNullability: false,
});

builder.queryType({ description: 'Read the world: market, factions, world events, games and your portfolio.' });
builder.mutationType({ description: 'Change the world. Every mutation validates its input and changes nothing when it fails.' });
builder.subscriptionType({
  description:
    'Be told the moment the world changes. Event streams take `after: cursor` to replay what was missed, then continue live.',
});
