import { authorize, can, requireViewer } from '../auth.js';
import { builder } from '../builder.js';
import { limitCodeGuesses } from '../limits/guards.js';
import type { PresenceView } from '../domain/game-views.js';
import { asPlayer, Player } from './players.js';

const PresenceEntry = builder.objectRef<PresenceView['players'][number]>('PresenceEntry').implement({
  description: 'Whether one player of a game is online.',
  fields: (t) => ({
    player: t.field({ type: Player, description: 'Who.', resolve: (p) => p.player }),
    online: t.exposeBoolean('online', {
      description: 'Whether they hold a live `gameEvents` or `presence` subscription to the game (or their last one ended less than the grace period ago).',
    }),
    lastSeenAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When one of their connections to the game last opened or closed; null if they never connected.',
      resolve: (p) => p.lastSeenAt,
    }),
  }),
});

const Presence = builder.objectRef<PresenceView>('Presence').implement({
  description: 'Who is online in a game right now.',
  fields: (t) => ({
    code: t.exposeString('code', { description: 'The game.' }),
    onlineCount: t.exposeInt('onlineCount', { description: 'Players online.' }),
    totalPlayers: t.exposeInt('totalPlayers', { description: 'Players in the game.' }),
    players: t.field({ type: [PresenceEntry], description: 'Every player of the game, longest-standing first.', resolve: (p) => p.players }),
  }),
});

builder.subscriptionField('presence', (t) =>
  t.field({
    type: Presence,
    description:
      "Who is online in a game: the snapshot at once, then a new one on every change (only its players and game masters may watch). While a player's subscription runs, they count as online; they go offline a grace period (PRESENCE_GRACE_MS, 5 s by default) after their last one ends.",
    args: { code: t.arg.string({ required: true, description: 'Join code (case-insensitive).' }) },
    subscribe: async (_root, { code }, context) => {
      const { viewer, services } = context;
      const caller = requireViewer(viewer);
      const access = await limitCodeGuesses(context, () => services.games.watchAccess(code, caller.id, can(caller, 'watchAnyGame')));
      return services.live.presence.watch(access.code, access.isPlayer ? asPlayer(caller) : null);
    },
    resolve: (presence) => presence,
  }),
);

builder.mutationField('setTyping', (t) =>
  t.field({
    type: 'Boolean',
    description:
      'Tells the game you are (not) typing: a `PlayerTyping` event on `gameEvents`, never stored. `typing: false` follows by itself 3 s (by default) after the last `true`. At most 5 calls per 5 s per player: RATE_LIMITED with `extensions.retryAfterMs` beyond that.',
    args: {
      code: t.arg.string({ required: true, description: 'Join code (case-insensitive).' }),
      typing: t.arg.boolean({ required: true, description: 'Whether you are typing.' }),
    },
    resolve: (_root, { code, typing }, context) =>
      limitCodeGuesses(context, () => context.services.typing.setTyping(asPlayer(authorize(context.viewer, 'play')), code, typing)),
  }),
);
