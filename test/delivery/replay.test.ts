/**
 * Replays (a subscription with `after:`) go at their client's pace, let the
 * event loop turn between slices, stop once their client went, and over SSE
 * complete whatever their length (the delivery core, `server/delivery/fanout.ts`).
 */
import { once } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import type { TestServer } from '../support/harness.js';
import { gql, onTeardown, readEventStream, startServer } from '../support/harness.js';
import { encodeCursor } from '../../server/events/event-log.js';
import { Streams } from '../../server/events/topics.js';

const feed = 'subscription ($after: String) { worldEvents(after: $after) { message } }';

/** Appends `count` world events in one transaction; the cursor just before the first. */
async function appendWorldEvents(app: TestServer, count: number): Promise<string> {
  const item = (i: number) => ({ type: 'WorldEvent' as const, payload: { kind: 'bulk', message: `old ${i}`, severity: 'INFO' as const } });
  const first = await app.services.events.transact(async (_tx, append) => {
    let seq: number | undefined;
    // In statements of 1,000 rows (SQLite bounds the variables of one statement).
    for (let from = 0; from < count; from += 1_000) {
      const entries = await append.many(Streams.world, Array.from({ length: Math.min(1_000, count - from) }, (_, i) => item(from + i)));
      seq ??= entries[0]!.seq;
    }
    return seq!;
  });
  return encodeCursor(Streams.world, first - 1);
}

describe('replay', () => {
  it('should complete an SSE resume of 3,000 events in order, then go live', async () => {
    const app = await startServer();
    const gm = await app.token('GAME_MASTER');
    const after = await appendWorldEvents(app, 3_000);
    const response = await fetch(app.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: feed, variables: { after } }),
    });
    expect(response.status).toBe(200);
    const reading = readEventStream(response, (text) => text.includes('"live"') || text.includes('event: complete'), { timeoutMs: 60_000 });
    await gql(app.url, 'mutation ($m: String!) { announceWorldEvent(message: $m) { cursor } }', { m: 'live' }, gm);
    const { text } = await reading;
    expect(text).not.toContain('"errors"');
    const messages = [...text.matchAll(/"message":"([^"]*)"/g)].map((match) => match[1]);
    expect(messages).toEqual([...Array.from({ length: 3_000 }, (_, i) => `old ${i}`), 'live']);
  });

  it('should stop replaying for a socket that closed during its replay', async () => {
    const app = await startServer();
    const total = 20_000;
    const after = await appendWorldEvents(app, total);
    const socket = new WebSocket(app.url.replace(/^http/, 'ws'), 'graphql-transport-ws');
    onTeardown(() => socket.terminate());
    await once(socket, 'open');
    socket.send(JSON.stringify({ type: 'connection_init' }));
    const firstNext = new Promise<void>((resolve) =>
      socket.on('message', (data) => {
        const message = JSON.parse(String(data)) as { type: string };
        if (message.type === 'connection_ack') socket.send(JSON.stringify({ id: 'r', type: 'subscribe', payload: { query: feed, variables: { after } } }));
        if (message.type === 'next') resolve();
      }),
    );
    const before = app.fanout.stats().executions;
    await firstNext;
    socket.terminate();
    // The replay's group goes with it once the replay has seen its subscriber leave.
    await vi.waitFor(() => expect(app.fanout.stats().groups).toBe(0), { timeout: 20_000, interval: 20 });
    const executed = app.fanout.stats().executions - before;
    expect(executed).toBeLessThan(total / 2);
    // Nothing runs on for it afterwards.
    await gql(app.url, '{ stocks { symbol } }');
    expect(app.fanout.stats().executions - before).toBe(executed);
    expect(app.services.events.subscriberCount(Streams.world)).toBe(0);
  });
});
