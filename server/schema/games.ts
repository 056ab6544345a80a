import { authorize, can, requireViewer } from '../auth.js';
import { builder } from '../builder.js';
import type { GameStatus } from '../domain/game-rows.js';
import { gamesPage, type GameEventType, type GamePlayerView, type GameView } from '../domain/game-views.js';
import { playerLimit } from '../domain/games.js';
import { choiceById, type InfluenceShift, type PriceNudge } from '../domain/scenarios.js';
import type { CursoredEvent } from '../events/event-log.js';
import type { ScenarioRef } from '../events/topics.js';
import { limitCodeGuesses } from '../limits/guards.js';
import { asPlayer, Player } from './players.js';

const GameStatusEnum = builder.enumType('GameStatus', {
  description: 'Whether a game is still being played.',
  values: {
    ACTIVE: { description: 'Players may join, choose and resolve turns.' },
    FINISHED: { description: 'The last player left; the game is over and changes nothing any more.' },
  } satisfies Record<GameStatus, unknown>,
});

const InfluenceShiftRef = builder.objectRef<InfluenceShift>('InfluenceShift').implement({
  description: "A shift of one faction's influence that a choice causes when it wins.",
  fields: (t) => ({
    factionId: t.exposeID('factionId', { description: 'The faction (see `factions`).' }),
    delta: t.exposeFloat('delta', { description: 'Influence points added (negative: removed); clamped to 0–100 when applied.' }),
  }),
});

const PriceNudgeRef = builder.objectRef<PriceNudge>('PriceNudge').implement({
  description: "A nudge of one stock's price that a choice causes when it wins.",
  fields: (t) => ({
    symbol: t.exposeString('symbol', { description: 'The stock (see `stocks`).' }),
    percent: t.exposeFloat('percent', { description: 'Price change in percent of the price at resolution (negative: down).' }),
  }),
});

const Choice = builder.objectRef<{ id: string; label: string }>('Choice').implement({
  description: 'One option of a scenario. Each player picks one per turn; the majority wins.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Pass as `choiceId` to `submitChoice`.' }),
    label: t.exposeString('label', { description: 'What the option says.' }),
    influenceShifts: t.field({
      type: [InfluenceShiftRef],
      description: 'Faction influence shifts if this choice wins.',
      resolve: (c) => choiceById(c.id)?.influence ?? [],
    }),
    priceNudges: t.field({
      type: [PriceNudgeRef],
      description: 'Stock price nudges if this choice wins.',
      resolve: (c) => choiceById(c.id)?.prices ?? [],
    }),
  }),
});

const Scenario = builder.objectRef<ScenarioRef>('Scenario').implement({
  description: "A dilemma put to a game's players for one turn, drawn from the built-in deck.",
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Stable identifier of the scenario in the deck (e.g. "plague").' }),
    theme: t.exposeString('theme', { description: 'Short theme, e.g. "Plague", "Trade war".' }),
    prompt: t.exposeString('prompt', { description: 'The situation, as told to the players.' }),
    choices: t.field({ type: [Choice], description: 'The 2–4 options, in the order ties are broken by.', resolve: (s) => s.choices }),
  }),
});

const GamePlayer = builder.objectRef<GamePlayerView>('GamePlayer').implement({
  description: 'A player of a game, with their presence and whether they chose this turn.',
  fields: (t) => ({
    player: t.field({ type: Player, description: 'Who.', resolve: (p) => p.player }),
    online: t.exposeBoolean('online', {
      description: "Whether they hold a live `gameEvents` or `presence` subscription to this game (or their last one ended less than the grace period ago).",
    }),
    hasChosen: t.exposeBoolean('hasChosen', { description: 'Whether they submitted a choice in the current turn (which one stays secret until it resolves).' }),
    lastSeenAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When one of their connections to this game last opened or closed; null if they never connected.',
      resolve: (p) => p.lastSeenAt,
    }),
    isHost: t.exposeBoolean('isHost', { description: 'Whether they host the game.' }),
    joinedAt: t.field({ type: 'DateTime', description: 'When they joined; the longest-standing player becomes host when the host leaves.', resolve: (p) => p.joinedAt }),
  }),
});

