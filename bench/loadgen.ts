/**
 * The load generator, in its own process (pinned to another core than the
 * server). Raw `ws` clients speaking the least of graphql-ws that works:
 * `connection_init`, `subscribe`, `pong`. Kept cheap so that it is not the
 * bottleneck: a measured message is read on its bytes with two `indexOf`s
 * and one `Date.parse`, never decoded or `JSON.parse`d, and latencies go into a fixed histogram.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { serveParent } from './ipc.js';
import type { ConnectionGroup, LoadgenCommands, LoadResult } from './protocol.js';

/** Histogram buckets of 0.1 ms, up to 120 s (later arrivals count in the last bucket). */
const bucketsPerMs = 10;
const histogram = new Uint32Array(120_000 * bucketsPerMs + 1);

interface Connection {
  socket: WebSocket;
  /** Keys subscription "1" should receive; every key when undefined. */
  keys: Set<string> | undefined;
  /** Whether subscription "1" has delivered anything yet (it is active). */
  active: boolean;
  received: number;
}

const connections: Connection[] = [];
/** Events with an `at` in [t0, t1] are measured. */
let t0 = Number.POSITIVE_INFINITY;
let t1 = Number.POSITIVE_INFINITY;
let received = 0;
let misrouted = 0;
let errors = 0;
let otherMessages = 0;
let firstError: string | undefined;
let lastMessage = 0;
let lastReceipt = 0;
let closing = false;

const now = () => performance.timeOrigin + performance.now();
const measuredPrefix = Buffer.from('{"id":"1","type":"next","payload":');
const atKey = Buffer.from('"at":"');
const errorsKey = Buffer.from('"errors":');
const symbolKey = Buffer.from('"symbol":"');
const quote = '"'.charCodeAt(0);

function fail(message: string) {
  errors++;
  firstError ??= message;
}

/** Reads a measured message on its bytes (no string of the whole frame is made). */
function onMessage(connection: Connection, data: Buffer) {
  const receipt = now();
  lastMessage = receipt;
  if (data.length < measuredPrefix.length || measuredPrefix.compare(data, 0, measuredPrefix.length) !== 0) return onOtherMessage(connection, data.toString());
  connection.active = true;
  const atIndex = data.indexOf(atKey);
  if (atIndex < 0) return fail(`no "at" in ${data.toString('utf8', 0, 200)}`);
  const at = Date.parse(data.toString('latin1', atIndex + 6, atIndex + 30));
  if (at < t0 || at > t1) return; // warm-up, or after the window
  if (data.includes(errorsKey)) fail(data.toString('utf8', 0, 300));
  connection.received++;
  received++;
  lastReceipt = receipt;
  if (connection.keys) {
    const start = data.indexOf(symbolKey) + symbolKey.length;
    if (!connection.keys.has(data.toString('latin1', start, data.indexOf(quote, start)))) misrouted++;
  }
  histogram[Math.min(histogram.length - 1, Math.max(0, Math.round((receipt - at) * bucketsPerMs)))]!++;
}

function onOtherMessage(connection: Connection, text: string) {
  const message = JSON.parse(text) as { type: string; id?: string; payload?: unknown };
  if (message.type === 'ping') connection.socket.send('{"type":"pong"}');
  else if (message.type === 'next') otherMessages++;
  else if (message.type === 'error') fail(`subscription ${message.id} failed: ${JSON.stringify(message.payload)}`);
  else if (message.type === 'complete') fail(`subscription ${message.id} completed early`);
}

