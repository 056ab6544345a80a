/**
 * Game rooms: creating, joining and leaving games, choices and forced turn
 * resolution, and who may watch a game; no GraphQL in here. Every change
 * locks the game's row first, so on PostgreSQL concurrent mutations of one
 * game run one after another (SQLite serializes all transactions anyway) and
 * a turn resolves exactly once. The reads are in `game-views.ts`, turn
 * resolution in `turns.ts`, the tables' shared reads in `game-rows.ts`.
 */
import { randomInt } from 'node:crypto';
import { withCursor, type Append, type EventLog } from '../events/event-log.js';
import { Streams, type PlayerRef } from '../events/topics.js';
import { apiError, badInput, ErrorCode, excerpt } from '../errors.js';
import type { Store, Tx } from '../store/store.js';
import {
  choicesOf,
  currentScenario,
  ensurePlayer,
  gameNotFound,
  isPlayer,
  lockGame,
  membersOf,
  normalizeCode,
  notInGame,
  requireActive,
  type GameRow,
  type Member,
} from './game-rows.js';
import type { GameView, GameViews } from './game-views.js';
import { drawScenario, scenarioRef } from './scenarios.js';
import type { Turns } from './turns.js';
import { validInt, validName } from './validate.js';

/** Player limit of a game: `maxPlayers` defaults to 4 and may be 2–12. */
export const playerLimit = { min: 2, max: 12, default: 4 } as const;

/**
 * Join codes use uppercase letters and digits without lookalikes (0/O, 1/I/L),
 * so a code read aloud or off a screen is typed right: 31⁶ ≈ 887 million codes.
 */
export const joinCodeAlphabet = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';
/** Characters in a join code. */
export const joinCodeLength = 6;
/** Attempts at a fresh code before giving up (a collision is already rare). */
const joinCodeAttempts = 10;

/** A fresh random join code. */
export function newJoinCode(random: (max: number) => number = randomInt): string {
  let code = '';
  for (let i = 0; i < joinCodeLength; i++) code += joinCodeAlphabet[random(joinCodeAlphabet.length)];
  return code;
}

/**
 * Inserts a game under a fresh join code, with `player` (who has a player
 * row) as host and first player, at turn 1 with its scenario; resolves with
 * the code.
 */
async function insertGame(tx: Tx, append: Append, player: PlayerRef, name: string, maxPlayers: number): Promise<string> {
  for (let attempt = 0; attempt < joinCodeAttempts; attempt++) {
    const code = newJoinCode();
    const scenario = drawScenario(code, 1);
    const now = new Date().toISOString();
    // `do nothing` instead of catching a duplicate key: on PostgreSQL a failed insert aborts the transaction.
    const inserted = await tx
      .insertInto('games')
      .values({ code, name, status: 'ACTIVE', maxPlayers, turnNumber: 1, hostId: player.id, scenarioId: scenario.id, createdAt: now })
      .onConflict((oc) => oc.column('code').doNothing())
      .returning('code')
      .executeTakeFirst();
    if (!inserted) continue;
    await tx.insertInto('gamePlayers').values({ code, playerId: player.id, joinedAt: now, lastSeenAt: null }).execute();
    await append(Streams.game(code), 'PlayerJoined', { player });
    await append(Streams.game(code), 'ScenarioStarted', { turnNumber: 1, scenario: scenarioRef(scenario) });
    return code;
  }
  throw new Error(`no free join code after ${joinCodeAttempts} attempts`);
}

/** Refuses a turn-bound request (`expectedTurn`, when given) once the game is past that turn. */
function requireTurn(game: GameRow, expectedTurn: number | undefined, over: string): void {
  if (expectedTurn !== undefined && expectedTurn !== game.turnNumber) {
    throw apiError(ErrorCode.Conflict, `Turn ${expectedTurn} is ${over}; game ${game.code} is at turn ${game.turnNumber}.`, { field: 'turnNumber' });
  }
}

/**
 * What a leave does to the game's row: the last player out finishes the
 * game; a host leaving hands the role to the longest-standing remaining
 * player, who resolves (null when the host stayed or nobody did).
 */