const Game = builder.objectRef<GameView>('Game').implement({
  description: 'A game room: players take turns choosing how the realm answers a scenario.',
  fields: (t) => ({
    code: t.exposeString('code', { description: 'Join code: 6 uppercase letters and digits without lookalikes (no 0, O, 1, I, L). Case-insensitive as input.' }),
    name: t.exposeString('name', { description: 'Display name, 1–40 characters.' }),
    status: t.field({ type: GameStatusEnum, description: 'ACTIVE until the last player leaves.', resolve: (g) => g.status }),
    maxPlayers: t.exposeInt('maxPlayers', { description: 'Player limit, 2–12.' }),
    turnNumber: t.exposeInt('turnNumber', { description: 'The current turn, from 1.' }),
    host: t.field({ type: Player, description: 'Who may force the turn to resolve (as may game masters).', resolve: (g) => g.host }),
    players: t.field({ type: [GamePlayer], description: 'Current players, longest-standing first.', resolve: (g) => g.players }),
    scenario: t.field({ type: Scenario, nullable: true, description: "The current turn's scenario; null once the game is finished.", resolve: (g) => g.scenario }),
    createdAt: t.field({ type: 'DateTime', description: 'When the game was created.', resolve: (g) => g.createdAt }),
    cursor: t.exposeString('cursor', {
      description:
        "Position in the game's event stream when this was read. Subscribe with `gameEvents(after: cursor)` to miss nothing since (events just after it may already show here).",
    }),
  }),
});

const GameEventTypeEnum = builder.enumType('GameEventType', {
  description: 'The kinds of `GameEvent`, by the name of their type; used to pick some with `gameEvents(types:)`.',
  values: {
    PlayerJoined: { description: 'A player joined.' },
    PlayerLeft: { description: 'A player left.' },
    PlayerConnected: { description: 'A player came online.' },
    PlayerDisconnected: { description: 'A player went offline.' },
    ChoiceSubmitted: { description: 'A player chose, with the turn’s progress.' },
    TurnResolved: { description: 'A turn resolved.' },
    ScenarioStarted: { description: 'A turn began with its scenario.' },
    PlayerTyping: { description: 'A player started or stopped typing.' },
  } satisfies Record<GameEventType, unknown>,
});

const GameEvent = builder.interfaceRef<CursoredEvent<GameEventType>>('GameEvent').implement({
  description: "Something that happened in a game room, in commit order. The concrete type says what; `PlayerTyping` is ephemeral and never replayed.",
  fields: (t) => ({
    cursor: t.exposeString('cursor', {
      description: "Position in the game's stream; pass as `after` to resume. A typing event carries the cursor of the last stored event before it.",
    }),
    at: t.field({ type: 'DateTime', description: 'When it happened.', resolve: (e) => e.at }),
  }),
  // Object type names are the log's event types.
  resolveType: (e) => e.type,
});

/** Each implementation's type name is the log's event type, which `resolveType` relies on. */
const gameEvent = <T extends GameEventType>(type: T) => builder.objectRef<CursoredEvent<T>>(type);

gameEvent('PlayerJoined').implement({
  description: 'A player joined the game (the host, when it was created).',
  interfaces: [GameEvent],
  fields: (t) => ({ player: t.field({ type: Player, description: 'Who joined.', resolve: (e) => e.payload.player }) }),
});

gameEvent('PlayerLeft').implement({
  description: 'A player left the game.',
  interfaces: [GameEvent],
  fields: (t) => ({
    player: t.field({ type: Player, description: 'Who left.', resolve: (e) => e.payload.player }),
    newHost: t.field({
      type: Player,
      nullable: true,
      description: 'The new host when the host left (the longest-standing remaining player); null otherwise.',
      resolve: (e) => e.payload.newHost,
    }),
    remainingPlayers: t.int({ description: 'Players still in the game; 0 means the game is now FINISHED.', resolve: (e) => e.payload.remainingPlayers }),
  }),
});

gameEvent('PlayerConnected').implement({
  description: 'A player came online: their first live subscription to the game started.',
  interfaces: [GameEvent],
  fields: (t) => ({ player: t.field({ type: Player, description: 'Who came online.', resolve: (e) => e.payload.player }) }),
});

gameEvent('PlayerDisconnected').implement({
  description: 'A player went offline: the grace period after their last subscription to the game ended without a reconnect.',
  interfaces: [GameEvent],
  fields: (t) => ({ player: t.field({ type: Player, description: 'Who went offline.', resolve: (e) => e.payload.player }) }),
});

const ChoiceSubmitted = gameEvent('ChoiceSubmitted').implement({
  description: 'A player chose in the current turn (which choice stays secret until the turn resolves), with the turn’s progress.',
  interfaces: [GameEvent],
  fields: (t) => ({
    player: t.field({ type: Player, description: 'Who chose.', resolve: (e) => e.payload.player }),
    turnNumber: t.int({ description: 'The turn chosen in.', resolve: (e) => e.payload.turnNumber }),
    choicesSubmitted: t.int({ description: 'Players who have chosen in this turn so far.', resolve: (e) => e.payload.choicesSubmitted }),
    totalPlayers: t.int({ description: 'Players in the game.', resolve: (e) => e.payload.totalPlayers }),
    allSubmitted: t.boolean({ description: 'Whether everyone has chosen; the turn resolves right after.', resolve: (e) => e.payload.allSubmitted }),
    waitingFor: t.field({ type: [Player], description: 'Players yet to choose, longest-standing first.', resolve: (e) => e.payload.waitingFor }),
  }),
});

