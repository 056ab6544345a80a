import { skipToken, useMutation, useQuery, useSubscription } from '@apollo/client/react';
import { useCallback, useEffect, useId, useRef, useState, type FormEvent } from 'react';
import {
  CreateGameDocument,
  GameEventsDocument,
  GameRoomDocument,
  JoinGameDocument,
  LeaveGameDocument,
  MyGamesDocument,
  PresenceDocument,
  ResolveTurnDocument,
  SetTypingDocument,
  SubmitChoiceDocument,
  type GameEventsSubscription,
  type GameFieldsFragment,
  type MeQuery,
} from '../../../generated/graphql.js';
import { Panel } from '../components/Panel.js';
import { toast } from '../components/Toasts.js';
import { errorMessage, formatClock } from '../format.js';
import { useOnReconnect } from '../hooks.js';
import { openGame } from '../realm.js';
import { signInFieldId } from './Session.js';

type Me = NonNullable<MeQuery['me']>;
type Game = GameFieldsFragment;
type GameEvent = GameEventsSubscription['gameEvents'];
type TurnResolved = Extract<GameEvent, { __typename: 'TurnResolved' }>;

/** How long another player's typing indicator may stay without news (the server clears it after 3 s). */
const typingStaleMs = 6_000; // 6 seconds
/** Minimum time between two `setTyping(true)` calls (the server allows 5 per 5 s). */
const typingThrottleMs = 2_500; // 2.5 seconds
/** Lines kept in the room's activity log. */
const logLength = 6;

/** Game rooms: a lobby to create or join one, then the room itself. */
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

/**
 * One game room, live. The game is read once (with its `cursor`); `gameEvents`
 * starts after that cursor, so every change since the read arrives as an
 * event and is applied to the cached game. The client resumes the stream
 * after a reconnect, so nothing is missed.
 */
