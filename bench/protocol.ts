/**
 * What the bench orchestrator (`bench/run.ts`) says to its children: a
 * server process (`bench/server.ts`) and the load generator
 * (`bench/loadgen.ts`).
 */

/** The servers the bench compares. */
export const serverKinds = ['ws', 'yoga', 'realmcast'] as const;
export type ServerKind = (typeof serverKinds)[number];

/** What a server process publishes: market ticks, or the events of one game room. */
export type Workload = 'market' | 'game';

/** How a server process is started (its argv, as JSON). */
export interface ServerOptions {
  kind: ServerKind;
  workload: Workload;
  /** Pub/sub through this Redis instead of in-process. */
  redisUrl?: string;
  /** Unique key and channel prefix of this run in Redis. */
  redisPrefix?: string;
  /** Players in the game room (game workload). */
  players?: number;
  /** Realmcast from its TypeScript sources (tsx) instead of the compiled `dist/`. */
  fromSource?: boolean;
}

/** What a server process reports when it is ready. */
export interface ServerInfo {
  /** `ws://…/graphql` */
  url: string;
  /** What one publish can be about: the stock symbols, or `['game']`. */
  keys: string[];
  /** The game workload: the room's join code and one token per player. */
  game?: { code: string; tokens: string[] };
}

export interface ServerCommands {
  /** Forces a full GC, then reports `heapUsed` in bytes. */
  heap: { request: Record<string, never>; response: { heapUsed: number } };
  /** Publishes one event per key, so that every active subscription receives one. */
  warmup: { request: Record<string, never>; response: null };
  /**
   * Waits until `t0` (ms since the epoch), then publishes `count` events at
   * `rate` per second on the real publish path, each started on schedule
   * (or at once when the previous one ran late). Reports when the last one
   * was published (`t1`) and how many events of each key were published.
   */
  publish: {
    request: { t0: number; rate: number; count: number };
    response: { t1: number; published: Record<string, number>; failed: number; firstError?: string };
  };
  /** The process's CPU time so far (user + system), in microseconds. */
  cpu: { request: Record<string, never>; response: { cpuMicros: number } };
  /** Graceful shutdown; the process exits afterwards. */
  dispose: { request: Record<string, never>; response: null };
}

/** One subscription a connection starts right after `connection_ack`. */
export interface SubscriptionSpec {
  id: string;
  query: string;
  variables?: Record<string, unknown>;
}

/**
 * Connections of the same kind. Only subscription id `"1"` is measured; the
 * others (e.g. `presence` next to `gameEvents`) are only counted.
 */
export interface ConnectionGroup {
  count: number;
  /** The `connection_init` payload. */
  connectionParams?: Record<string, unknown>;
  subscriptions: SubscriptionSpec[];
  /**
   * Which published keys subscription `"1"` should receive (symbols of a
   * `symbols:` filter); every key when omitted. A delivered event of another
   * key counts as misrouted.
   */
  keys?: string[];
}

/** The measured outcome, as the load generator saw it. */
export interface LoadResult {
  connections: number;
  /** Messages subscription `"1"` should have received in the window. */
  expected: number;
  /** Those it did receive (each at most once per event). */
  received: number;
  /** `expected - received`: not delivered by the end of the drain. */
  lost: number;
  /** Received events that the connection's filter excludes. */
  misrouted: number;
  /** `error` messages and unexpected socket closes. */
  errors: number;
  /** Messages of the other subscriptions (not measured). */
  otherMessages: number;
  /** Latency from the event's `at` to receipt, in ms. */
  latency: { p50: number; p99: number; max: number };
  /** Receipt time of the last measured message (ms since the epoch). */
  lastReceipt: number;
  /** Whether the drain ended because everything arrived (else: it timed out or stalled). */
  complete: boolean;
  firstError?: string;
}

export interface LoadgenCommands {
  /** Opens every connection (in batches), initialises it and starts its subscriptions. */
  connect: {
    request: { url: string; groups: ConnectionGroup[]; batchSize: number };
    response: { connections: number; ms: number };
  };
  /** Waits (up to `timeoutMs`) until every connection has received a message on `"1"`; reports how many have. */
  awaitFirst: { request: { timeoutMs: number }; response: { ready: number } };
  /** Waits until no message arrived for `quietMs` (at most `timeoutMs`). */
  quiet: { request: { quietMs: number; timeoutMs: number }; response: { quiet: boolean } };
  /** Starts counting: events whose `at` is ≥ `t0` are measured. */
  arm: { request: { t0: number }; response: null };
  /**
   * Ends the window at `t1` (events with a later `at` are ignored), then waits
   * until every expected message arrived, nothing arrived for `stallMs`, or
   * `drainMs` passed since the call.
   */
  finish: {
    request: { t1: number; published: Record<string, number>; drainMs: number; stallMs: number };
    response: LoadResult;
  };
}