async function afterLeave(tx: Tx, game: GameRow, leaver: PlayerRef, remaining: readonly Member[]): Promise<PlayerRef | null> {
  if (remaining.length === 0) {
    await tx.updateTable('games').set({ status: 'FINISHED', scenarioId: null }).where('code', '=', game.code).execute();
    return null;
  }
  if (game.hostId !== leaver.id) return null;
  const newHost = remaining[0]!.player;
  await tx.updateTable('games').set({ hostId: newHost.id }).where('code', '=', game.code).execute();
  return newHost;
}

/** Refuses a choice id that the game's current scenario does not offer. */
function requireChoice(game: GameRow, choiceId: string): void {
  const scenario = currentScenario(game);
  if (!scenario.choices.some((c) => c.id === choiceId)) {
    throw badInput('choiceId', `${excerpt(choiceId)} is not a choice of the current scenario (${scenario.choices.map((c) => c.id).join(', ')}).`);
  }
}

/** The game rooms' changes and access checks. */
export type Games = ReturnType<typeof createGames>;

/** What the games service works with. */
export interface GamesDeps {
  store: Store;
  events: EventLog;
  /** The games as the API shows them, returned after each change. */
  views: GameViews;
  /** Resolves a turn inside a game's transaction. */
  turns: Turns;
  /** Tells `presence` subscribers to look again after a join or a leave (`PresenceTransitions.onChange`); never rejects. */
  presenceChanged(code: string): Promise<void>;
}

