/**
 * The tables of a game room (`games`, `gamePlayers`, `choices`) as the
 * game-room modules read them: row types, the guards every mutation runs
 * first, and the reads they share. Plain functions over a query builder, so
 * a read runs inside a transaction (`tx`) or outside it (`store.db`) alike.
 */
import { apiError, ErrorCode, excerpt } from '../errors.js';
import type { PlayerRef } from '../events/topics.js';
import type { Database, Db, Store, Tx } from '../store/store.js';
import { drawScenario, scenarioById, type Scenario } from './scenarios.js';

/** ACTIVE until the last player leaves, then FINISHED for good. */
export type GameStatus = 'ACTIVE' | 'FINISHED';

/** A row of the `games` table. */
export type GameRow = Database['games'];

/** A player of a game, with when they joined and when they were last seen (from the store). */
export interface Member {
  player: PlayerRef;
  joinedAt: string;
  lastSeenAt: string | null;
}

/** Join codes are case-insensitive: every input is trimmed and uppercased. */
export const normalizeCode = (code: string) => code.trim().toUpperCase();

/** The error for a join code no game has. */
export const gameNotFound = (code: string) => apiError(ErrorCode.NotFound, `No game with code ${excerpt(code)}.`, { field: 'code' });

/** The error for a caller who is not a player of the game. */
export const notInGame = (code: string) => apiError(ErrorCode.NotInGame, `You are not a player of game ${code}.`, { field: 'code' });

/** Refuses any change to a finished game. */
export function requireActive(game: GameRow): void {
  if (game.status === 'FINISHED') throw apiError(ErrorCode.Conflict, `Game ${game.code} is finished.`, { field: 'code' });
}

/** The game's row, locked until `tx` ends (so changes of one game run one after another); NOT_FOUND otherwise. */
export async function lockGame(store: Store, tx: Tx, code: string): Promise<GameRow> {
  const game = await store.lockForUpdate(tx.selectFrom('games').selectAll().where('code', '=', code)).executeTakeFirst();
  if (!game) throw gameNotFound(code);
  return game;
}

/** Whether `playerId` is a player of the game right now. */
export const isPlayer = async (db: Db, code: string, playerId: string) =>
  Boolean(await db.selectFrom('gamePlayers').select('playerId').where('code', '=', code).where('playerId', '=', playerId).executeTakeFirst());

/** Players of a game, longest-standing first (the order host hand-over follows). */
export async function membersOf(db: Db, code: string): Promise<Member[]> {
  const rows = await db
    .selectFrom('gamePlayers')
    .innerJoin('players', 'players.id', 'gamePlayers.playerId')
    .select(['players.id', 'players.name', 'players.role', 'gamePlayers.joinedAt', 'gamePlayers.lastSeenAt'])
    .where('gamePlayers.code', '=', code)
    .orderBy('gamePlayers.joinedAt')
    .orderBy('gamePlayers.playerId')
    .execute();
  return rows.map((r) => ({ player: { id: r.id, name: r.name, role: r.role }, joinedAt: r.joinedAt, lastSeenAt: r.lastSeenAt }));
}

/** Choices of the turn by current players (a leaver's choice left with them). */
export async function choicesOf(db: Db, code: string, turnNumber: number, members: readonly Member[]) {
  const ids = new Set(members.map((m) => m.player.id));
  const rows = await db
    .selectFrom('choices')
    .select(['playerId', 'choiceId'])
    .where('code', '=', code)
    .where('turnNumber', '=', turnNumber)
    .orderBy('at')
    .execute();
  return rows.filter((r) => ids.has(r.playerId));
}

/** {@link membersOf} of several games in one statement, by code (every code gets a list). */
export async function membersOfMany(db: Db, codes: readonly string[]): Promise<Map<string, Member[]>> {
  const byCode = new Map<string, Member[]>(codes.map((code) => [code, []]));
  if (codes.length === 0) return byCode;
  const rows = await db
    .selectFrom('gamePlayers')
    .innerJoin('players', 'players.id', 'gamePlayers.playerId')
    .select(['gamePlayers.code', 'players.id', 'players.name', 'players.role', 'gamePlayers.joinedAt', 'gamePlayers.lastSeenAt'])
    .where('gamePlayers.code', 'in', codes)
    .orderBy('gamePlayers.joinedAt')
    .orderBy('gamePlayers.playerId')
    .execute();
  for (const r of rows) byCode.get(r.code)?.push({ player: { id: r.id, name: r.name, role: r.role }, joinedAt: r.joinedAt, lastSeenAt: r.lastSeenAt });
  return byCode;
}

/**
 * Who of the current players chose in each game's current turn (the turn
 * of the row given, not whatever it is by now), in one statement.
 */
export async function choicesOfMany(db: Db, rows: readonly GameRow[], members: Map<string, Member[]>): Promise<Map<string, Set<string>>> {
  const byCode = new Map<string, Set<string>>(rows.map((g) => [g.code, new Set()]));
  if (rows.length === 0) return byCode;
  const chosen = await db
    .selectFrom('choices')
    .select(['code', 'playerId'])
    .where((eb) => eb.or(rows.map((g) => eb.and([eb('code', '=', g.code), eb('turnNumber', '=', g.turnNumber)]))))
    .execute();
  for (const { code, playerId } of chosen) {
    if (members.get(code)?.some((m) => m.player.id === playerId)) byCode.get(code)?.add(playerId);
  }
  return byCode;
}

/** Tokens can outlive a database reset; make sure the caller has a player row to join on. */
export const ensurePlayer = (tx: Tx, player: PlayerRef) =>
  tx
    .insertInto('players')
    .values({ ...player, createdAt: new Date().toISOString() })
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();

/** The scenario put to the game's players this turn. */
export const currentScenario = (game: GameRow): Scenario => (game.scenarioId && scenarioById(game.scenarioId)) || drawScenario(game.code, game.turnNumber);
