/**
 * The per-subscriber queue of per-viewer subscriptions (`orderedPush` in
 * `server/live/shared-watchers.ts`): a subscriber that stops reading holds
 * at most 16 undelivered snapshots, the newest ones, in order.
 */
import { describe, expect, it } from 'vitest';
import { orderedPush } from '../../server/live/shared-watchers.js';

/** A consumer whose reads are released by hand: `pushed` lists what it was handed. */
function stalledConsumer() {
  const pushed: number[] = [];
  const pending: Array<() => void> = [];
  const push = (value: number) => {
    pushed.push(value);
    return new Promise<void>((resolve) => pending.push(resolve));
  };
  /** The consumer asks for the next value (its current push resolves); waits until the queue reacted. */
  const read = async () => {
    pending.shift()?.();
    await new Promise((resolve) => setImmediate(resolve));
  };
  return { pushed, push, read };
}

describe('orderedPush', () => {
  it('should keep at most 16 waiting snapshots for a subscriber that stops reading, dropping the oldest, and deliver the rest in order', async () => {
    const consumer = stalledConsumer();
    const errors: unknown[] = [];
    const deliver = orderedPush(consumer.push, (error) => errors.push(error));
    for (let value = 1; value <= 100; value++) deliver(value);
    // The first was handed over at once; 99 more arrived while it was not taken.
    expect(consumer.pushed).toEqual([1]);
    for (let i = 0; i < 20; i++) await consumer.read();
    expect(consumer.pushed).toEqual([1, ...Array.from({ length: 16 }, (_, i) => 85 + i)]);
    expect(errors).toEqual([]);
  });

  it('should hand every value over, in order, to a subscriber that keeps up', async () => {
    const consumer = stalledConsumer();
    const deliver = orderedPush(consumer.push, () => {});
    for (let value = 1; value <= 40; value++) {
      deliver(value);
      await consumer.read();
    }
    expect(consumer.pushed).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
  });
});
