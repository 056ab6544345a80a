/** The shapes a game room works with, named once for its parts. */
import type { GameEventsSubscription, GameFieldsFragment, MeQuery } from '../../../../generated/graphql.js';

/** The signed-in player. */
export type Me = NonNullable<MeQuery['me']>;
/** The game as the room shows it (the cached `game` read). */
export type Game = GameFieldsFragment;
/** One event of `gameEvents`. */
export type GameEvent = GameEventsSubscription['gameEvents'];
export type TurnResolved = Extract<GameEvent, { __typename: 'TurnResolved' }>;
/** Changes the cached game in place (no refetch). */
export type PatchGame = (patch: (game: Game) => Game) => void;
/** One line of the room's activity log. */
export interface LogLine {
  key: string;
  at: string;
  text: string;
}
