import type { Client } from 'graphql-ws';
import { expect } from 'vitest';
import { gameEventTypes } from '../../server/domain/game-views.js';
import { gql, subscribe, type Subscription } from './harness.js';

/** Everything about a game a test may look at. */
export const gameFields = /* GraphQL */ `
  code name status maxPlayers turnNumber cursor
  host { id name }
  players { player { id name } online hasChosen lastSeenAt isHost }
  scenario { id theme prompt choices { id label influenceShifts { factionId delta } priceNudges { symbol percent } } }
`;

/** Every game event type with its fields. */
export const gameEventsQuery = /* GraphQL */ `
  subscription GameEvents($code: String!, $after: String, $types: [GameEventType!]) {
    gameEvents(code: $code, after: $after, types: $types) {
      __typename cursor at
      ... on PlayerJoined { player { name } }
      ... on PlayerLeft { player { name } newHost { name } remainingPlayers }
      ... on PlayerConnected { player { name } }
      ... on PlayerDisconnected { player { name } }
      ... on ChoiceSubmitted { player { name } turnNumber choicesSubmitted totalPlayers allSubmitted waitingFor { name } }
      ... on TurnResolved { turnNumber outcome choice { id } votes { choice { id } count } resolvedBy { name } }
      ... on ScenarioStarted { turnNumber scenario { id choices { id } } }
      ... on PlayerTyping { player { name } typing }
    }
  }
`;

export interface SignedIn {
  token: string;
  id: string;
  name: string;
}

/** Signs in a guest through the real `signIn` mutation. */
export async function signIn(url: string, name: string): Promise<SignedIn> {
  const result = await gql(url, 'mutation ($name: String!) { signIn(name: $name) { token player { id name } } }', { name });
  const { token, player } = result.data!.signIn;
  return { token, id: player.id, name: player.name };
}

/** Creates a game and returns it (fails the test on errors). */
export async function createGame(url: string, token: string, name = 'Test room', maxPlayers?: number) {
  const result = await gql(url, `mutation ($name: String!, $max: Int) { createGame(name: $name, maxPlayers: $max) { ${gameFields} } }`, { name, max: maxPlayers }, token);
  expect(result.errors).toBeUndefined();
  return result.data!.createGame;
}

/** Joins a game (fails the test on errors). */
export async function joinGame(url: string, token: string, code: string) {
  const result = await gql(url, `mutation ($code: String!) { joinGame(code: $code) { ${gameFields} } }`, { code }, token);
  expect(result.errors).toBeUndefined();
  return result.data!.joinGame;
}

/** Reads a game as `token` sees it. */
export async function readGame(url: string, token: string, code: string) {
  const result = await gql(url, `query ($code: String!) { game(code: $code) { ${gameFields} } }`, { code }, token);
  expect(result.errors).toBeUndefined();
  return result.data!.game;
}

/** Submits a choice over HTTP; returns the whole response. */
export const submitChoice = (url: string, token: string, code: string, choiceId: string, turnNumber?: number) =>
  gql(
    url,
    `mutation ($code: String!, $choiceId: ID!, $turn: Int) {
      submitChoice(code: $code, choiceId: $choiceId, turnNumber: $turn) {
        cursor turnNumber choicesSubmitted totalPlayers allSubmitted waitingFor { name } player { name }
      }
    }`,
    { code, choiceId, turn: turnNumber },
    token,
  );

/** Forces a turn over HTTP; returns the whole response. */
export const resolveTurn = (url: string, token: string, code: string, turnNumber?: number) =>
  gql(
    url,
    'mutation ($code: String!, $turn: Int) { resolveTurn(code: $code, turnNumber: $turn) { cursor turnNumber outcome choice { id } resolvedBy { name } } }',
    { code, turn: turnNumber },
    token,
  );

/** Leaves a game over HTTP; returns the whole response. */
export const leaveGame = (url: string, token: string, code: string) =>
  gql(url, `mutation ($code: String!) { leaveGame(code: $code) { ${gameFields} } }`, { code }, token);

/** Every game event type except the presence ones. */
const withoutPresence = gameEventTypes.filter((type) => type !== 'PlayerConnected' && type !== 'PlayerDisconnected');

/**
 * A `gameEvents` subscription yielding the events themselves. Presence events
 * (`PlayerConnected`/`PlayerDisconnected` depend on who is subscribed when)
 * are left out by the server through `types`, unless `withPresence`: nothing
 * is dropped on the client, and an error or completion fails `next()`.
 */
export function gameEvents(client: Client, code: string, after?: string, withPresence = false): Subscription<Record<string, any>> {
  const sub = subscribe<{ gameEvents: Record<string, any> }>(client, gameEventsQuery, { code, after, types: withPresence ? undefined : withoutPresence });
  const next = async (timeoutMs?: number): Promise<Record<string, any>> => (await sub.next(timeoutMs)).gameEvents;
  return {
    ...sub,
    next,
    async take(count, timeoutMs) {
      const taken = [];
      for (let i = 0; i < count; i++) taken.push(await next(timeoutMs));
      return taken;
    },
  };
}

/** Runs a query or mutation over a graphql-ws connection. */
export async function overWs(client: Client, query: string, variables: Record<string, unknown> = {}) {
  const operation = subscribe(client, query, variables);
  return Promise.race([operation.next(), operation.failed.then((errors) => ({ errors }))]) as Promise<Record<string, any>>;
}
