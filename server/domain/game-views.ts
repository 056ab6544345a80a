/**
 * Game rooms as the API shows them: one game, a page of `games`, who is
 * online in a game, and the feed of its events. Reads only; the changes are
 * in `games.ts`, the live `presence` subscription in `live/presence.ts`.
 */
import { badInput } from '../errors.js';
import { decodeCursor, encodeCursor, type EventLog } from '../events/event-log.js';
import { Streams, type EventType, type PlayerRef } from '../events/topics.js';
import type { PresenceTracker } from '../presence/tracker.js';
import type { Store } from '../store/store.js';
import { choicesOfMany, currentScenario, isPlayer, membersOf, membersOfMany, normalizeCode, type GameStatus } from './game-rows.js';
import type { Scenario } from './scenarios.js';
import { validInt } from './validate.js';

/** Page size of `games`: `first` defaults to 50 and may be 1–100. */
export const gamesPage = { default: 50, max: 100 } as const;

/** The event types of a game's stream; all of them are `GameEvent`s. */
export const gameEventTypes = [
  'PlayerJoined',
  'PlayerLeft',
  'PlayerConnected',
  'PlayerDisconnected',
  'ChoiceSubmitted',
  'TurnResolved',
  'ScenarioStarted',
  'PlayerTyping',
] as const satisfies readonly EventType[];
/** The type of an event of a game's stream. */
export type GameEventType = (typeof gameEventTypes)[number];

/** A player of a game as the API shows them. */
export interface GamePlayerView {
  player: PlayerRef;
  joinedAt: string;
  isHost: boolean;
  hasChosen: boolean;
  online: boolean;
  lastSeenAt: string | null;
}

/** A game as the API shows it. */
export interface GameView {
  code: string;
  name: string;
  status: GameStatus;
  maxPlayers: number;
  turnNumber: number;
  createdAt: string;
  host: PlayerRef;
  players: GamePlayerView[];
  scenario: Scenario | null;
  /** Position of the game's stream read before the rest of the view: nothing after it is missing from the view. */
  cursor: string;
}

/** Who is online in a game. */
export interface PresenceView {
  code: string;
  onlineCount: number;
  totalPlayers: number;
  players: { player: PlayerRef; online: boolean; lastSeenAt: string | null }[];
}

/** What the game views read from. */
export interface GameViewsDeps {
  store: Store;
  /** For the stream heads the views' cursors come from. */
  events: EventLog;
  /** Who is online right now (the store only has when they were last seen); a feed's holder is held online through it. */
  presence: PresenceTracker;
}

/** Reads of game rooms as the API shows them. */
export type GameViews = ReturnType<typeof createGameViews>;