function Room({ code, me, onClose }: { code: string; me: Me; onClose: () => void }) {
  const { data, error, updateQuery, refetch } = useQuery(GameRoomDocument, { variables: { code } });
  const game = data?.game;
  // Fixed on the first read: refetches (a player joined) must not restart the stream.
  const [startCursor, setStartCursor] = useState<string | undefined>(undefined);
  useEffect(() => {
    if (game && startCursor === undefined) setStartCursor(game.cursor);
  }, [game, startCursor]);

  const [outcome, setOutcome] = useState<TurnResolved | null>(null);
  const [log, setLog] = useState<Array<{ key: string; at: string; text: string }>>([]);
  const typing = useTypingIndicators();

  const patchGame = useCallback(
    (patch: (game: Game) => Game) =>
      updateQuery((_unsafe, { previousData, complete }) => (complete && previousData.game ? { game: patch(previousData.game) } : undefined)),
    [updateQuery],
  );

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
  const presence = useSubscription(PresenceDocument, game ? { variables: { code }, fetchPolicy: 'no-cache' } : skipToken);
  useOnReconnect(() => void refetch().catch(() => {}));

  const [leaveGame, leaving] = useMutation(LeaveGameDocument);
  const [leaveError, setLeaveError] = useState<string | null>(null);
  const leave = async () => {
    setLeaveError(null);
    try {
      await leaveGame({ variables: { code } });
      onClose();
    } catch (failure) {
      setLeaveError(errorMessage(failure));
    }
  };

  if (error && !data) {
    return <RoomProblem text={`Could not load game ${code}: ${errorMessage(error)}`} onClose={onClose} />;
  }
  if (!data) return <p className="muted">Opening game {code}…</p>;
  if (!game) return <RoomProblem text={`There is no game with code ${code}.`} onClose={onClose} />;
  if (events.error) return <RoomProblem text={errorMessage(events.error)} onClose={onClose} />;

  const online = new Map(presence.data?.presence.players.map((p) => [p.player.id, p.online]));
  const onlineCount = game ? game.players.filter((p) => online.get(p.player.id) ?? p.online).length : 0;
  const mine = game.players.find((p) => p.player.id === me.id);
  const chosen = game.players.filter((p) => p.hasChosen).length;
  const total = game.players.length;
  const waiting = game.players
    .filter((p) => !p.hasChosen)
    .sort((a, b) => Number(b.player.id === me.id) - Number(a.player.id === me.id))
    .map((p) => (p.player.id === me.id ? 'you' : p.player.name));
  const isHost = game.host.id === me.id || me.role === 'GAME_MASTER';

  return (
    <div className="room" data-game={game.code}>
      <div className="room-head">
        <div>
          <h3 className="room-name">{game.name}</h3>
          <p className="muted">
            Turn <strong data-testid="turn">{game.turnNumber}</strong> · {total}/{game.maxPlayers} players · share code <strong>{game.code}</strong>
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

      <div className="room-grid">
        <div className="room-main">
          {/* The latest news of the room first: what the last turn decided. */}
          <div aria-live="polite" className="outcome-region">
            {outcome ? <Outcome outcome={outcome} /> : null}
          </div>
          {game.status === 'FINISHED' || !game.scenario ? (
            <p className="muted">This game is over.</p>
          ) : (
            <>
              <article className="scenario" aria-labelledby="scenario-theme">
                <p className="scenario-theme" id="scenario-theme">
                  {game.scenario.theme}
                </p>
                <p className="scenario-prompt">{game.scenario.prompt}</p>
              </article>
              <ChoiceForm
                key={`${game.turnNumber}`}
                code={game.code}
                turnNumber={game.turnNumber}
                choices={game.scenario.choices}
                alreadyChosen={mine?.hasChosen ?? false}
                onChosen={(turn) =>
                  // The turn may already have resolved (events can beat the mutation's response): then there is nothing to mark.
                  patchGame((g) => (g.turnNumber !== turn ? g : { ...g, players: g.players.map((p) => (p.player.id === me.id ? { ...p, hasChosen: true } : p)) }))
                }
              />
              <div className="turn-progress">
                <div className="progress-label">
                  <span id="progress-label">Turn progress</span>
                  <span className="num" data-testid="progress">
                    {chosen} / {total} chosen
                  </span>
                </div>
                <div
                  className="progress"
                  role="progressbar"
                  aria-labelledby="progress-label"
                  aria-valuemin={0}
                  aria-valuemax={total}
                  aria-valuenow={chosen}
                  aria-valuetext={`${chosen} of ${total} players have chosen`}
                >
                  <div className="progress-fill" style={{ width: `${total ? (chosen / total) * 100 : 0}%` }} />
                </div>
                <p className="muted waiting" data-testid="waiting">
                  {waiting.length ? `Waiting for ${listOf(waiting)}` : 'Everyone has chosen.'}
                </p>
                {isHost ? <ForceResolve code={game.code} turnNumber={game.turnNumber} /> : null}
              </div>
            </>
          )}
        </div>

        <aside className="room-side" aria-label="Players">
          <h4>
            Players{' '}
            <span className="muted online-count" data-testid="online-count">
              {onlineCount}/{game.players.length} online
            </span>
          </h4>
          <ul className="players">
            {game.players.map((p) => {
              const isOnline = online.get(p.player.id) ?? p.online;
              const isTyping = typing.is(p.player.id) && !p.hasChosen;
              return (
                <li key={p.player.id} data-player={p.player.name} data-online={isOnline} data-chosen={p.hasChosen}>
                  <span className={`presence-dot ${isOnline ? 'online' : 'offline'}`} title={isOnline ? 'online' : 'offline'} aria-hidden="true" />
                  <span className="player-name">
                    {p.player.name}
                    <span className="sr-only">, {isOnline ? 'online' : 'offline'}</span>
                  </span>
                  {p.isHost ? <span className="badge">host</span> : null}
                  {p.player.id === me.id ? <span className="badge badge-you">you</span> : null}
                  <span className={`player-state ${p.hasChosen ? 'chosen' : isTyping ? 'typing' : ''}`} data-testid="player-state">
                    {p.hasChosen ? '✓ chosen' : isTyping ? 'choosing…' : 'thinking'}
                  </span>
                </li>
              );
            })}
          </ul>
          {log.length ? (
            <>
              <h4>Activity</h4>
              <ol className="room-log">
                {log.map((line) => (
                  <li key={line.key}>
                    <time dateTime={line.at}>{formatClock(line.at)}</time> {line.text}
                  </li>
                ))}
              </ol>
            </>
          ) : null}
        </aside>
      </div>
    </div>
  );
}

/** "a", "a and b", "a, b and c". */
const listOf = (names: string[]) => (names.length > 1 ? `${names.slice(0, -1).join(', ')} and ${names.at(-1)}` : (names[0] ?? ''));

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

