import { useMutation, useQuery } from '@apollo/client/react';
import { useCallback, useId, useState, type FormEvent } from 'react';
import { CreateGameDocument, JoinGameDocument, MyGamesDocument } from '../../../generated/graphql.js';
import { Panel } from '../components/Panel.js';
import { errorMessage } from '../format.js';
import { openGame } from '../realm.js';
import { Room } from './room/Room.js';
import type { Me } from './room/types.js';
import { signInFieldId } from './Session.js';

/**
 * Game rooms: a lobby to create or join one, then the room itself. The room's
 * parts are in `room/`: `Room.tsx` puts them together, `useRoomEvents.ts`
 * applies the live `gameEvents`, `RoomHeader.tsx`, `TurnPanel.tsx` (scenario,
 * choices, progress), `Outcome.tsx` and `PlayerList.tsx` (presence, activity).
 */
export function GameRoomPanel({ me }: { me: Me | null | undefined }) {
  const [code, setCode] = useState<string | null>(() => openGame.get());
  const open = useCallback((next: string | null) => {
    openGame.set(next);
    setCode(next);
  }, []);

  return (
    <Panel id="game" title="Game room" aside={code && me ? <span className="code-chip" aria-label={`Join code ${code}`}>{code}</span> : null}>
      {!me ? (
        <p className="muted">
          <a href={`#${signInFieldId}`} onClick={() => document.getElementById(signInFieldId)?.focus()}>
            Sign in as a guest
          </a>{' '}
          to create a game room or join one by its code.
        </p>
      ) : code ? (
        <Room key={code} code={code} me={me} onClose={() => open(null)} />
      ) : (
        <Lobby onOpen={open} />
      )}
    </Panel>
  );
}

/** Create a game, join one by its code, or reopen one of your games. */
function Lobby({ onOpen }: { onOpen: (code: string) => void }) {
  const id = useId();
  const { data } = useQuery(MyGamesDocument, { fetchPolicy: 'cache-and-network' });
  const [createGame, creating] = useMutation(CreateGameDocument);
  const [joinGame, joining] = useMutation(JoinGameDocument);
  const [name, setName] = useState('');
  const [maxPlayers, setMaxPlayers] = useState(4);
  const [joinCode, setJoinCode] = useState('');
  const [createError, setCreateError] = useState<string | null>(null);
  const [joinError, setJoinError] = useState<string | null>(null);

  const create = async (event: FormEvent) => {
    event.preventDefault();
    setCreateError(null);
    try {
      const { data: created } = await createGame({ variables: { name: name.trim(), maxPlayers } });
      if (created) onOpen(created.createGame.code);
    } catch (error) {
      setCreateError(errorMessage(error));
    }
  };
  const join = async (event: FormEvent) => {
    event.preventDefault();
    setJoinError(null);
    try {
      const { data: joined } = await joinGame({ variables: { code: joinCode.trim() } });
      if (joined) onOpen(joined.joinGame.code);
    } catch (error) {
      setJoinError(errorMessage(error));
    }
  };

  const games = data?.games ?? [];
  return (
    <div className="lobby">
      <form className="lobby-form" onSubmit={create} aria-describedby={`${id}-create-error`}>
        <h3>Create a game</h3>
        <label className="field">
          <span>Game name</span>
          <input name="gameName" required maxLength={40} value={name} onChange={(e) => setName(e.target.value)} placeholder="e.g. Council of Ash" />
        </label>
        <label className="field">
          <span>Players</span>
          <select name="maxPlayers" value={maxPlayers} onChange={(e) => setMaxPlayers(Number(e.target.value))}>
            {Array.from({ length: 11 }, (_, i) => i + 2).map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </label>
        <button type="submit" className="button primary" disabled={creating.loading || !name.trim()}>
          Create
        </button>
        <p id={`${id}-create-error`} className="error-text" role="alert">
          {createError}
        </p>
      </form>
      <form className="lobby-form" onSubmit={join} aria-describedby={`${id}-join-error`}>
        <h3>Join by code</h3>
        <label className="field">
          <span>Join code</span>
          <input
            name="joinCode"
            className="code-input"
            required
            maxLength={6}
            autoCapitalize="characters"
            autoComplete="off"
            spellCheck={false}
            value={joinCode}
            onChange={(e) => setJoinCode(e.target.value.toUpperCase())}
            placeholder="ABC234"
          />
        </label>
        <button type="submit" className="button primary" disabled={joining.loading || !joinCode.trim()}>
          Join
        </button>
        <p id={`${id}-join-error`} className="error-text" role="alert">
          {joinError}
        </p>
      </form>
      {games.length ? (
        <div className="my-games">
          <h3>Your games</h3>
          <ul>
            {games.map((game) => (
              <li key={game.code}>
                <button type="button" className="button ghost game-link" onClick={() => onOpen(game.code)}>
                  <span className="code-chip">{game.code}</span>
                  <span className="game-link-name">{game.name}</span>
                  <span className="muted">
                    turn {game.turnNumber} · {game.players.length}/{game.maxPlayers}
                  </span>
                </button>
              </li>
            ))}
          </ul>
        </div>
      ) : null}
    </div>
  );
}