/** The reads of game rooms: a game, a page of games, a game's presence, its event feed. */
export function createGameViews({ store, events, presence }: GameViewsDeps) {
  /**
   * The games of `codes` (normalized) as the API shows them, in that order;
   * codes without a game are left out. A fixed handful of statements however
   * many codes (heads, games, players, choices, and missing hosts if any), so
   * a page of `games` costs what one game does; presence is one snapshot per
   * game, issued together.
   */
  const views = async (codes: readonly string[]): Promise<GameView[]> => {
    if (codes.length === 0) return [];
    // The heads first: events after them may already show in the views, but none before them can be missing.
    const heads = await events.heads(codes.map((code) => Streams.game(code)));
    const rows = await store.db.selectFrom('games').selectAll().where('code', 'in', codes).execute();
    if (rows.length === 0) return [];
    const byCode = new Map(rows.map((g) => [g.code, g]));
    const found = codes.filter((code) => byCode.has(code));
    const members = await membersOfMany(store.db, found);
    const chosen = await choicesOfMany(store.db, rows, members);
    const online = new Map(
      await Promise.all(found.map(async (code) => [code, new Map((await presence.snapshot(code)).map((o) => [o.playerId, o]))] as const)),
    );
    // A host who left (the last player of a finished game) is no longer a member: read them in one go.
    const missingHosts = [...new Set(rows.filter((g) => !members.get(g.code)!.some((m) => m.player.id === g.hostId)).map((g) => g.hostId))];
    const formerHosts = new Map(
      missingHosts.length
        ? (await store.db.selectFrom('players').select(['id', 'name', 'role']).where('id', 'in', missingHosts).execute()).map((p) => [p.id, p])
        : [],
    );
    return found.map((code) => {
      const game = byCode.get(code)!;
      const players = members.get(code)!;
      const choosers = chosen.get(code)!;
      const onlineHere = online.get(code)!;
      const host = players.find((m) => m.player.id === game.hostId)?.player ??
        formerHosts.get(game.hostId) ?? { id: game.hostId, name: 'unknown', role: 'PLAYER' };
      return {
        code,
        name: game.name,
        status: game.status as GameStatus,
        maxPlayers: game.maxPlayers,
        turnNumber: game.turnNumber,
        createdAt: game.createdAt,
        host,
        players: players.map((m) => ({
          player: m.player,
          joinedAt: m.joinedAt,
          isHost: m.player.id === game.hostId,
          hasChosen: choosers.has(m.player.id),
          online: onlineHere.has(m.player.id),
          lastSeenAt: onlineHere.get(m.player.id)?.lastSeenAt ?? m.lastSeenAt,
        })),
        scenario: game.status === 'FINISHED' ? null : currentScenario(game),
        cursor: encodeCursor(Streams.game(code), heads.get(Streams.game(code)) ?? 0),
      };
    });
  };

  return {
    /** The game as the API shows it, or undefined for an unknown code. */
    async view(codeInput: string): Promise<GameView | undefined> {
      return (await views([normalizeCode(codeInput)]))[0];
    },

    /**
     * Games `playerId` plays in, or every game when `everything` (game
     * masters); newest first, at most `first` ({@link gamesPage}), starting
     * after the game whose code is `after` (the last one of the previous page).
     */
    async list(playerId: string, everything: boolean, page: { status?: GameStatus; first?: number; after?: string } = {}): Promise<GameView[]> {
      const { status, first = gamesPage.default, after } = page;
      validInt('first', first, 1, gamesPage.max);
      let query = store.db
        .selectFrom('games')
        .select('games.code')
        .orderBy('games.createdAt', 'desc')
        .orderBy('games.code')
        .limit(first);
      if (after !== undefined) {
        // Only a game the caller may list can be a page boundary: otherwise
        // `after` would tell whether any join code exists, past the join-code miss limit.
        let boundary = store.db.selectFrom('games').select(['games.createdAt', 'games.code']).where('games.code', '=', normalizeCode(after));
        if (!everything) boundary = boundary.innerJoin('gamePlayers', 'gamePlayers.code', 'games.code').where('gamePlayers.playerId', '=', playerId);
        const from = await boundary.executeTakeFirst();
        if (!from) throw badInput('after', `"after" must be the code of a game from the previous page.`);
        // Keyset pagination in the list's own order: stable while games are created meanwhile.
        query = query.where((eb) =>
          eb.or([eb('games.createdAt', '<', from.createdAt), eb.and([eb('games.createdAt', '=', from.createdAt), eb('games.code', '>', from.code)])]),
        );
      }
      if (!everything) {
        query = query.where(({ exists, selectFrom }) =>
          exists(
            selectFrom('gamePlayers')
              .select('gamePlayers.code')
              .whereRef('gamePlayers.code', '=', 'games.code')
              .where('gamePlayers.playerId', '=', playerId),
          ),
        );
      }
      if (status) query = query.where('games.status', '=', status);
      const rows = await query.execute();
      return views(rows.map((r) => r.code));
    },

    /** Who is online in the game right now, from the same sources as `GamePlayer.online`. */
    async presence(code: string): Promise<PresenceView> {
      const members = await membersOf(store.db, code);
      const online = new Map((await presence.snapshot(code)).map((o) => [o.playerId, o]));
      const players = members.map((m) => ({
        player: m.player,
        online: online.has(m.player.id),
        lastSeenAt: online.get(m.player.id)?.lastSeenAt ?? m.lastSeenAt,
      }));
      return { code, onlineCount: players.filter((p) => p.online).length, totalPlayers: players.length, players };
    },

    /**
     * The `gameEvents` feed: the game's events in commit order (after the
     * `after` cursor from the log first), only of `only` types when given.
     * While it runs, `holder` (a player of the game) counts as online; their
     * feed ends when they leave the game. Call `Games.watchAccess` first.
     */
    feed(code: string, { after, holder, only }: { after?: string | null; holder: PlayerRef | null; only?: readonly GameEventType[] | null }) {
      const stream = Streams.game(code);
      const types = only ? new Set<string>(only) : undefined;
      return events.feed<GameEventType>({
        stream,
        afterSeq: after ? decodeCursor(stream, after) : undefined,
        // Every watcher sees the same events of a game (access is checked before).
        shape: types ? `types=${[...types].sort().join(',')}` : 'all',
        filter: types ? (e) => types.has(e.type) : () => true,
        endsFor: holder?.id,
        leaverOf: (e) => (e.type === 'PlayerLeft' ? e.payload.player.id : undefined),
        // A replayed leave only counts if they did not rejoin since.
        stillLeft: holder ? async () => !(await isPlayer(store.db, code, holder.id)) : undefined,
        hold: holder ? () => presence.hold(code, holder) : undefined,
      });
    },
  };
}