function ChoiceForm(props: {
  code: string;
  turnNumber: number;
  choices: ReadonlyArray<{ id: string; label: string }>;
  alreadyChosen: boolean;
  onChosen: (turnNumber: number) => void;
}) {
  const { code, turnNumber, choices, alreadyChosen, onChosen } = props;
  const id = useId();
  const [choiceId, setChoiceId] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [submitChoice, { loading }] = useMutation(SubmitChoiceDocument);
  const [setTyping] = useMutation(SetTypingDocument);
  const lastTyping = useRef(0);

  // Picking an option (before submitting) shows the others that this player is making up their mind.
  const announceTyping = (typing: boolean) => {
    const now = Date.now();
    if (typing && now - lastTyping.current < typingThrottleMs) return;
    if (!typing && lastTyping.current === 0) return;
    lastTyping.current = typing ? now : 0;
    void setTyping({ variables: { code, typing } }).catch(() => {});
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!choiceId) return;
    setError(null);
    try {
      await submitChoice({ variables: { code, choiceId, turnNumber } });
      onChosen(turnNumber);
    } catch (failure) {
      setError(errorMessage(failure));
    }
    announceTyping(false);
  };

  return (
    <form className="choices" onSubmit={submit} aria-describedby={`${id}-error`}>
      <fieldset disabled={alreadyChosen}>
        <legend>{alreadyChosen ? 'Your choice is in' : 'Your choice'}</legend>
        {choices.map((choice) => (
          <label key={choice.id} className={`choice ${choiceId === choice.id ? 'selected' : ''}`}>
            <input
              type="radio"
              name="choice"
              value={choice.id}
              checked={choiceId === choice.id}
              onChange={() => {
                setChoiceId(choice.id);
                announceTyping(true);
              }}
            />
            <span>{choice.label}</span>
          </label>
        ))}
      </fieldset>
      {alreadyChosen ? null : (
        <button type="submit" className="button primary" disabled={!choiceId || loading}>
          Submit choice
        </button>
      )}
      <p id={`${id}-error`} className="error-text" role="alert">
        {error}
      </p>
    </form>
  );
}

function ForceResolve({ code, turnNumber }: { code: string; turnNumber: number }) {
  const [resolveTurn, { loading }] = useMutation(ResolveTurnDocument);
  const [error, setError] = useState<string | null>(null);
  const resolve = async () => {
    setError(null);
    try {
      await resolveTurn({ variables: { code, turnNumber } });
    } catch (failure) {
      setError(errorMessage(failure));
    }
  };
  return (
    <div className="force-resolve">
      <button type="button" className="button warning small" onClick={() => void resolve()} disabled={loading}>
        Force resolve turn {turnNumber}
      </button>
      <span className="muted">As host you can resolve with the choices made so far.</span>
      <p className="error-text" role="alert">
        {error}
      </p>
    </div>
  );
}

function Outcome({ outcome }: { outcome: TurnResolved }) {
  const votes = outcome.votes.reduce((sum, v) => sum + v.count, 0);
  return (
    <div className="outcome" data-testid="outcome" data-turn={outcome.turnNumber}>
      <p className="outcome-title">
        Turn {outcome.turnNumber} resolved{outcome.choice ? <>: {outcome.choice.label}</> : null}
      </p>
      <p className="outcome-text">{outcome.outcome}</p>
      {votes ? (
        <ul className="votes">
          {outcome.votes.map((v) => (
            <li key={v.choice.id} className={v.choice.id === outcome.choice?.id ? 'winner' : undefined}>
              <span className="vote-label">{v.choice.label}</span>
              <span className="vote-bar" aria-hidden="true">
                <span style={{ width: `${(v.count / votes) * 100}%` }} />
              </span>
              <span className="num">{v.count}</span>
            </li>
          ))}
        </ul>
      ) : null}
      {outcome.resolvedBy ? <p className="muted">Forced by {outcome.resolvedBy.name}.</p> : null}
    </div>
  );
}

/** Other players' typing indicators, cleared when the server says so or when they go stale. */
function useTypingIndicators() {
  const [typing, setTyping] = useState<Record<string, boolean>>({});
  const timers = useRef(new Map<string, ReturnType<typeof setTimeout>>());
  useEffect(() => {
    const pending = timers.current;
    return () => pending.forEach((timer) => clearTimeout(timer));
  }, []);
  const set = (playerId: string, value: boolean) => {
    clearTimeout(timers.current.get(playerId));
    if (value) timers.current.set(playerId, setTimeout(() => set(playerId, false), typingStaleMs));
    setTyping((current) => ({ ...current, [playerId]: value }));
  };
  return {
    is: (playerId: string) => typing[playerId] === true,
    set,
    clear: (playerId: string) => set(playerId, false),
    clearAll: () => {
      timers.current.forEach((timer) => clearTimeout(timer));
      timers.current.clear();
      setTyping({});
    },
  };
}
