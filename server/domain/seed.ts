import type { Append } from '../events/event-log.js';
import { Streams } from '../events/topics.js';
import type { Tx } from '../store/store.js';
import { toCents } from './validate.js';

/** The stocks a new world starts with. */
export const seedStocks = [
  { symbol: 'IRON', name: 'Ironforge Mining Company', price: 42.5 },
  { symbol: 'SPICE', name: 'Southern Spice Guild', price: 118.2 },
  { symbol: 'AETH', name: 'Aether Works', price: 301.75 },
  { symbol: 'GRAIN', name: 'Riverlands Grain Exchange', price: 12.4 },
  { symbol: 'SHIP', name: 'Tidewater Shipping', price: 67.0 },
  { symbol: 'GOLD', name: "Dragon's Hoard Bank", price: 955.0 },
] as const;

/** The factions a new world starts with (influence 0–100). */
export const seedFactions = [
  { id: 'crown', name: 'The Crown', influence: 40 },
  { id: 'guild', name: 'Merchant Guild', influence: 30 },
  { id: 'flame', name: 'Order of the Flame', influence: 20 },
  { id: 'free', name: 'Free Companies', influence: 10 },
] as const;

/**
 * Seeds an empty world: stocks, factions and a welcome event. Idempotent: it
 * only inserts into empty tables, inside the caller's transaction. Safe when
 * several instances start at once as long as the caller holds
 * `store.lockExclusive(tx, 'seed')` (app.ts does), so a second instance waits
 * for the first seed to commit and then finds the world seeded.
 */
export async function seedWorld(tx: Tx, append: Append): Promise<boolean> {
  const existing = await tx.selectFrom('stocks').select('symbol').limit(1).executeTakeFirst();
  if (existing) return false;
  const now = new Date().toISOString();
  await tx
    .insertInto('stocks')
    .values(seedStocks.map((s) => ({ symbol: s.symbol, name: s.name, priceCents: toCents(s.price), openPriceCents: toCents(s.price), volume: 0, updatedAt: now })))
    .onConflict((oc) => oc.doNothing())
    .execute();
  await tx
    .insertInto('priceHistory')
    .values(seedStocks.map((s) => ({ symbol: s.symbol, priceCents: toCents(s.price), at: now })))
    .execute();
  await tx
    .insertInto('factions')
    .values(seedFactions.map((f) => ({ ...f, lastChange: 0, updatedAt: now })))
    .onConflict((oc) => oc.doNothing())
    .execute();
  await append(Streams.world, 'WorldEvent', {
    kind: 'welcome',
    message: 'The realm awakens. Markets open, factions stir: subscribe to watch it change.',
    severity: 'INFO',
  });
  return true;
}
