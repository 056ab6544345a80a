/**
 * The mechanism under every per-viewer live view (`server/live/live-view.ts`):
 * one watcher and one pub/sub listener per key however many members join,
 * one reconnect listener for the whole view that resyncs each running
 * watcher once, a watcher that fails to prepare leaving nothing behind, and
 * reads batched in order.
 */
import { describe, expect, it } from 'vitest';
import { createRealmPubSub } from '../../server/events/pubsub.js';
import { batchedReads, createLiveView } from '../../server/live/live-view.js';

/** An in-process pub/sub whose reconnects the test announces itself. */
function reconnectablePubSub() {
  const reconnectListeners = new Set<() => void>();
  const pubsub = createRealmPubSub({
    onReconnect(listener) {
      reconnectListeners.add(listener);
      return () => reconnectListeners.delete(listener);
    },
  });
  const reconnect = () => {
    for (const listener of reconnectListeners) listener();
  };
  return { pubsub, reconnectListeners, reconnect };
}

interface Watcher {
  key: string;
  members: ReadonlySet<string>;
  changes: string[];
  resyncs: number;
  disposed: boolean;
}

/** Resolves once `portfolioChanged`/`id` has no listener (stops run once their start settled). */
function noListener(pubsub: ReturnType<typeof reconnectablePubSub>['pubsub'], id: string) {
  return new Promise<void>((resolve) => {
    if (pubsub.listenerCount('portfolioChanged', id) === 0) return resolve();
    const off = pubsub.onListenersChanged((topic, changed, count) => {
      if (topic === 'portfolioChanged' && changed === id && count === 0) {
        off();
        resolve();
      }
    });
  });
}

function portfolioView(pubsub: ReturnType<typeof reconnectablePubSub>['pubsub'], prepare?: (watcher: Watcher) => Promise<void>) {
  return createLiveView<'portfolioChanged', Watcher, string>({
    pubsub,
    topic: 'portfolioChanged',
    create: (key, members) => ({ key, members, changes: [], resyncs: 0, disposed: false }),
    changed: (watcher, payload) => watcher.changes.push(payload.playerId),
    prepare,
    resync: (watcher) => watcher.resyncs++,
    dispose: (watcher) => (watcher.disposed = true),
  });
}

describe('createLiveView', () => {
  it('should share one watcher and one listener per key, deliver its messages to it, and stop both when the last member leaves', async () => {
    const { pubsub } = reconnectablePubSub();
    const view = portfolioView(pubsub);
    const [a, b] = await Promise.all([view.join('p1', 'a'), view.join('p1', 'b')]);
    expect(a.watcher).toBe(b.watcher);
    expect([...a.watcher.members]).toEqual(['a', 'b']);
    expect(pubsub.listenerCount('portfolioChanged', 'p1')).toBe(1);
    expect(view.stats()).toEqual({ watchers: 1, members: 2 });

    await pubsub.publish('portfolioChanged', 'p1', { playerId: 'p1' });
    expect(a.watcher.changes).toEqual(['p1']);

    a.leave();
    expect(pubsub.listenerCount('portfolioChanged', 'p1')).toBe(1);
    b.leave();
    await noListener(pubsub, 'p1');
    expect(a.watcher.disposed).toBe(true);
    expect(view.stats()).toEqual({ watchers: 0, members: 0 });
  });

  it('should hold one reconnect listener for the whole view and resync every running watcher once per reconnect', async () => {
    const { pubsub, reconnectListeners, reconnect } = reconnectablePubSub();
    const view = portfolioView(pubsub);
    expect(reconnectListeners.size).toBe(0);
    const joined = await Promise.all([view.join('p1', 'a'), view.join('p1', 'b'), view.join('p2', 'c')]);
    expect(reconnectListeners.size).toBe(1);

    reconnect();
    expect(joined.map(({ watcher }) => watcher.resyncs)).toEqual([1, 1, 1]);
    expect(joined[0]!.watcher).not.toBe(joined[2]!.watcher);

    for (const { leave } of joined) leave();
    await Promise.all([noListener(pubsub, 'p1'), noListener(pubsub, 'p2')]);
    expect(reconnectListeners.size).toBe(0);
  });

  it('should reject the joins of a watcher that fails to prepare and leave no listener, watcher or member behind', async () => {
    const { pubsub, reconnectListeners } = reconnectablePubSub();
    const failed: Watcher[] = [];
    const view = portfolioView(pubsub, async (watcher) => {
      failed.push(watcher);
      throw new Error('holdings unreadable');
    });
    await expect(view.join('p1', 'a')).rejects.toThrow('holdings unreadable');
    expect(failed[0]!.disposed).toBe(true);
    expect(pubsub.listenerCount('portfolioChanged', 'p1')).toBe(0);
    expect(reconnectListeners.size).toBe(0);
    expect(view.stats()).toEqual({ watchers: 0, members: 0 });
  });
});

describe('batchedReads', () => {
  it('should read everything due at the same moment in one batch, and what becomes due during a read in the next one, in order', async () => {
    const batches: string[][] = [];
    let release!: () => void;
    let started!: () => void;
    const firstStarted = new Promise<void>((resolve) => (started = resolve));
    let secondDone!: () => void;
    const done = new Promise<void>((resolve) => (secondDone = resolve));
    const refresh = batchedReads<string>(async (batch) => {
      batches.push(batch);
      if (batches.length === 1) {
        started();
        await new Promise<void>((resolve) => (release = resolve));
      } else secondDone();
    });
    refresh('p1');
    refresh('p2');
    refresh('p1');
    await firstStarted;
    // Due while the first read runs: queued behind it, together.
    refresh('p3');
    refresh('p1');
    // Its batch starts after this I/O phase, and only once the first read ended.
    await new Promise((resolve) => setImmediate(resolve));
    expect(batches).toEqual([['p1', 'p2']]);
    release();
    await done;
    expect(batches).toEqual([
      ['p1', 'p2'],
      ['p3', 'p1'],
    ]);
  });
});
