import { skipToken, useSubscription } from '@apollo/client/react';
import { useEffect, useState } from 'react';
import { GameEventsDocument } from '../../../../generated/graphql.js';
import { toast } from '../../components/Toasts.js';
import type { TypingIndicators } from './typing.js';
import type { Game, GameEvent, LogLine, Me, PatchGame, TurnResolved } from './types.js';

/** Lines kept in the room's activity log. */
const logLength = 6;

export interface RoomEventsOptions {
  code: string;
  me: Me;
  /** The game as read; the stream starts after its first read's `cursor`. */
  game: Game | null | undefined;
  patchGame: PatchGame;
  /** Reads the game again (the players changed). */
  refetch(): Promise<unknown>;
  typing: TypingIndicators;
}

/**
 * Follows `gameEvents` from the game's first read and applies each event:
 * to the cached game (choices, new turns), to the activity log, to the latest
 * outcome, to the typing indicators, and as a toast for other players coming
 * and going. The client resumes the stream after a reconnect.
 */
export function useRoomEvents({ code, me, game, patchGame, refetch, typing }: RoomEventsOptions) {
  // Fixed on the first read: refetches (a player joined) must not restart the stream.
  const [startCursor, setStartCursor] = useState<string | undefined>(undefined);
  useEffect(() => {
    if (game && startCursor === undefined) setStartCursor(game.cursor);
  }, [game, startCursor]);

  const [outcome, setOutcome] = useState<TurnResolved | null>(null);
  const [log, setLog] = useState<LogLine[]>([]);

  const onEvent = (event: GameEvent) => {
    const note = (text: string) => setLog((lines) => [{ key: event.cursor + event.__typename + event.at, at: event.at, text }, ...lines].slice(0, logLength));
    switch (event.__typename) {
      case 'ChoiceSubmitted':
        typing.clear(event.player.id);
        patchGame((g) =>
          g.turnNumber !== event.turnNumber ? g : { ...g, players: g.players.map((p) => (p.player.id === event.player.id ? { ...p, hasChosen: true } : p)) },
        );
        note(`${event.player.name} chose (${event.choicesSubmitted}/${event.totalPlayers})`);
        break;
      case 'TurnResolved':
        setOutcome(event);
        note(`Turn ${event.turnNumber} resolved${event.resolvedBy ? ` by ${event.resolvedBy.name}` : ''}`);
        break;
      case 'ScenarioStarted':
        typing.clearAll();
        patchGame((g) => ({ ...g, turnNumber: event.turnNumber, scenario: event.scenario, players: g.players.map((p) => ({ ...p, hasChosen: false })) }));
        note(`Turn ${event.turnNumber}: ${event.scenario.theme}`);
        break;
      case 'PlayerJoined':
        note(`${event.player.name} joined`);
        if (event.player.id !== me.id) toast(`${event.player.name} joined ${game?.name ?? code}`);
        void refetch().catch(() => {});
        break;
      case 'PlayerLeft':
        note(`${event.player.name} left${event.newHost ? `; ${event.newHost.name} hosts now` : ''}`);
        if (event.player.id !== me.id) toast(`${event.player.name} left ${game?.name ?? code}`);
        void refetch().catch(() => {});
        break;
      case 'PlayerConnected':
        note(`${event.player.name} came online`);
        if (event.player.id !== me.id) toast(`${event.player.name} is online`);
        break;
      case 'PlayerDisconnected':
        note(`${event.player.name} went offline`);
        if (event.player.id !== me.id) toast(`${event.player.name} went offline`);
        break;
      case 'PlayerTyping':
        if (event.player.id !== me.id) typing.set(event.player.id, event.typing);
        break;
    }
  };

  const events = useSubscription(
    GameEventsDocument,
    startCursor === undefined
      ? skipToken
      : {
          variables: { code, after: startCursor },
          // Applied to the cached game by `onEvent`; the events themselves need no cache entry.
          fetchPolicy: 'no-cache',
          ignoreResults: true,
          onData: ({ data: result }) => result.data && onEvent(result.data.gameEvents),
        },
  );

  return { outcome, log, error: events.error };
}