/** The game rooms' changes and access checks. */
export function createGames(deps: GamesDeps) {
  const { store, events, views, turns, presenceChanged } = deps;
  const view = async (code: string) => (await views.view(code))!;

  return {
    /** Creates a game with `player` as host and first player, at turn 1 with its scenario. */
    async create(player: PlayerRef, nameInput: string, maxPlayers: number = playerLimit.default): Promise<GameView> {
      const name = validName('name', nameInput);
      validInt('maxPlayers', maxPlayers, playerLimit.min, playerLimit.max);
      const code = await events.transact(async (tx, append) => {
        await ensurePlayer(tx, player);
        return insertGame(tx, append, player, name, maxPlayers);
      });
      return view(code);
    },

    /** Joins a game; joining a game one is already in changes nothing. */
    async join(player: PlayerRef, codeInput: string): Promise<GameView> {
      const code = normalizeCode(codeInput);
      const joined = await events.transact(async (tx, append) => {
        const game = await lockGame(store, tx, code);
        requireActive(game);
        const members = await membersOf(tx, code);
        if (members.some((m) => m.player.id === player.id)) return false;
        if (members.length >= game.maxPlayers) {
          throw apiError(ErrorCode.GameFull, `Game ${code} is full (${game.maxPlayers} players).`, { field: 'code' });
        }
        await ensurePlayer(tx, player);
        await tx.insertInto('gamePlayers').values({ code, playerId: player.id, joinedAt: new Date().toISOString(), lastSeenAt: null }).execute();
        await append(Streams.game(code), 'PlayerJoined', { player });
        return true;
      });
      if (joined) await presenceChanged(code);
      return view(code);
    },

    /**
     * Leaves a game. The leaver's choice of the current turn leaves with them;
     * a host leaving hands the role to the longest-standing remaining player;
     * the last player out finishes the game. When everyone remaining has
     * already chosen, the turn resolves at once.
     */
    async leave(player: PlayerRef, codeInput: string): Promise<GameView> {
      const code = normalizeCode(codeInput);
      await events.transact(async (tx, append) => {
        const game = await lockGame(store, tx, code);
        requireActive(game);
        const members = await membersOf(tx, code);
        if (!members.some((m) => m.player.id === player.id)) throw notInGame(code);
        await tx.deleteFrom('gamePlayers').where('code', '=', code).where('playerId', '=', player.id).execute();
        await tx.deleteFrom('choices').where('code', '=', code).where('turnNumber', '=', game.turnNumber).where('playerId', '=', player.id).execute();
        const remaining = members.filter((m) => m.player.id !== player.id);
        const newHost = await afterLeave(tx, game, player, remaining);
        await append(Streams.game(code), 'PlayerLeft', { player, newHost, remainingPlayers: remaining.length });
        if (remaining.length === 0) return;
        const chosen = await choicesOf(tx, code, game.turnNumber, remaining);
        if (chosen.length === remaining.length) await turns.resolve(tx, append, { ...game, hostId: newHost?.id ?? game.hostId }, remaining, null);
      });
      await presenceChanged(code);
      return view(code);
    },

    /**
     * Records `player`'s choice for the current turn and appends
     * `ChoiceSubmitted` with the turn's progress; the last missing choice
     * resolves the turn in the same transaction. `expectedTurn`, when given,
     * must be the current turn (a choice meant for a turn that just resolved
     * is refused rather than counted for the next one).
     */
    async submitChoice(player: PlayerRef, codeInput: string, choiceId: string, expectedTurn?: number) {
      const code = normalizeCode(codeInput);
      return events.transact(async (tx, append) => {
        const game = await lockGame(store, tx, code);
        requireActive(game);
        const members = await membersOf(tx, code);
        if (!members.some((m) => m.player.id === player.id)) throw notInGame(code);
        requireTurn(game, expectedTurn, 'over');
        requireChoice(game, choiceId);
        const chosen = await choicesOf(tx, code, game.turnNumber, members);
        if (chosen.some((c) => c.playerId === player.id)) {
          throw apiError(ErrorCode.Conflict, `You already chose in turn ${game.turnNumber}.`, { field: 'choiceId' });
        }
        await tx
          .insertInto('choices')
          .values({ code, turnNumber: game.turnNumber, playerId: player.id, choiceId, at: new Date().toISOString() })
          .execute();
        const done = new Set([...chosen.map((c) => c.playerId), player.id]);
        const waitingFor = members.filter((m) => !done.has(m.player.id)).map((m) => m.player);
        const submitted = await append(Streams.game(code), 'ChoiceSubmitted', {
          player,
          turnNumber: game.turnNumber,
          choicesSubmitted: done.size,
          totalPlayers: members.length,
          allSubmitted: waitingFor.length === 0,
          waitingFor,
        });
        if (waitingFor.length === 0) await turns.resolve(tx, append, game, members, null);
        return withCursor(submitted);
      });
    },

    /**
     * Forces the current turn to resolve with the choices made so far. Only
     * the host may, unless `mayResolveAny` (a game master).
     */
    async resolveTurn(caller: PlayerRef, mayResolveAny: boolean, codeInput: string, expectedTurn?: number) {
      const code = normalizeCode(codeInput);
      return events.transact(async (tx, append) => {
        const game = await lockGame(store, tx, code);
        if (game.hostId !== caller.id && !mayResolveAny) {
          throw apiError(ErrorCode.Forbidden, `Only the host of game ${code} or a game master may resolve its turn.`, { field: 'code' });
        }
        requireActive(game);
        requireTurn(game, expectedTurn, 'already resolved');
        return withCursor(await turns.resolve(tx, append, game, await membersOf(tx, code), caller));
      });
    },

    /** The game row of an active game `playerId` plays in: NOT_FOUND, CONFLICT (finished) or NOT_IN_GAME otherwise. */
    async requirePlayer(codeInput: string, playerId: string): Promise<GameRow> {
      const code = normalizeCode(codeInput);
      const game = await store.db.selectFrom('games').selectAll().where('code', '=', code).executeTakeFirst();
      if (!game) throw gameNotFound(code);
      requireActive(game);
      if (!(await isPlayer(store.db, code, playerId))) throw notInGame(code);
      return game;
    },

    /**
     * Whether `playerId` may watch the game's events and presence: players of
     * the game may, and so may callers with `mayWatchAny` (game masters).
     * Resolves with whether the caller is a player (only players count as
     * online); NOT_FOUND or NOT_IN_GAME otherwise.
     */
    async watchAccess(codeInput: string, playerId: string, mayWatchAny: boolean): Promise<{ code: string; isPlayer: boolean }> {
      const code = normalizeCode(codeInput);
      const game = await store.db.selectFrom('games').select('code').where('code', '=', code).executeTakeFirst();
      if (!game) throw gameNotFound(code);
      const player = await isPlayer(store.db, code, playerId);
      if (!player && !mayWatchAny) throw notInGame(code);
      return { code, isPlayer: player };
    },
  };
}
