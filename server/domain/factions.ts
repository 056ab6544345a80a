import { decodeCursor, type Append, type EventLog } from '../events/event-log.js';
import { Streams } from '../events/topics.js';
import { apiError, badInput, ErrorCode, excerpt } from '../errors.js';
import type { Store, Tx } from '../store/store.js';
import { validNumber, validText } from './validate.js';

/** Influence of every faction stays within these bounds. */
export const influenceBounds = { min: 0, max: 100 } as const;
/** A shift of at least this many points also posts a world event. */
export const bigShiftThreshold = 10;

export type Factions = ReturnType<typeof createFactions>;

/** Factions and their influence; no GraphQL in here. */
export function createFactions({ store, events }: { store: Store; events: EventLog }) {
  const factions = {
    list: () => store.db.selectFrom('factions').selectAll().orderBy('influence', 'desc').orderBy('id').execute(),

    get: (id: string) => store.db.selectFrom('factions').selectAll().where('id', '=', id).executeTakeFirst(),

    /**
     * Shifts influence inside a transaction, clamped to {@link influenceBounds};
     * the event carries the delta actually applied. Used by the game master's
     * mutation and by resolved turns alike.
     */
    async applyShift(tx: Tx, append: Append, factionId: string, delta: number, reason: string) {
      const faction = await store.lockForUpdate(tx.selectFrom('factions').selectAll().where('id', '=', factionId)).executeTakeFirst();
      if (!faction) throw apiError(ErrorCode.NotFound, `No faction with id ${excerpt(factionId)}.`, { field: 'factionId' });
      const influence = Math.round(Math.min(influenceBounds.max, Math.max(influenceBounds.min, faction.influence + delta)) * 100) / 100;
      const applied = Math.round((influence - faction.influence) * 100) / 100;
      // Already at the bound: nothing moved, so nothing to record or announce.
      if (applied === 0) return faction;
      const updated = { ...faction, influence, lastChange: applied, updatedAt: new Date().toISOString() };
      await tx.updateTable('factions').set({ influence, lastChange: applied, updatedAt: updated.updatedAt }).where('id', '=', factionId).execute();
      await append(Streams.factions, 'FactionInfluenceChanged', {
        faction: { id: updated.id, name: updated.name, influence, lastChange: applied },
        delta: applied,
        reason,
      });
      if (Math.abs(applied) >= bigShiftThreshold) {
        await append(Streams.world, 'WorldEvent', {
          kind: 'faction.shift',
          message: `${faction.name} ${applied > 0 ? 'gains' : 'loses'} ${Math.abs(applied)} influence: ${reason}`,
          severity: 'WARNING',
        });
      }
      return updated;
    },

    /** The `factionInfluenceChanged` feed: every shift, after the `after` cursor first when given. */
    changes({ after }: { after?: string | null }) {
      return events.feed<'FactionInfluenceChanged'>({
        stream: Streams.factions,
        afterSeq: after ? decodeCursor(Streams.factions, after) : undefined,
        shape: 'all',
        filter: (e) => e.type === 'FactionInfluenceChanged',
      });
    },

    /** A game master's shift: validated, then applied. */
    shift(factionId: string, delta: number, reasonInput: string) {
      validNumber('delta', delta, -influenceBounds.max, influenceBounds.max);
      if (delta === 0) throw badInput('delta', '"delta" must not be 0.');
      const reason = validText('reason', reasonInput, 200);
      return events.transact((tx, append) => factions.applyShift(tx, append, factionId, delta, reason));
    },
  };
  return factions;
}
