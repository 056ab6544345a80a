import { useMutation } from '@apollo/client/react';
import { useId, useRef, useState, type FormEvent } from 'react';
import { ResolveTurnDocument, SetTypingDocument, SubmitChoiceDocument } from '../../../../generated/graphql.js';
import { errorMessage } from '../../format.js';
import type { Game, Me, PatchGame } from './types.js';

/** Minimum time between two `setTyping(true)` calls (the server allows 5 per 5 s). */
const typingThrottleMs = 2_500; // 2.5 seconds

/** The running turn: its scenario, the choice form, and how far the players are. */
export function TurnPanel({ game, scenario, me, patchGame }: { game: Game; scenario: NonNullable<Game['scenario']>; me: Me; patchGame: PatchGame }) {
  const mine = game.players.find((p) => p.player.id === me.id);
  return (
    <>
      <article className="scenario" aria-labelledby="scenario-theme">
        <p className="scenario-theme" id="scenario-theme">
          {scenario.theme}
        </p>
        <p className="scenario-prompt">{scenario.prompt}</p>
      </article>
      <ChoiceForm
        key={`${game.turnNumber}`}
        code={game.code}
        turnNumber={game.turnNumber}
        choices={scenario.choices}
        alreadyChosen={mine?.hasChosen ?? false}
        onChosen={(turn) =>
          // The turn may already have resolved (events can beat the mutation's response): then there is nothing to mark.
          patchGame((g) => (g.turnNumber !== turn ? g : { ...g, players: g.players.map((p) => (p.player.id === me.id ? { ...p, hasChosen: true } : p)) }))
        }
      />
      <TurnProgress game={game} me={me} />
    </>
  );
}

/** How many players have chosen, who is still awaited (you first), and the host's force-resolve button. */
function TurnProgress({ game, me }: { game: Game; me: Me }) {
  const chosen = game.players.filter((p) => p.hasChosen).length;
  const total = game.players.length;
  const waiting = game.players
    .filter((p) => !p.hasChosen)
    .sort((a, b) => Number(b.player.id === me.id) - Number(a.player.id === me.id))
    .map((p) => (p.player.id === me.id ? 'you' : p.player.name));
  const isHost = game.host.id === me.id || me.role === 'GAME_MASTER';
  return (
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
  );
}

/** "a", "a and b", "a, b and c". */
const listOf = (names: string[]) => (names.length > 1 ? `${names.slice(0, -1).join(', ')} and ${names.at(-1)}` : (names[0] ?? ''));

/** The turn's options; picking one tells the others this player is choosing, submitting sends the choice. */
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

/** The host's (or a game master's) way to resolve the turn with the choices made so far. */
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