/** Opens one connection and starts its subscriptions; resolves once they are sent. */
function open(url: string, group: ConnectionGroup): Promise<void> {
  return new Promise((resolve, reject) => {
    // Frames are JSON from the server under test: skipping UTF-8 validation keeps the
    // load generator (one core for up to 50,000 messages a second) from measuring itself.
    const socket = new WebSocket(url, 'graphql-transport-ws', { perMessageDeflate: false, skipUTF8Validation: true });
    const connection: Connection = { socket, keys: group.keys ? new Set(group.keys) : undefined, active: false, received: 0 };
    let acknowledged = false;
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: group.connectionParams ?? {} })));
    socket.on('message', (data: Buffer) => {
      if (acknowledged) return onMessage(connection, data);
      const message = JSON.parse(data.toString()) as { type: string };
      if (message.type !== 'connection_ack') return;
      acknowledged = true;
      for (const { id, query, variables } of group.subscriptions) socket.send(JSON.stringify({ id, type: 'subscribe', payload: { query, variables } }));
      connections.push(connection);
      resolve();
    });
    socket.on('error', (error) => (acknowledged ? fail(String(error)) : reject(error)));
    socket.on('close', (code, reason) => {
      if (!acknowledged) reject(new Error(`closed before connection_ack: ${code} ${String(reason)}`));
      else if (!closing) fail(`socket closed: ${code} ${String(reason)}`);
    });
  });
}

/** Resolves when `done()` holds (checked every 20 ms) or `timeoutMs` passed; returns whether it held. */
async function until(done: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() >= deadline) return false;
    await sleep(20);
  }
  return true;
}

/** The latency (ms) below which `fraction` of the measured messages arrived. */
function percentile(fraction: number): number {
  const total = histogram.reduce((sum, n) => sum + n, 0);
  if (total === 0) return Number.NaN;
  const rank = Math.ceil(total * fraction);
  let seen = 0;
  for (let bucket = 0; bucket < histogram.length; bucket++) {
    seen += histogram[bucket]!;
    if (seen >= rank) return bucket / bucketsPerMs;
  }
  return Number.NaN;
}

function maxLatency(): number {
  for (let bucket = histogram.length - 1; bucket >= 0; bucket--) if (histogram[bucket]) return bucket / bucketsPerMs;
  return Number.NaN;
}

serveParent<LoadgenCommands>({
  async connect({ url, groups, batchSize }) {
    const started = Date.now();
    const pending = groups.flatMap((group) => Array.from({ length: group.count }, () => group));
    // In batches: thousands of simultaneous handshakes overflow the listen backlog.
    for (let i = 0; i < pending.length; i += batchSize) {
      await Promise.all(pending.slice(i, i + batchSize).map((group) => open(url, group)));
    }
    return { connections: connections.length, ms: Date.now() - started };
  },
  async awaitFirst({ timeoutMs }) {
    await until(() => connections.every((c) => c.active), timeoutMs);
    return { ready: connections.filter((c) => c.active).length };
  },
  async quiet({ quietMs, timeoutMs }) {
    return { quiet: await until(() => now() - lastMessage >= quietMs, timeoutMs) };
  },
  arm(request) {
    t0 = request.t0;
    return null;
  },
  async finish(request) {
    t1 = request.t1;
    const allKeys = Object.keys(request.published);
    const expectedOf = (c: Connection) => (c.keys ? [...c.keys] : allKeys).reduce((sum, key) => sum + (request.published[key] ?? 0), 0);
    const expected = connections.reduce((sum, c) => sum + expectedOf(c), 0);
    const started = now();
    const complete = await until(() => {
      if (received >= expected && connections.every((c) => c.received >= expectedOf(c))) return true;
      const idleSince = Math.max(lastReceipt, started);
      return now() - idleSince >= request.stallMs;
    }, request.drainMs);
    const done = connections.every((c) => c.received >= expectedOf(c));
    const lost = connections.reduce((sum, c) => sum + Math.max(0, expectedOf(c) - c.received), 0);
    const extra = connections.reduce((sum, c) => sum + Math.max(0, c.received - expectedOf(c)), 0);
    if (extra) fail(`${extra} messages more than published (duplicates?)`);
    closing = true;
    const result: LoadResult = {
      connections: connections.length,
      expected,
      received,
      lost,
      misrouted,
      errors,
      otherMessages,
      latency: { p50: percentile(0.5), p99: percentile(0.99), max: maxLatency() },
      lastReceipt,
      complete: complete && done,
      firstError,
    };
    for (const c of connections) c.socket.terminate();
    return result;
  },
});
