import type { Store, Tx } from '../store/store.js';

/** How far turns may move the world (README "Security and limits", fair economy). */
export interface TurnEconomyOptions {
  store: Store;
  /** Players backing the winning choice for its full effect; fewer scale it down proportionally. @default 2 */
  fullEffectPlayers?: number;
  /** The window the budgets below apply to. @default 3_600_000 // 1 hour */
  windowMs?: number;
  /** Sum of |price moves| in percent that turns (all games together) may apply to one stock per window. @default 10 */
  priceBudgetPercent?: number;
  /** Sum of |influence shifts| in points that turns (all games together) may apply to one faction per window. @default 10 */
  influenceBudget?: number;
}

export type TurnEconomy = ReturnType<typeof createTurnEconomy>;

/**
 * The invariant that keeps the economy fair: within any window of
 * `windowMs`, resolved turns of all games together move one stock's price by
 * at most `priceBudgetPercent` % in total (summing the absolute size of every
 * move) and one faction by at most `influenceBudget` points, however many
 * games, players or accounts take part. A turn's effect is first scaled by
 * how many players backed the winning choice, then cut to what is left of
 * the budget; the turn itself always resolves.
 *
 * Every move is recorded in `turn_effects` in the turn's own transaction,
 * after the turn locked the stock or faction row, so turns resolving at once
 * on several instances take from the budget one after another and never
 * overspend it.
 */
export function createTurnEconomy(options: TurnEconomyOptions) {
  const { store, fullEffectPlayers = 2, windowMs = 3_600_000, priceBudgetPercent = 10, influenceBudget = 10 } = options;

  /** Takes up to |wanted| from `target`'s budget; resolves the signed amount granted (0 when spent). */
  const take = async (tx: Tx, target: string, wanted: number, budget: number): Promise<number> => {
    if (wanted === 0) return 0;
    const now = Date.now();
    const { used } = await tx
      .selectFrom('turnEffects')
      .select((eb) => eb.fn.coalesce(eb.fn.sum<number>(eb.fn('abs', ['amount'])), eb.lit(0)).as('used'))
      .where('target', '=', target)
      .where('at', '>', new Date(now - windowMs).toISOString())
      .executeTakeFirstOrThrow();
    const left = Math.max(0, budget - Number(used));
    // Rounded down to hundredths (what influence and prices keep), so rounding never grants more than the budget.
    const granted = Math.floor(Math.min(Math.abs(wanted), left) * 100 + 1e-9) / 100;
    if (granted <= 0) return 0;
    await tx.insertInto('turnEffects').values({ target, amount: granted, at: new Date(now).toISOString() }).execute();
    return Math.sign(wanted) * granted;
  };

  return {
    /** The share of a choice's effect that `backers` players voting for it earn: 0–1. */
    scale: (backers: number) => Math.min(1, backers / fullEffectPlayers),

    /** The price move in percent a turn may apply to `symbol` (the stock row must be locked by `tx`). */
    priceMove: (tx: Tx, symbol: string, percent: number) => take(tx, `stock:${symbol}`, percent, priceBudgetPercent),

    /** The influence shift a turn may apply to `factionId` (the faction row must be locked by `tx`). */
    influenceShift: (tx: Tx, factionId: string, delta: number) => take(tx, `faction:${factionId}`, delta, influenceBudget),

    /** Forgets moves older than the window (housekeeping). */
    async prune() {
      await store.db.deleteFrom('turnEffects').where('at', '<=', new Date(Date.now() - windowMs).toISOString()).execute();
    },
  };
}
