/**
 * Turn resolution of a game room: tallying the votes, recording the outcome,
 * applying the winning choice's effects within the world's budget and
 * starting the next turn. Plain domain rules, no GraphQL; the caller (see
 * `games.ts`) holds the game row's lock, so a turn resolves exactly once.
 */
import type { Append } from '../events/event-log.js';
import { Streams, type LogEntry, type PlayerRef } from '../events/topics.js';
import type { Store, Tx } from '../store/store.js';
import type { TurnEconomy } from './economy.js';
import type { Factions } from './factions.js';
import { choicesOf, currentScenario, type GameRow, type Member } from './game-rows.js';
import type { Market } from './market.js';
import { drawScenario, scenarioRef, type Scenario, type ScenarioChoice } from './scenarios.js';
import { fromCents } from './validate.js';

/** What a turn came to: the winning choice (if any), its outcome and the vote count. */
export interface TurnOutcome {
  choice: ScenarioChoice | null;
  outcome: string;
  /** Votes per choice, in scenario order; choices nobody picked are included with 0. */
  votes: { choiceId: string; count: number }[];
}

/** The outcome when nobody chose before the turn was forced. It has no effects. */
export const ditheringOutcome = 'The council dithers: nothing is decided, and the moment passes.';

/**
 * Decides a turn from the chosen choice ids: the majority wins, a tie goes to
 * the choice listed first in the scenario (so every instance agrees), and no
 * votes at all is the effect-free {@link ditheringOutcome}.
 */
export function tallyTurn(scenario: Scenario, chosen: readonly string[]): TurnOutcome {
  const votes = scenario.choices.map((c) => ({ choiceId: c.id, count: chosen.filter((id) => id === c.id).length }));
  let winner: ScenarioChoice | null = null;
  let best = 0;
  for (const [index, candidate] of scenario.choices.entries()) {
    // Strictly greater: on a tie the earlier choice keeps the lead.
    if (votes[index]!.count > best) {
      best = votes[index]!.count;
      winner = candidate;
    }
  }
  return { choice: winner, outcome: winner ? winner.outcome : ditheringOutcome, votes };
}

/** What resolving turns works with. */
export interface TurnsDeps {
  store: Store;
  /** Moves prices the way the game master's mutations do. */
  market: Market;
  /** Shifts influence the way the game master's mutations do. */
  factions: Factions;
  /** Scales turn effects and keeps them within the world's budget. */
  economy: TurnEconomy;
}

/** Resolves game turns inside the caller's transaction. */
export type Turns = ReturnType<typeof createTurns>;

/** Turn resolution over the market, the factions and the turn economy. */
export function createTurns({ store, market, factions, economy }: TurnsDeps) {
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

  return {
    /**
     * Resolves the game's current turn inside the caller's transaction, which
     * holds the game row's lock: records the outcome (the `turns` primary key
     * refuses a second resolution of the same turn), applies its effects, posts
     * the world event, then appends `TurnResolved` and `ScenarioStarted`.
     * Resolves with the appended `TurnResolved`.
     */
    async resolve(tx: Tx, append: Append, game: GameRow, members: readonly Member[], resolvedBy: PlayerRef | null): Promise<LogEntry<'TurnResolved'>> {
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
    },
  };
}
