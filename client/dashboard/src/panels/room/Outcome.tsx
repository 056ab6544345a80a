import type { TurnResolved } from './types.js';

/** What the last turn decided: the winning choice, the outcome text and the votes. */
export function Outcome({ outcome }: { outcome: TurnResolved }) {
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
