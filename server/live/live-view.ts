import type { RealmPubSub } from '../events/pubsub.js';
import type { Topic, TopicMap } from '../events/topics.js';
import { createSharedWatchers, type SharedWatchers } from './shared-watchers.js';

/**
 * A live view: the snapshots one kind of per-viewer subscription receives
 * (a player's portfolio or P&L, a game's presence), built once per key per
 * instance. One watcher per key (player, game) while it has subscribers,
 * reference-counted ({@link createSharedWatchers}); the watcher holds the
 * one pub/sub listener of its key and does the reads once per change;
 * subscribers are members that only receive what it built, each through a
 * bounded queue ({@link orderedPush}). After a pub/sub reconnect every
 * running watcher of the view is resynced once.
 */
export type LiveView<W, M> = SharedWatchers<W, M>;

export interface LiveViewOptions<K extends Topic, W, M> {
  pubsub: RealmPubSub;
  /** The topic whose messages for a key (the key is their routing id) tell that key's view changed. */
  topic: K;
  /**
   * Builds the watcher of `key` (no I/O). `members` is the live set it
   * delivers to: empty until the watcher started, then kept up to date.
   */
  create(key: string, members: ReadonlySet<M>): W;
  /** A message of the watcher's topic arrived (after it was listening). */
  changed(watcher: W, payload: TopicMap[K]): void;
  /**
   * What the watcher needs once it listens (reads that must not miss a
   * change, so they come after the listener is active). A rejection stops
   * the watcher again and rejects the joins waiting for it.
   */
  prepare?(watcher: W): Promise<void>;
  /**
   * After a pub/sub reconnect (messages published while the broker was away
   * are lost), once per running watcher: read again. @default nothing
   */
  resync?(watcher: W): void;
  /** Stops what {@link prepare} started (timers, other views joined), after the listener was removed. */
  dispose?(watcher: W): void;
}

/**
 * Creates a {@link LiveView}: per key, {@link LiveViewOptions.create} then
 * one listener of `topic`, then {@link LiveViewOptions.prepare}; one
 * reconnect listener for the whole view while any watcher runs.
 */
export function createLiveView<K extends Topic, W, M>(options: LiveViewOptions<K, W, M>): LiveView<W, M> {
  const { pubsub, topic, create, changed, prepare, resync, dispose } = options;
  /** Running watchers and their listeners' removers. */
  const running = new Map<W, () => void>();
  let stopResync: (() => void) | undefined;
  const onReconnect = () => {
    for (const watcher of running.keys()) resync!(watcher);
  };
  return createSharedWatchers<W, M>({
    async start(key, members) {
      const watcher = create(key, members);
      // Listen before `prepare` reads, so a change in between is not missed.
      const unsubscribe = await pubsub.subscribe(topic, key, (payload) => changed(watcher, payload));
      try {
        await prepare?.(watcher);
      } catch (error) {
        unsubscribe();
        dispose?.(watcher);
        throw error;
      }
      running.set(watcher, unsubscribe);
      if (resync) stopResync ??= pubsub.onReconnect(onReconnect);
      return watcher;
    },
    stop(watcher) {
      const unsubscribe = running.get(watcher);
      running.delete(watcher);
      if (!running.size) {
        stopResync?.();
        stopResync = undefined;
      }
      unsubscribe?.();
      dispose?.(watcher);
    },
  });
}

/**
 * Reads of watchers whose view changed, batched and in order: everything
 * that became due until a batch starts (after the current I/O phase, so
 * timers firing together and messages arriving together land in one) is
 * handed to `run` at once, and batches run one at a time, so a watcher's
 * snapshots arrive in the order of its changes and a read already queued
 * covers every change before it starts. One per view (a batch read for all
 * its keys) or one per watcher (a read per key). `run` must handle its own
 * errors (deliver them to the members): after a rejection the reads queued
 * behind it would never run.
 */
export function batchedReads<W>(run: (batch: W[]) => Promise<void>): (watcher: W) => void {
  const due = new Set<W>();
  let queue: Promise<unknown> = Promise.resolve();
  let scheduled = false;
  const next = () => {
    scheduled = false;
    const batch = [...due];
    due.clear();
    return run(batch);
  };
  return (watcher) => {
    due.add(watcher);
    if (scheduled) return;
    scheduled = true;
    setImmediate(() => (queue = queue.then(next)));
  };
}
