import { useQuery, useSubscription } from '@apollo/client/react';
import { useState } from 'react';
import { FactionInfluenceDocument, FactionsDocument } from '../../../generated/graphql.js';
import { Panel } from '../components/Panel.js';
import { formatClock, formatSigned, trend } from '../format.js';
import { useOnReconnect } from '../hooks.js';

interface LastShift {
  delta: number;
  reason: string;
  at: string;
}

/** Influence bars; `factionInfluenceChanged` returns the faction with its id, so the cache updates them by itself. */
export function Factions() {
  const { data, error, refetch } = useQuery(FactionsDocument);
  const [shifts, setShifts] = useState<Record<string, LastShift>>({});
  useSubscription(FactionInfluenceDocument, {
    onData: ({ data: { data: event } }) => {
      const change = event?.factionInfluenceChanged;
      if (change) setShifts((current) => ({ ...current, [change.faction.id]: { delta: change.delta, reason: change.reason, at: change.at } }));
    },
  });
  useOnReconnect(() => void refetch().catch(() => {}));

  const factions = data ? [...data.factions].sort((a, b) => b.influence - a.influence) : [];
  return (
    <Panel id="factions" title="Factions">
      {error && !data ? <p className="error-text" role="alert">Could not load factions: {error.message}</p> : null}
      {!data && !error ? <p className="muted">Loading factions…</p> : null}
      <ul className="factions">
        {factions.map((faction) => {
          const shift = shifts[faction.id];
          const change = shift?.delta ?? faction.lastChange;
          return (
            <li key={faction.id} data-faction={faction.id} className={`faction faction-${faction.id}`}>
              <div className="faction-line">
                <span className="faction-name">{faction.name}</span>
                <span className="faction-value">
                  <span className="num">{faction.influence.toFixed(1)}</span>
                  {change ? <span className={`delta ${trend(change)}`}>{formatSigned(change, 1)}</span> : null}
                </span>
              </div>
              <div
                className="bar"
                role="meter"
                aria-label={`${faction.name} influence`}
                aria-valuemin={0}
                aria-valuemax={100}
                aria-valuenow={Number(faction.influence.toFixed(1))}
              >
                <div className="bar-fill" style={{ width: `${Math.max(0, Math.min(100, faction.influence))}%` }} />
              </div>
              {shift ? (
                <p className="faction-reason muted">
                  <time dateTime={shift.at}>{formatClock(shift.at)}</time> · {shift.reason}
                </p>
              ) : null}
            </li>
          );
        })}
      </ul>
    </Panel>
  );
}
