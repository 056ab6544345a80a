import { randomInt } from 'node:crypto';
import { Repeater } from 'graphql-yoga';
import { decodeCursor, encodeCursor, withCursor, type Append, type EventLog } from '../events/event-log.js';
import type { RealmPubSub } from '../events/pubsub.js';
import { createSharedWatchers, orderedPush } from '../live/shared-watchers.js';
import { Streams, type EventType, type PlayerRef } from '../events/topics.js';
import { apiError, badInput, ErrorCode, excerpt } from '../errors.js';
import type { Logger } from '../logger.js';
import type { PresenceTracker } from '../presence/tracker.js';
import type { Release } from '../release.js';
import type { Database, Db, Store, Tx } from '../store/store.js';
import type { TurnEconomy } from './economy.js';
import type { Factions } from './factions.js';
import type { Market } from './market.js';
import { drawScenario, scenarioById, scenarioRef, tallyTurn, type Scenario, type ScenarioChoice } from './scenarios.js';
import { fromCents, validInt, validName } from './validate.js';

/** ACTIVE until the last player leaves, then FINISHED for good. */
export type GameStatus = 'ACTIVE' | 'FINISHED';

/** Page size of `games`: `first` defaults to 50 and may be 1–100. */
export const gamesPage = { default: 50, max: 100 } as const;

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

/** A row of the `games` table. */
export type GameRow = Database['games'];

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

interface Member {
  player: PlayerRef;
  joinedAt: string;
  lastSeenAt: string | null;
}

/** Join codes are case-insensitive: every input is trimmed and uppercased. */
export const normalizeCode = (code: string) => code.trim().toUpperCase();

/** A fresh random join code. */
export function newJoinCode(random: (max: number) => number = randomInt): string {
  let code = '';
  for (let i = 0; i < joinCodeLength; i++) code += joinCodeAlphabet[random(joinCodeAlphabet.length)];
  return code;
}

export type Games = ReturnType<typeof createGames>;

/** What the games service works with. */
export interface GamesDeps {
  store: Store;
  events: EventLog;
  pubsub: RealmPubSub;
  market: Market;
  factions: Factions;
  presence: PresenceTracker;
  logger: Logger;
  /** Scales turn effects and keeps them within the world's budget. */
  economy: TurnEconomy;
}

/** The error for a join code no game has. */
const gameNotFound = (code: string) => apiError(ErrorCode.NotFound, `No game with code ${excerpt(code)}.`, { field: 'code' });

/**
 * Game rooms: membership, choices, turn resolution and room presence; no
 * GraphQL in here. Every change locks the game's row first, so on PostgreSQL
 * concurrent mutations of one game run one after another (SQLite serializes
 * all transactions anyway) and a turn resolves exactly once.
 */
