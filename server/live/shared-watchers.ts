/**
 * Per-viewer subscriptions (a player's portfolio and P&L, a game's presence)
 * share one watcher per key (player, game) per instance: the watcher holds
 * the pub/sub listeners and does the reads once per change; subscribers are
 * members that only receive what it built. This module keeps the watchers
 * reference-counted and counts their members.
 */

/** Live members per key, and a signal when that changes (tests wait on it instead of sleeping). */
export interface MemberCounts {
  /** Members of `key` that receive everything right now. */
  count(key: string): number;
  /** Calls `listener` whenever {@link count} of a key changes; returns the remover. */
  onCountChanged(listener: (key: string, count: number) => void): () => void;
}

export interface SharedWatchers<W, M> extends MemberCounts {
  /**
   * Adds `member` to the watcher of `key`, starting the watcher on first use.
   * Resolves once the member receives everything the watcher delivers, with
   * the watcher and `leave`, which must be called when the member ends (the
   * last to leave stops the watcher). Rejects, with nothing joined, when
   * the watcher fails to start.
   */
  join(key: string, member: M): Promise<{ watcher: W; leave: () => void }>;
  /** Watchers running, and members over all of them. */
  stats(): { watchers: number; members: number };
}

export interface SharedWatchersOptions<W, M> {
  /**
   * Starts the watcher of `key`. `members` is the live set it delivers to:
   * empty until it resolved, then kept up to date by {@link SharedWatchers.join}.
   */
  start(key: string, members: ReadonlySet<M>): Promise<W>;
  /** Stops a watcher whose last member left. */
  stop(watcher: W, key: string): void;
}

interface Entry<W, M> {
  members: Set<M>;
  /** Joins waiting for the watcher to start: it is not stopped while there are any. */
  joining: number;
  ready: Promise<W>;
}

/** Reference-counted watchers by key: one per key while it has members. */
export function createSharedWatchers<W, M>({ start, stop }: SharedWatchersOptions<W, M>): SharedWatchers<W, M> {
  const entries = new Map<string, Entry<W, M>>();
  const listeners = new Set<(key: string, count: number) => void>();
  let members = 0;
  const changed = (key: string, count: number) => {
    for (const listener of listeners) listener(key, count);
  };
  const retire = (key: string, entry: Entry<W, M>) => {
    if (entry.members.size || entry.joining) return;
    // Removed at once, so a later join starts a fresh watcher instead of one being stopped.
    if (entries.get(key) === entry) entries.delete(key);
    void entry.ready.then((watcher) => stop(watcher, key), () => {});
  };
  return {
    async join(key, member) {
      let entry = entries.get(key);
      if (!entry) {
        const memberSet = new Set<M>();
        const created: Entry<W, M> = { members: memberSet, joining: 0, ready: start(key, memberSet) };
        created.ready.catch(() => entries.get(key) === created && entries.delete(key));
        entries.set(key, created);
        entry = created;
      }
      entry.joining++;
      let watcher: W;
      try {
        watcher = await entry.ready;
      } finally {
        entry.joining--;
      }
      const joined = entry;
      joined.members.add(member);
      members++;
      changed(key, joined.members.size);
      let left = false;
      return {
        watcher,
        leave() {
          if (left) return;
          left = true;
          joined.members.delete(member);
          members--;
          changed(key, joined.members.size);
          retire(key, joined);
        },
      };
    },
    count: (key) => entries.get(key)?.members.size ?? 0,
    onCountChanged(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    stats: () => ({ watchers: entries.size, members }),
  };
}

/**
 * Hands values to one subscriber's Repeater in order, one at a time (the
 * next once its consumer asked for more). A consumer that falls behind by
 * more than `limit` values loses the oldest waiting ones: every value here is
 * a whole snapshot (a portfolio, a P&L tick, a presence list), so the newest
 * says everything, and a stuck subscriber costs a bounded amount of memory.
 */
export function orderedPush<T>(push: (value: T) => Promise<unknown>, stop: (error?: unknown) => unknown, limit = 16): (value: T) => void {
  const waiting: T[] = [];
  let busy = false;
  const pump = () => {
    if (!waiting.length) {
      busy = false;
      return;
    }
    busy = true;
    // Resolves when the consumer asks for the next value (or at once once stopped).
    push(waiting.shift()!).then(pump, (error: unknown) => stop(error));
  };
  return (value) => {
    waiting.push(value);
    if (waiting.length > limit) waiting.shift();
    if (!busy) pump();
  };
}
