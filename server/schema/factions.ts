import { authorize } from '../auth.js';
import { builder } from '../builder.js';
import type { CursoredEvent } from '../events/event-log.js';
import type { FactionRef } from '../events/topics.js';

const Faction = builder.objectRef<FactionRef>('Faction').implement({
  description: 'A power in the realm, with influence from 0 to 100.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Stable identifier (e.g. "crown").' }),
    name: t.exposeString('name', { description: 'Display name.' }),
    influence: t.exposeFloat('influence', { description: 'Current influence, 0–100.' }),
    lastChange: t.exposeFloat('lastChange', { description: 'The most recent shift applied (negative when it lost influence).' }),
  }),
});

const FactionInfluenceChange = builder.objectRef<CursoredEvent<'FactionInfluenceChanged'>>('FactionInfluenceChange').implement({
  description: "A shift of one faction's influence.",
  fields: (t) => ({
    cursor: t.exposeString('cursor', { description: 'Position in the factions stream; pass as `after` to resume.' }),
    faction: t.field({ type: Faction, description: 'The faction as it is after the shift.', resolve: (e) => e.payload.faction }),
    delta: t.float({ description: 'Influence actually applied (shifts are clamped to 0–100).', resolve: (e) => e.payload.delta }),
    reason: t.string({ description: 'Why: a game master, a resolved turn, the AI.', resolve: (e) => e.payload.reason }),
    at: t.field({ type: 'DateTime', description: 'When it happened.', resolve: (e) => e.at }),
  }),
});

builder.queryField('factions', (t) =>
  t.field({
    type: [Faction],
    description: 'Every faction, most influential first.',
    resolve: (_root, _args, { services }) => services.factions.list(),
  }),
);

builder.mutationField('shiftFactionInfluence', (t) =>
  t.field({
    type: Faction,
    description: 'Shifts influence (GAME_MASTER), clamped to 0–100. A shift of 10 or more also posts a world event.',
    args: {
      factionId: t.arg.id({ required: true, description: 'Which faction.' }),
      delta: t.arg.float({ required: true, description: 'Influence to add (negative to remove), non-zero, within ±100.' }),
      reason: t.arg.string({ required: true, description: 'Why, 1–200 characters; shown in feeds.' }),
    },
    resolve: (_root, { factionId, delta, reason }, { viewer, services }) => {
      authorize(viewer, 'shiftFactionInfluence');
      return services.factions.shift(String(factionId), delta, reason);
    },
  }),
);

builder.subscriptionField('factionInfluenceChanged', (t) =>
  t.field({
    type: FactionInfluenceChange,
    description: 'Every influence shift, from any source.',
    args: { after: t.arg.string({ description: 'Replay every shift after this cursor first, then continue live.' }) },
    subscribe: (_root, args, { services }) => services.factions.changes(args),
    resolve: (event) => event,
  }),
);
