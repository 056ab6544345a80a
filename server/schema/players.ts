import type { Role, Viewer } from '../auth.js';
import { builder } from '../builder.js';
import type { PlayerRef } from '../events/topics.js';
import { apiError, ErrorCode } from '../errors.js';

export const RoleEnum = builder.enumType('Role', {
  description: 'What a token may do.',
  values: {
    PLAYER: { description: 'Trades, joins games and submits choices.' },
    GAME_MASTER: { description: 'Everything a player can, plus set prices, shift influence, announce events and resolve any turn.' },
    BOT: { description: 'Reads and subscribes; mutates only what its token scopes allow.' },
  } satisfies Record<Role, unknown>,
});

export const Player = builder.objectRef<PlayerRef>('Player').implement({
  description: 'Someone (or something) holding a token: a person, a game master or a bot.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Stable identifier; the `sub` of their tokens.' }),
    name: t.exposeString('name', { description: 'Display name, 1–40 characters.' }),
    role: t.field({ type: RoleEnum, description: 'What this player may do.', resolve: (p) => p.role as Role }),
  }),
});

/** The caller as the player reference events carry. */
export const asPlayer = (viewer: Viewer): PlayerRef => ({ id: viewer.id, name: viewer.name, role: viewer.role });

const SignInPayload = builder.objectRef<{ token: string; player: PlayerRef }>('SignInPayload').implement({
  description: 'A fresh guest identity.',
  fields: (t) => ({
    token: t.exposeString('token', { description: 'Send as `Authorization: Bearer <token>` or in graphql-ws `connectionParams.authToken`.' }),
    player: t.field({ type: Player, description: 'The player the token belongs to.', resolve: (p) => p.player }),
  }),
});

builder.queryField('me', (t) =>
  t.field({
    type: Player,
    nullable: true,
    description: 'The caller, from their token; null when anonymous.',
    resolve: (_root, _args, { viewer }) => (viewer ? { id: viewer.id, name: viewer.name, role: viewer.role } : null),
  }),
);

builder.mutationField('signIn', (t) =>
  t.field({
    type: SignInPayload,
    description:
      'Creates a guest PLAYER and returns a token for it (valid for TOKEN_MAX_TTL, 30 days by default). At most 10 per 10 minutes per client address by default (SIGNIN_RATE): RATE_LIMITED beyond that. Disabled when the server runs with `GUEST_SIGNIN=false` (the production default): then tokens come from `npm run token`.',
    args: { name: t.arg.string({ required: true, description: 'Display name, 1–40 characters.' }) },
    resolve: async (_root, { name }, { services, address }) => {
      if (!services.guestSignIn) throw apiError(ErrorCode.Forbidden, 'Guest sign-in is disabled on this server; ask an operator for a token.');
      await services.limits.consume('signIn', [address]);
      const player = await services.players.create(name, 'PLAYER');
      const token = await services.tokens.sign({ ...player, role: 'PLAYER', scopes: [] });
      return { token, player };
    },
  }),
);

