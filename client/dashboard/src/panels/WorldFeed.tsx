import { useQuery } from '@apollo/client/react';
import { useEffect, useState } from 'react';
import { WorldEventsDocument, WorldFeedDocument } from '../../../generated/graphql.js';
import { Panel } from '../components/Panel.js';
import { formatClock } from '../format.js';

/** How many events the feed loads and keeps. */
const feedLength = 40;

const severityLabel = { INFO: 'Info', WARNING: 'Warning', CRITICAL: 'Critical' } as const;

/**
 * World events, newest first: the backlog from `worldEvents(last:)`, then live
 * events prepended by `subscribeToMore`. The subscription starts `after` the
 * newest backlog cursor, so nothing published between the two is lost, and
 * the client resumes it from the last cursor after a reconnect.
 */
export function WorldFeed() {
  const { data, error, subscribeToMore } = useQuery(WorldEventsDocument, { variables: { last: feedLength } });
  // Fixed once the backlog arrived: later reads must not restart the subscription.
  const [startCursor, setStartCursor] = useState<string | null | undefined>(undefined);
  useEffect(() => {
    if (data && startCursor === undefined) setStartCursor(data.worldEvents[0]?.cursor ?? null);
  }, [data, startCursor]);

  useEffect(() => {
    if (startCursor === undefined) return;
    return subscribeToMore({
      document: WorldFeedDocument,
      variables: { after: startCursor },
      updateQuery: (_unsafe, { previousData, complete, subscriptionData }) => {
        const event = subscriptionData.data.worldEvents;
        if (!complete) return undefined;
        if (previousData.worldEvents.some((e) => e.id === event.id)) return previousData;
        return { ...previousData, worldEvents: [event, ...previousData.worldEvents].slice(0, feedLength) };
      },
    });
  }, [startCursor, subscribeToMore]);

  const events = data?.worldEvents ?? [];
  return (
    <Panel id="feed" title="World feed" aside={<span className="muted">newest first</span>}>
      {error && !data ? <p className="error-text" role="alert">Could not load the feed: {error.message}</p> : null}
      {!data && !error ? <p className="muted">Loading events…</p> : null}
      {data && events.length === 0 ? <p className="muted">Nothing has happened yet.</p> : null}
      {/* Focusable: it scrolls, and keyboard users must be able to scroll it. */}
      <ol className="feed" role="log" aria-live="polite" aria-relevant="additions" aria-label="World events, newest first" tabIndex={0}>
        {events.map((event) => (
          <li key={event.id} className={`feed-item sev-${event.severity.toLowerCase()}`} data-kind={event.kind}>
            <div className="feed-meta">
              <span className="sev-badge">{severityLabel[event.severity]}</span>
              <span className="feed-kind">{event.kind}</span>
              <time dateTime={event.at}>{formatClock(event.at)}</time>
            </div>
            <p className="feed-message">{event.message}</p>
          </li>
        ))}
      </ol>
    </Panel>
  );
}