export function createGames(deps: GamesDeps) {
  const { store, events, pubsub, market, factions, presence, logger, economy } = deps;

  const lockGame = async (tx: Tx, code: string): Promise<GameRow> => {
    const game = await store.lockForUpdate(tx.selectFrom('games').selectAll().where('code', '=', code)).executeTakeFirst();
    if (!game) throw gameNotFound(code);
    return game;
  };

  const requireActive = (game: GameRow) => {
    if (game.status === 'FINISHED') throw apiError(ErrorCode.Conflict, `Game ${game.code} is finished.`, { field: 'code' });
  };

  const isPlayer = async (code: string, playerId: string) =>
    Boolean(
      await store.db.selectFrom('gamePlayers').select('playerId').where('code', '=', code).where('playerId', '=', playerId).executeTakeFirst(),
    );

  const notInGame = (code: string) => apiError(ErrorCode.NotInGame, `You are not a player of game ${code}.`, { field: 'code' });

  /** Players of a game, longest-standing first (the order host hand-over follows). */
  const membersOf = async (db: Db, code: string): Promise<Member[]> => {
    const rows = await db
      .selectFrom('gamePlayers')
      .innerJoin('players', 'players.id', 'gamePlayers.playerId')
      .select(['players.id', 'players.name', 'players.role', 'gamePlayers.joinedAt', 'gamePlayers.lastSeenAt'])
      .where('gamePlayers.code', '=', code)
      .orderBy('gamePlayers.joinedAt')
      .orderBy('gamePlayers.playerId')
      .execute();
    return rows.map((r) => ({ player: { id: r.id, name: r.name, role: r.role }, joinedAt: r.joinedAt, lastSeenAt: r.lastSeenAt }));
  };

  /** Choices of the turn by current players (a leaver's choice left with them). */
  const choicesOf = async (db: Db, code: string, turnNumber: number, members: Member[]) => {
    const ids = new Set(members.map((m) => m.player.id));
    const rows = await db
      .selectFrom('choices')
      .select(['playerId', 'choiceId'])
      .where('code', '=', code)
      .where('turnNumber', '=', turnNumber)
      .orderBy('at')
      .execute();
    return rows.filter((r) => ids.has(r.playerId));
  };

  /** {@link membersOf} of several games in one statement, by code (every code gets a list). */
  const membersOfMany = async (db: Db, codes: readonly string[]): Promise<Map<string, Member[]>> => {
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
  };

  /**
   * Who of the current players chose in each game's current turn (the turn
   * of the row given, not whatever it is by now), in one statement.
   */
  const choicesOfMany = async (db: Db, rows: readonly GameRow[], members: Map<string, Member[]>): Promise<Map<string, Set<string>>> => {
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
  };

  /** Tokens can outlive a database reset; make sure the caller has a player row to join on. */
  const ensurePlayer = (tx: Tx, player: PlayerRef) =>
    tx
      .insertInto('players')
      .values({ ...player, createdAt: new Date().toISOString() })
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();

  const currentScenario = (game: GameRow): Scenario => (game.scenarioId && scenarioById(game.scenarioId)) || drawScenario(game.code, game.turnNumber);

  /** A `presence` subscription as its game's reader sees it. */
  interface PresenceMember {
    /** A snapshot, with its JSON and the ids of the game's players (to tell a leaver without a scan per subscriber). */
    deliver(view: PresenceView, serialized: string, playerIds: ReadonlySet<string>): void;
    fail(error: unknown): void;
  }
  interface PresenceReader {
    refresh(): void;
    unsubscribe(): void;
  }
  /** Snapshots read for `presence` subscribers so far (one per game per change). */
  let presenceReads = 0;
  /**
   * One presence reader per game per instance, shared by every `presence`
   * subscriber of the game on this instance: one pub/sub listener, and one
   * read and one serialization per change (and after a pub/sub reconnect). A
   * burst of changes costs one read: a read already queued sees them all.
   */
  const presenceReaders = createSharedWatchers<PresenceReader, PresenceMember>({
    async start(code, members) {
      let queue: Promise<unknown> = Promise.resolve();
      let queued = false;
      const read = async () => {
        queued = false;
        if (!members.size) return;
        presenceReads++;
        try {
          const view = await games.presence(code);
          const serialized = JSON.stringify(view);
          const playerIds = new Set(view.players.map((p) => p.player.id));
          for (const member of members) member.deliver(view, serialized, playerIds);
        } catch (error) {
          for (const member of members) member.fail(error);
        }
      };
      const reader: PresenceReader = {
        refresh() {
          if (queued) return;
          queued = true;
          // After the current I/O phase, so a subscriber's hold and its own refresh cost one read.
          setImmediate(() => (queue = queue.then(read)));
        },
        unsubscribe: () => {},
      };
      const unsubscribe = await pubsub.subscribe('presenceChanged', code, () => reader.refresh());
      // Changes published while pub/sub was away are lost: read again once it is back.
      const stopResync = pubsub.onReconnect(() => reader.refresh());
      reader.unsubscribe = () => {
        stopResync();
        unsubscribe();
      };
      return reader;
    },
    stop: (reader) => reader.unsubscribe(),
  });

  /** Tells `presence` subscribers to look again (players joined or left, came online or went offline). */
  const presenceChanged = async (code: string) => {
    try {
      await pubsub.publish('presenceChanged', code, { code });
    } catch (error) {
      // The change is committed; subscribers catch up on the next presence change.
      logger.error({ err: error, code }, 'presence publish failed');
    }
  };

  /**
   * A winning choice's effects, through the same code paths as the game
   * master's mutations, scaled by how many players backed it and cut to what
   * is left of each stock's and faction's budget (see `economy.ts`); resolves
   * whether anything moved. Lock order matters on PostgreSQL: every writer
   * takes faction rows, then the factions stream, then stock rows, then the
   * market stream, and the world stream last, so no two transactions wait on
   * each other in a cycle. Hence factions first (all rows locked up front, in
   * id order) and prices second; `applyPriceChanges` locks its stock rows up
   * front itself. The deck's shifts stay under the big-shift threshold, so no
   * world event is appended before the stocks.
   */
  const applyEffects = async (tx: Tx, append: Append, game: GameRow, choice: ScenarioChoice, backers: number): Promise<boolean> => {
    const reason = `Turn ${game.turnNumber} of "${game.name}": ${choice.label}`;
    const share = economy.scale(backers);
    const shifts = [];
    for (const shift of [...choice.influence].sort((a, b) => a.factionId.localeCompare(b.factionId))) {
      const faction = await store.lockForUpdate(tx.selectFrom('factions').select('id').where('id', '=', shift.factionId)).executeTakeFirst();
      // A faction or stock an operator removed is skipped rather than failing the turn.
      if (!faction) continue;
      const delta = await economy.influenceShift(tx, shift.factionId, shift.delta * share);
      if (delta !== 0) shifts.push({ factionId: shift.factionId, delta });
    }
    for (const { factionId, delta } of shifts) await factions.applyShift(tx, append, factionId, delta, reason);
    const changes = [];
    for (const { symbol, percent } of [...choice.prices].sort((a, b) => a.symbol.localeCompare(b.symbol))) {
      // Locked now (same order as `applyPriceChanges`), so the nudge applies to the price it replaces.
      const stock = await store.lockForUpdate(tx.selectFrom('stocks').select('priceCents').where('symbol', '=', symbol)).executeTakeFirst();
      if (!stock) continue;
      const move = await economy.priceMove(tx, symbol, percent * share);
      if (move !== 0) changes.push({ symbol, price: fromCents(Number(stock.priceCents)) * (1 + move / 100) });
    }
    if (changes.length) await market.applyPriceChanges(tx, append, changes);
    return shifts.length + changes.length > 0;
  };

  /**
   * Resolves the game's current turn inside the caller's transaction, which
   * holds the game row's lock: records the outcome (the `turns` primary key
   * refuses a second resolution of the same turn), applies its effects, posts
   * the world event, then appends `TurnResolved` and `ScenarioStarted`.
   */
  const resolveIn = async (tx: Tx, append: Append, game: GameRow, members: Member[], resolvedBy: PlayerRef | null) => {
    const scenario = currentScenario(game);
    const chosen = await choicesOf(tx, game.code, game.turnNumber, members);
    const result = tallyTurn(scenario, chosen.map((c) => c.choiceId));
    const now = new Date().toISOString();
    await tx.insertInto('turns').values({ code: game.code, turnNumber: game.turnNumber, outcome: result.outcome, resolvedAt: now }).execute();
    const backers = result.votes.find((v) => v.choiceId === result.choice?.id)?.count ?? 0;
    const moved = result.choice ? await applyEffects(tx, append, game, result.choice, backers) : false;
    // The public feed tells of turns that moved the world; the rest stay in their game's stream.
    if (moved) {
      await append(Streams.world, 'WorldEvent', {
        kind: 'turn.resolved',
        message: `"${game.name}" (${game.code}), turn ${game.turnNumber}: ${result.outcome}`,
        severity: 'INFO',
      });
    }
    const nextTurn = game.turnNumber + 1;
    const next = drawScenario(game.code, nextTurn);
    await tx.updateTable('games').set({ turnNumber: nextTurn, scenarioId: next.id }).where('code', '=', game.code).execute();
    const resolved = await append(Streams.game(game.code), 'TurnResolved', {
      turnNumber: game.turnNumber,
      outcome: result.outcome,
      choiceId: result.choice?.id ?? null,
      scenarioId: scenario.id,
      votes: result.votes,
      resolvedBy,
    });
    await append(Streams.game(game.code), 'ScenarioStarted', { turnNumber: nextTurn, scenario: scenarioRef(next) });
    return resolved;
  };

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

  const games = {
    presenceChanged,

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

    /** Creates a game with `player` as host and first player, at turn 1 with its scenario. */
    async create(player: PlayerRef, nameInput: string, maxPlayers: number = playerLimit.default): Promise<GameView> {
      const name = validName('name', nameInput);
      validInt('maxPlayers', maxPlayers, playerLimit.min, playerLimit.max);
      const code = await events.transact(async (tx, append) => {
        await ensurePlayer(tx, player);
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
      });
      return (await games.view(code))!;
    },

    /** Joins a game; joining a game one is already in changes nothing. */
    async join(player: PlayerRef, codeInput: string): Promise<GameView> {
      const code = normalizeCode(codeInput);
      const joined = await events.transact(async (tx, append) => {
        const game = await lockGame(tx, code);
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
      return (await games.view(code))!;
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
        const game = await lockGame(tx, code);
        requireActive(game);
        const members = await membersOf(tx, code);
        if (!members.some((m) => m.player.id === player.id)) throw notInGame(code);
        await tx.deleteFrom('gamePlayers').where('code', '=', code).where('playerId', '=', player.id).execute();
        await tx.deleteFrom('choices').where('code', '=', code).where('turnNumber', '=', game.turnNumber).where('playerId', '=', player.id).execute();
        const remaining = members.filter((m) => m.player.id !== player.id);
        let newHost: PlayerRef | null = null;
        if (remaining.length === 0) {
          await tx.updateTable('games').set({ status: 'FINISHED', scenarioId: null }).where('code', '=', code).execute();
        } else if (game.hostId === player.id) {
          newHost = remaining[0]!.player;
          await tx.updateTable('games').set({ hostId: newHost.id }).where('code', '=', code).execute();
        }
        await append(Streams.game(code), 'PlayerLeft', { player, newHost, remainingPlayers: remaining.length });
        if (remaining.length === 0) return;
        const chosen = await choicesOf(tx, code, game.turnNumber, remaining);
        if (chosen.length === remaining.length) await resolveIn(tx, append, { ...game, hostId: newHost?.id ?? game.hostId }, remaining, null);
      });
      await presenceChanged(code);
      return (await games.view(code))!;
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
        const game = await lockGame(tx, code);
        requireActive(game);
        const members = await membersOf(tx, code);
        if (!members.some((m) => m.player.id === player.id)) throw notInGame(code);
        if (expectedTurn !== undefined && expectedTurn !== game.turnNumber) {
          throw apiError(ErrorCode.Conflict, `Turn ${expectedTurn} is over; game ${code} is at turn ${game.turnNumber}.`, { field: 'turnNumber' });
        }
        const scenario = currentScenario(game);
        if (!scenario.choices.some((c) => c.id === choiceId)) {
          throw badInput('choiceId', `${excerpt(choiceId)} is not a choice of the current scenario (${scenario.choices.map((c) => c.id).join(', ')}).`);
        }
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
        if (waitingFor.length === 0) await resolveIn(tx, append, game, members, null);
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
        const game = await lockGame(tx, code);
        if (game.hostId !== caller.id && !mayResolveAny) {
          throw apiError(ErrorCode.Forbidden, `Only the host of game ${code} or a game master may resolve its turn.`, { field: 'code' });
        }
        requireActive(game);
        if (expectedTurn !== undefined && expectedTurn !== game.turnNumber) {
          throw apiError(ErrorCode.Conflict, `Turn ${expectedTurn} is already resolved; game ${code} is at turn ${game.turnNumber}.`, {
            field: 'turnNumber',
          });
        }
        return withCursor(await resolveIn(tx, append, game, await membersOf(tx, code), caller));
      });
    },

    /** The game row of an active game `playerId` plays in: NOT_FOUND, CONFLICT (finished) or NOT_IN_GAME otherwise. */
    async requirePlayer(codeInput: string, playerId: string): Promise<GameRow> {
      const code = normalizeCode(codeInput);
      const game = await store.db.selectFrom('games').selectAll().where('code', '=', code).executeTakeFirst();
      if (!game) throw gameNotFound(code);
      requireActive(game);
      if (!(await isPlayer(code, playerId))) throw notInGame(code);
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
      const player = await isPlayer(code, playerId);
      if (!player && !mayWatchAny) throw notInGame(code);
      return { code, isPlayer: player };
    },

    /**
     * The `gameEvents` feed: the game's events in commit order (after the
     * `after` cursor from the log first), only of `only` types when given.
     * While it runs, `holder` (a player of the game) counts as online; their
     * feed ends when they leave the game. Call {@link watchAccess} first.
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
        stillLeft: holder ? async () => !(await isPlayer(code, holder.id)) : undefined,
        hold: holder ? () => presence.hold(code, holder) : undefined,
      });
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
     * The game's presence at once, then again whenever it changes (identical
     * consecutive snapshots are sent once). While it runs, `holder` counts as online.
     */
    watchPresence(code: string, holder: PlayerRef | null): Repeater<PresenceView> {
      return new Repeater<PresenceView>(async (push, stop) => {
        let last = '';
        const send = orderedPush(push, stop);
        const member: PresenceMember = {
          deliver(view, serialized, playerIds) {
            // A player who left stops seeing the room's presence.
            if (holder && !playerIds.has(holder.id)) return void stop();
            if (serialized === last) return;
            last = serialized;
            send(view);
          },
          fail: stop,
        };
        const { watcher, leave } = await presenceReaders.join(code, member);
        let release: Release | undefined;
        try {
          // Held per subscription: the player stays online while any of theirs runs.
          release = holder ? await presence.hold(code, holder) : undefined;
          // The snapshot at once, even when the hold changed nothing (the player was online already).
          watcher.refresh();
          await stop;
        } finally {
          leave();
          await release?.();
        }
      });
    },

    /** Counters of the shared presence readers: games read, their subscribers, snapshots read. */
    presenceStats() {
      const { watchers, members } = presenceReaders.stats();
      return { games: watchers, subscribers: members, reads: presenceReads };
    },

    /**
     * Records a presence transition from the tracker: appends
     * `PlayerConnected`/`PlayerDisconnected` and keeps `lastSeenAt` in the
     * store, so it survives the tracker. Nothing is recorded for someone who
     * is no longer a player of the game.
     */
    async recordPresence(code: string, player: PlayerRef, online: boolean, at: string) {
      await events.transact(async (tx, append) => {
        const updated = await tx
          .updateTable('gamePlayers')
          .set({ lastSeenAt: at })
          .where('code', '=', code)
          .where('playerId', '=', player.id)
          .executeTakeFirst();
        if (Number(updated.numUpdatedRows) === 0) return;
        await append(Streams.game(code), online ? 'PlayerConnected' : 'PlayerDisconnected', { player });
      });
    },
  };
  return games;
}