const ChoiceVotes = builder.objectRef<{ choiceId: string; count: number }>('ChoiceVotes').implement({
  description: 'How many players picked one choice in a resolved turn.',
  fields: (t) => ({
    choice: t.field({ type: Choice, description: 'The choice.', resolve: (v) => choiceById(v.choiceId) ?? { id: v.choiceId, label: v.choiceId } }),
    count: t.exposeInt('count', { description: 'Players who picked it.' }),
  }),
});

const TurnResolved = gameEvent('TurnResolved').implement({
  description:
    "A turn resolved: the majority choice won (a tie goes to the choice listed first; no choices at all means the council dithers), its effects hit factions and the market, and `ScenarioStarted` follows.",
  interfaces: [GameEvent],
  fields: (t) => ({
    turnNumber: t.int({ description: 'The turn that resolved.', resolve: (e) => e.payload.turnNumber }),
    outcome: t.string({ description: 'What happened, in words.', resolve: (e) => e.payload.outcome }),
    choice: t.field({
      type: Choice,
      nullable: true,
      description: 'The winning choice; null when nobody chose.',
      resolve: (e) => (e.payload.choiceId ? (choiceById(e.payload.choiceId) ?? { id: e.payload.choiceId, label: e.payload.choiceId }) : null),
    }),
    votes: t.field({ type: [ChoiceVotes], description: 'Votes per choice, in scenario order.', resolve: (e) => e.payload.votes }),
    resolvedBy: t.field({
      type: Player,
      nullable: true,
      description: 'Who forced the resolution with `resolveTurn`; null when it resolved because everyone had chosen.',
      resolve: (e) => e.payload.resolvedBy,
    }),
  }),
});

gameEvent('ScenarioStarted').implement({
  description: 'A turn began with its scenario (turn 1 when the game is created, then after each resolution).',
  interfaces: [GameEvent],
  fields: (t) => ({
    turnNumber: t.int({ description: 'The turn that began.', resolve: (e) => e.payload.turnNumber }),
    scenario: t.field({ type: Scenario, description: "The turn's scenario.", resolve: (e) => e.payload.scenario }),
  }),
});

gameEvent('PlayerTyping').implement({
  description: 'A player started or stopped typing. Ephemeral: never stored, so never replayed by `after`.',
  interfaces: [GameEvent],
  fields: (t) => ({
    player: t.field({ type: Player, description: 'Who.', resolve: (e) => e.payload.player }),
    typing: t.boolean({ description: 'Whether they are typing; false also comes by itself when no new `true` arrives within the typing timeout (3 s by default).', resolve: (e) => e.payload.typing }),
  }),
});

builder.queryFields((t) => ({
  game: t.field({
    type: Game,
    nullable: true,
    description:
      "One game by join code (case-insensitive); null when there is none. Any signed-in caller may look a game up, e.g. before joining it; presence (`online`, `lastSeenAt`) is only shown to the game's players and game masters.",
    args: { code: t.arg.string({ required: true, description: 'Join code.' }) },
    resolve: async (_root, { code }, context) => {
      const caller = requireViewer(context.viewer);
      const view = await limitCodeGuesses(context, () => context.services.gameViews.view(code));
      if (!view) return null;
      // SPEC: only a game's players (and game masters) see its presence.
      const seesPresence = can(caller, 'watchAnyGame') || view.players.some((p) => p.player.id === caller.id);
      return seesPresence ? view : { ...view, players: view.players.map((p) => ({ ...p, online: false, lastSeenAt: null })) };
    },
  }),
  games: t.field({
    type: [Game],
    description: `The caller's games, newest first; a game master sees every game. Paginated: at most \`first\` games, then pass the last one's \`code\` as \`after\` for the next page.`,
    args: {
      status: t.arg({ type: GameStatusEnum, description: 'Only games with this status. All when omitted.' }),
      first: t.arg.int({ description: `How many games, 1–${gamesPage.max}. Default ${gamesPage.default}.` }),
      after: t.arg.string({ description: "The code of the last game of the previous page: the page starts after it." }),
    },
    resolve: (_root, { status, first, after }, { viewer, services }) => {
      const caller = requireViewer(viewer);
      return services.gameViews.list(caller.id, can(caller, 'watchAnyGame'), {
        status: status ?? undefined,
        first: first ?? undefined,
        after: after ?? undefined,
      });
    },
  }),
}));

