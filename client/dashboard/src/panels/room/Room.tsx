import { skipToken, useQuery, useSubscription } from '@apollo/client/react';
import { useCallback } from 'react';
import { GameRoomDocument, PresenceDocument } from '../../../../generated/graphql.js';
import { errorMessage } from '../../format.js';
import { useOnReconnect } from '../../hooks.js';
import { Outcome } from './Outcome.js';
import { ActivityLog, PlayerList } from './PlayerList.js';
import { RoomHeader } from './RoomHeader.js';
import { TurnPanel } from './TurnPanel.js';
import { useTypingIndicators } from './typing.js';
import type { Me, PatchGame } from './types.js';
import { useRoomEvents } from './useRoomEvents.js';

/** The game read once, and a way to change the cached copy as events arrive. */
function useRoomGame(code: string) {
  const { data, error, updateQuery, refetch } = useQuery(GameRoomDocument, { variables: { code } });
  const patchGame: PatchGame = useCallback(
    (patch) => updateQuery((_unsafe, { previousData, complete }) => (complete && previousData.game ? { game: patch(previousData.game) } : undefined)),
    [updateQuery],
  );
  return { data, error, game: data?.game, patchGame, refetch };
}

/**
 * One game room, live. The game is read once (with its `cursor`); `gameEvents`
 * starts after that cursor, so every change since the read arrives as an
 * event and is applied to the cached game (see {@link useRoomEvents}). The
 * client resumes the stream after a reconnect, so nothing is missed.
 */
export function Room({ code, me, onClose }: { code: string; me: Me; onClose: () => void }) {
  const { data, error, game, patchGame, refetch } = useRoomGame(code);
  const typing = useTypingIndicators();
  const events = useRoomEvents({ code, me, game, patchGame, refetch, typing });
  const presence = useSubscription(PresenceDocument, game ? { variables: { code }, fetchPolicy: 'no-cache' } : skipToken);
  useOnReconnect(() => void refetch().catch(() => {}));

  if (error && !data) {
    return <RoomProblem text={`Could not load game ${code}: ${errorMessage(error)}`} onClose={onClose} />;
  }
  if (!data) return <p className="muted">Opening game {code}…</p>;
  if (!game) return <RoomProblem text={`There is no game with code ${code}.`} onClose={onClose} />;
  if (events.error) return <RoomProblem text={errorMessage(events.error)} onClose={onClose} />;

  const online = new Map(presence.data?.presence.players.map((p) => [p.player.id, p.online]));

  return (
    <div className="room" data-game={game.code}>
      <RoomHeader game={game} onClose={onClose} />

      <div className="room-grid">
        <div className="room-main">
          {/* The latest news of the room first: what the last turn decided. */}
          <div aria-live="polite" className="outcome-region">
            {events.outcome ? <Outcome outcome={events.outcome} /> : null}
          </div>
          {game.status === 'FINISHED' || !game.scenario ? (
            <p className="muted">This game is over.</p>
          ) : (
            <TurnPanel game={game} scenario={game.scenario} me={me} patchGame={patchGame} />
          )}
        </div>

        <aside className="room-side" aria-label="Players">
          <PlayerList players={game.players} online={online} me={me} typing={typing} />
          <ActivityLog log={events.log} />
        </aside>
      </div>
    </div>
  );
}

/** The room cannot be shown (not found, not loaded, the stream refused): why, and the way back. */
function RoomProblem({ text, onClose }: { text: string; onClose: () => void }) {
  return (
    <div className="room-problem">
      <p className="error-text" role="alert">
        {text}
      </p>
      <button type="button" className="button" onClick={onClose}>
        Back to the lobby
      </button>
    </div>
  );
}
