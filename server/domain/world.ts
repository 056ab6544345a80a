import { decodeCursor, type EventLog } from '../events/event-log.js';
import { Streams, type EventPayloads } from '../events/topics.js';
import { badInput } from '../errors.js';
import { validInt, validList, validText } from './validate.js';

export type Severity = EventPayloads['WorldEvent']['severity'];
/** What a `kind` looks like: lowercase words joined by dots, dashes or underscores. */
export const kindPattern = /^[a-z][a-z0-9._-]{0,39}$/;

export type World = ReturnType<typeof createWorld>;

/** The world event feed; it lives in the event log's `world` stream. */
export function createWorld({ events }: { events: EventLog }) {
  return {
    /** The newest `last` world events, newest first. */
    latest(last = 20) {
      validInt('last', last, 1, 200);
      return events.latest(Streams.world, last);
    },

    /** The `worldEvents` feed: events of `kinds` (at most 50; all when omitted), after the `after` cursor first when given. */
    feed({ kinds, after }: { kinds?: readonly string[] | null; after?: string | null }) {
      const wanted = kinds ? new Set(validList('kinds', kinds, 50)) : undefined;
      return events.feed<'WorldEvent'>({
        stream: Streams.world,
        afterSeq: after ? decodeCursor(Streams.world, after) : undefined,
        shape: wanted ? `kinds=${JSON.stringify([...wanted].sort())}` : 'all',
        filter: (e) => e.type === 'WorldEvent' && (!wanted || wanted.has(e.payload.kind)),
      });
    },

    /** A game master's announcement. */
    announce(messageInput: string, kindInput = 'announcement', severity: Severity = 'INFO') {
      const message = validText('message', messageInput, 500);
      if (!kindPattern.test(kindInput)) {
        throw badInput('kind', '"kind" must be 1–40 lowercase letters, digits, ".", "_" or "-", starting with a letter.');
      }
      return events.transact((_tx, append) => append(Streams.world, 'WorldEvent', { kind: kindInput, message, severity }));
    },
  };
}