builder.mutationFields((t) => ({
  createGame: t.field({
    type: Game,
    description: 'Creates a game with the caller as host and first player: ACTIVE, at turn 1 with a scenario. Share its `code` for others to join.',
    args: {
      name: t.arg.string({ required: true, description: 'Display name, 1–40 characters.' }),
      maxPlayers: t.arg.int({ description: `Player limit, ${playerLimit.min}–${playerLimit.max}. Default ${playerLimit.default}.` }),
    },
    resolve: async (_root, { name, maxPlayers }, { viewer, services }) => {
      const player = asPlayer(authorize(viewer, 'play'));
      await services.limits.consume('createGame', [player.id]);
      return services.games.create(player, name, maxPlayers ?? undefined);
    },
  }),
  joinGame: t.field({
    type: Game,
    description: 'Joins a game by code. Joining a game you are in changes nothing. GAME_FULL when full, NOT_FOUND for an unknown code, CONFLICT when finished.',
    args: { code: t.arg.string({ required: true, description: 'Join code (case-insensitive).' }) },
    resolve: (_root, { code }, context) =>
      limitCodeGuesses(context, () => context.services.games.join(asPlayer(authorize(context.viewer, 'play')), code)),
  }),
  leaveGame: t.field({
    type: Game,
    description:
      'Leaves a game; your choice of the current turn leaves with you. A leaving host hands the role to the longest-standing player; the last player out finishes the game. If everyone remaining has chosen, the turn resolves.',
    args: { code: t.arg.string({ required: true, description: 'Join code (case-insensitive).' }) },
    resolve: (_root, { code }, context) =>
      limitCodeGuesses(context, () => context.services.games.leave(asPlayer(authorize(context.viewer, 'play')), code)),
  }),
  submitChoice: t.field({
    type: ChoiceSubmitted,
    description:
      "Submits your choice for the current turn (one per turn: CONFLICT on a second). When it is the last missing choice, the turn resolves at once and `TurnResolved` follows on `gameEvents`.",
    args: {
      code: t.arg.string({ required: true, description: 'Join code (case-insensitive).' }),
      choiceId: t.arg.id({ required: true, description: "One of the current scenario's choice ids." }),
      turnNumber: t.arg.int({ description: 'The turn you are choosing for; CONFLICT if the game has moved past it. Any turn when omitted.' }),
    },
    resolve: async (_root, { code, choiceId, turnNumber }, context) => {
      const player = asPlayer(authorize(context.viewer, 'play'));
      await context.services.limits.consume('turn', [player.id]);
      return limitCodeGuesses(context, () => context.services.games.submitChoice(player, code, String(choiceId), turnNumber ?? undefined));
    },
  }),
  resolveTurn: t.field({
    type: TurnResolved,
    description: 'Resolves the current turn now, with the choices made so far (host or GAME_MASTER).',
    args: {
      code: t.arg.string({ required: true, description: 'Join code (case-insensitive).' }),
      turnNumber: t.arg.int({ description: 'The turn to resolve; CONFLICT if it already resolved (e.g. everyone chose meanwhile). The current one when omitted.' }),
    },
    resolve: async (_root, { code, turnNumber }, context) => {
      const caller = requireViewer(context.viewer);
      await context.services.limits.consume('turn', [caller.id]);
      return limitCodeGuesses(context, () =>
        context.services.games.resolveTurn(asPlayer(caller), can(caller, 'resolveAnyTurn'), code, turnNumber ?? undefined),
      );
    },
  }),
}));

builder.subscriptionField('gameEvents', (t) =>
  t.field({
    type: GameEvent,
    description:
      "Everything that happens in a game, in commit order (only its players and game masters may watch). While a player's subscription runs, they count as online.",
    args: {
      code: t.arg.string({ required: true, description: 'Join code (case-insensitive).' }),
      after: t.arg.string({ description: "Replay the game's stored events after this cursor first (typing is never stored), then continue live." }),
      types: t.arg({ type: [GameEventTypeEnum], description: 'Only events of these types. All when omitted.' }),
    },
    subscribe: async (_root, { code, after, types }, context) => {
      const { viewer, services } = context;
      const caller = requireViewer(viewer);
      const access = await limitCodeGuesses(context, () => services.games.watchAccess(code, caller.id, can(caller, 'watchAnyGame')));
      return services.gameViews.feed(access.code, { after, holder: access.isPlayer ? asPlayer(caller) : null, only: types });
    },
    resolve: (event) => event,
  }),
);
