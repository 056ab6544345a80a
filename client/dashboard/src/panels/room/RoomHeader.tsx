import { useMutation } from '@apollo/client/react';
import { useState } from 'react';
import { LeaveGameDocument } from '../../../../generated/graphql.js';
import { errorMessage } from '../../format.js';
import type { Game } from './types.js';

/** The room's name, turn and share code, with the way back to the lobby and out of the game. */
export function RoomHeader({ game, onClose }: { game: Game; onClose: () => void }) {
  const [leaveGame, leaving] = useMutation(LeaveGameDocument);
  const [leaveError, setLeaveError] = useState<string | null>(null);
  const leave = async () => {
    setLeaveError(null);
    try {
      await leaveGame({ variables: { code: game.code } });
      onClose();
    } catch (failure) {
      setLeaveError(errorMessage(failure));
    }
  };

  return (
    <div className="room-head">
      <div>
        <h3 className="room-name">{game.name}</h3>
        <p className="muted">
          Turn <strong data-testid="turn">{game.turnNumber}</strong> · {game.players.length}/{game.maxPlayers} players · share code <strong>{game.code}</strong>
        </p>
      </div>
      <div className="room-actions">
        <button type="button" className="button ghost small" onClick={onClose}>
          Lobby
        </button>
        <button type="button" className="button ghost small danger-text" onClick={() => void leave()} disabled={leaving.loading}>
          Leave game
        </button>
      </div>
      <p className="error-text room-error" role="alert">
        {leaveError}
      </p>
    </div>
  );
}
