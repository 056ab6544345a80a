import { authorize } from '../auth.js';
import { builder } from '../builder.js';
import type { Severity } from '../domain/world.js';
import { withCursor, type CursoredEvent } from '../events/event-log.js';

const SeverityEnum = builder.enumType('Severity', {
  description: 'How much a world event matters.',
  values: {
    INFO: { description: 'Worth knowing.' },
    WARNING: { description: 'Worth acting on: a big market move, a faction shift.' },
    CRITICAL: { description: 'Drop everything: a crash, a coup.' },
  } satisfies Record<Severity, unknown>,
});

const WorldEvent = builder.objectRef<CursoredEvent<'WorldEvent'>>('WorldEvent').implement({
  description: 'A notable happening: market crashes, faction shifts, turn outcomes, operator announcements.',
  fields: (t) => ({
    cursor: t.exposeString('cursor', { description: 'Position in the world stream; pass as `after` to resume.' }),
    id: t.id({ description: 'Stable identifier.', resolve: (e) => `world-${e.seq}` }),
    kind: t.string({ description: 'Machine-readable kind, e.g. "market.crash", "faction.shift", "turn.resolved", "announcement".', resolve: (e) => e.payload.kind }),
    message: t.string({ description: 'Human-readable text.', resolve: (e) => e.payload.message }),
    severity: t.field({ type: SeverityEnum, description: 'How much it matters.', resolve: (e) => e.payload.severity }),
    at: t.field({ type: 'DateTime', description: 'When it happened.', resolve: (e) => e.at }),
  }),
});

builder.queryField('worldEvents', (t) =>
  t.field({
    type: [WorldEvent],
    description: 'The newest world events, newest first.',
    args: { last: t.arg.int({ description: 'How many (1–200). Default 20.' }) },
    resolve: async (_root, { last }, { services }) =>
      (await services.world.latest(last ?? undefined)).map((entry) => withCursor(entry) as CursoredEvent<'WorldEvent'>),
  }),
);

builder.mutationField('announceWorldEvent', (t) =>
  t.field({
    type: WorldEvent,
    description: 'Posts a world event (GAME_MASTER).',
    args: {
      message: t.arg.string({ required: true, description: 'Text, 1–500 characters.' }),
      kind: t.arg.string({ description: 'Machine-readable kind. Default "announcement".' }),
      severity: t.arg({ type: SeverityEnum, description: 'Default INFO.' }),
    },
    resolve: async (_root, { message, kind, severity }, { viewer, services }) => {
      authorize(viewer, 'announceWorldEvent');
      return withCursor(await services.world.announce(message, kind ?? undefined, severity ?? undefined));
    },
  }),
);

builder.subscriptionField('worldEvents', (t) =>
  t.field({
    type: WorldEvent,
    description: 'World events as they happen, optionally only of some `kinds`.',
    args: {
      kinds: t.arg.stringList({ description: 'Only these kinds, at most 50. All when omitted.' }),
      after: t.arg.string({ description: 'Replay every event after this cursor first, then continue live.' }),
    },
    subscribe: (_root, args, { services }) => services.world.feed(args),
    resolve: (event) => event,
  }),
);
