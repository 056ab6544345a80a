/**
 * The subscription transport's connection life as a pure state machine: one
 * {@link TransportState}, one {@link TransportEvent} type, and
 * {@link transition}, which answers an event with the next state and the
 * {@link TransportEffect}s to carry out. No I/O, no timers, no globals: the
 * links (`ws-link.ts`, `sse-link.ts`, `http-probe.ts`) do the I/O and feed
 * what happens back in as events; `index.ts` carries out the effects.
 *
 * Where subscriptions travel: graphql-ws over a WebSocket when it can be
 * established, SSE when WebSocket attempts keep failing before their
 * acknowledgement while plain HTTP works, and back to the WebSocket once a
 * probe gets through. Every counter and timer that decides this lives in the
 * state, so a table of "given this state, this event → that state, those
 * effects" describes the transport whole (`test/client/transport-state.test.ts`).
 */
import { CloseCode } from 'graphql-ws';
import type { ConnectionStatus } from '../status.js';

/** The options that shape the machine's decisions (see `RealmcastClientOptions`). */
export interface MachineConfig {
  /** A WebSocket constructor was given; without one, subscriptions use SSE from the start and nothing is probed. */
  readonly webSocket: boolean;
  readonly sseFallback: boolean;
  readonly fallbackAfterFailures: number;
  readonly fallbackAfterMs: number;
  readonly wsProbeIntervalMs: number;
  readonly maxRetries: number;
}

/** Names one graphql-ws client (one socket at a time, and its connection attempts over time). */
export type SocketId = number;

/** What the machine knows of one graphql-ws client's current connection attempt. */
export interface SocketState {
  readonly id: SocketId;
  /** The current connection attempt is open and acknowledged. */
  readonly acked: boolean;
  /** The current connection attempt got as far as an open socket. */
  readonly opened: boolean;
  /**
   * How many times the server had been seen back (`serverBacks`) when the
   * current connection attempt began: an attempt begun before the latest time
   * fails for the outage it was made in, and its failure is not counted.
   */
  readonly since: number;
}

/** Where the transport stands. */
export type Phase =
  /** Subscriptions go over `socket` (connecting, or acknowledged once `socket.acked`). */
  | { readonly kind: 'ws'; readonly socket: SocketState }
  /**
   * graphql-ws gave up on a socket before its acknowledgement (a close code
   * it does not retry); a new socket opens when the replacement timer fires,
   * which is started once no HTTP check is deciding on SSE instead. New
   * WebSocket subscriptions wait for it.
   */
  | { readonly kind: 'ws-waiting'; readonly replacementTimer: boolean }
  /** Subscriptions go over SSE; `probe` is a WebSocket attempt to switch back, `probeTimer` the wait for the next one. */
  | { readonly kind: 'sse'; readonly probe: SocketState | null; readonly probeTimer: boolean }
  /** `maxRetries` attempts in a row failed: nothing is retried until `restart`. */
  | { readonly kind: 'gave-up' }
  | { readonly kind: 'disposed' };

/** The transport's whole connection state. */
export interface TransportState {
  readonly config: MachineConfig;
  readonly phase: Phase;
  /**
   * The status last reported (a `set-status` effect is emitted when it
   * changes). Not tracked once disposed: the final `offline` is reported
   * after the sockets closed.
   */
  readonly status: ConnectionStatus;
  /** Consecutive failed connection attempts (WebSocket before its acknowledgement, SSE requests). */
  readonly failures: number;
  /** The fallback timer runs: from the first failed WebSocket attempt of a streak until `fallbackAfterMs`. */
  readonly fallbackTimer: boolean;
  /** An HTTP reachability check (SSE or "offline"?) is in flight. */
  readonly checking: boolean;
  /** An HTTP check of the current failure streak found the server down: its sockets failed for that, not for a WebSocket block. */
  readonly serverDownInStreak: boolean;
  /**
   * How many times an HTTP check found the server answering after one of the
   * same streak found it down. A WebSocket attempt begun before the latest of
   * these (`socket.since` below it) may still fail afterwards, late, under
   * load: it failed because the server was down, and counting it would start
   * a new streak that falls back to SSE while the WebSocket works.
   */
  readonly serverBacks: number;
  /** A WebSocket was acknowledged once: later connection attempts say `reconnecting`, not `connecting`. */
  readonly everConnected: boolean;
  /** The id the next socket gets. */
  readonly nextSocket: SocketId;
}

/** The transport's timers; each fires the event `<name>-due`. */
export type TimerName = 'fallback' | 'replacement' | 'probe';

/** How long a timer waits: a fixed time, or the reconnect backoff after `backoffAttempt` (0 for the first retry). */
export type Delay = { readonly ms: number } | { readonly backoffAttempt: number };

/** Why subscriptions are failed (ended with an error, not resumed). */
export type SubscriptionFailure =
  /** The server refused the WebSocket's credentials (4403 before the acknowledgement). */
  | { readonly kind: 'auth'; readonly code: number; readonly reason: string }
  /** `maxRetries` attempts in a row failed. */
  | { readonly kind: 'gave-up'; readonly attempts: number };

/** Everything that moves the transport from one state to another. */
export type TransportEvent =
  /** graphql-ws begins a connection attempt on `socket`. */
  | { readonly type: 'ws-connecting'; readonly socket: SocketId }
  /** The attempt got as far as an open socket. */
  | { readonly type: 'ws-opened'; readonly socket: SocketId }
  /** The server acknowledged the connection. */
  | { readonly type: 'ws-connected'; readonly socket: SocketId }
  | { readonly type: 'ws-closed'; readonly socket: SocketId; readonly code: number; readonly reason: string }
  /** `fallbackAfterMs` passed since the first failed attempt. */
  | { readonly type: 'fallback-due' }
  /** The replacement of a socket graphql-ws gave up on is due. */
  | { readonly type: 'replacement-due' }
  /** On SSE: time to try the WebSocket again. */
  | { readonly type: 'probe-due' }
  /** The HTTP reachability check started after failed WebSocket attempts answered. */
  | { readonly type: 'http-checked'; readonly reachable: boolean }
  /** An SSE request got its response. */
  | { readonly type: 'sse-connected' }
  /** An SSE request failed without a definite refusal from the server. */
  | { readonly type: 'sse-lost'; readonly wasConnected: boolean }
  /** New credentials, or `reconnect()`: start over. */
  | { readonly type: 'restart' }
  | { readonly type: 'dispose' };

/** What the runtime does for a transition, in order. */
export type TransportEffect =
  | { readonly type: 'set-status'; readonly status: ConnectionStatus }
  /** Create the graphql-ws client `socket` (it starts connecting at once). */
  | { readonly type: 'open-socket'; readonly socket: SocketId }
  /** Dispose of the client `socket`; `wait`: it was acknowledged, so closing it is worth waiting for. */
  | { readonly type: 'close-socket'; readonly socket: SocketId; readonly wait: boolean }
  /** Start the WebSocket subscriptions waiting for a socket on the current one (or drop them from the queue when there is none). */
  | { readonly type: 'attach-waiting' }
  /** Stop the live subscriptions going `via` (on `socket`, when given) and have them subscribe again. */
  | { readonly type: 'interrupt'; readonly via: 'ws' | 'sse'; readonly reason: string; readonly socket?: SocketId }
  /** End subscriptions with an error: the WebSocket ones on `socket` when given, else every live one. */
  | { readonly type: 'fail'; readonly failure: SubscriptionFailure; readonly socket?: SocketId }
  /** Complete every live subscription (disposal). */
  | { readonly type: 'end-all' }
  /** (Re)start a timer; when it fires, feed `<timer>-due`. */
  | { readonly type: 'start-timer'; readonly timer: TimerName; readonly delay: Delay }
  | { readonly type: 'cancel-timer'; readonly timer: TimerName }
  /** Check whether plain HTTP reaches the server; feed `http-checked`. */
  | { readonly type: 'check-http' };

/** A state and what to do to get there. */
export interface Step {
  readonly state: TransportState;
  readonly effects: readonly TransportEffect[];
}

/**
 * Close codes an application speaks after the upgrade succeeded: the socket
 * works (auth, rate limits…), so they never count towards the SSE fallback.
 */
export const isApplicationCloseCode = (code: number) => code >= 4000 && code <= 4999;

/**
 * Close codes graphql-ws never retries (it fails the subscriptions and stops):
 * the ones below, and every 1xxx code but 1000, 1001, 1005, 1006, 1012–1014.
 */
export const fatalCloseCodes: ReadonlySet<number> = new Set<number>([
  CloseCode.InternalServerError,
  CloseCode.InternalClientError,
  CloseCode.BadRequest,
  CloseCode.BadResponse,
  CloseCode.Unauthorized,
  CloseCode.SubprotocolNotAcceptable,
  CloseCode.SubscriberAlreadyExists,
  CloseCode.TooManyInitialisationRequests,
]);

/** Whether graphql-ws gives up after a close with `code` (mirrors its `shouldRetryConnectOrThrow`). */
export const graphqlWsGivesUp = (code: number) =>
  fatalCloseCodes.has(code) || (code >= 1000 && code <= 1999 && ![1000, 1001, 1005, 1006, 1012, 1013, 1014].includes(code));

/** The socket new WebSocket subscriptions go on, if any. */
export const currentSocket = (state: TransportState): SocketId | null => (state.phase.kind === 'ws' ? state.phase.socket.id : null);

/** Which transport new subscriptions use: SSE only in `sse`; while waiting for a replacement socket they queue on the WebSocket side. */
export const modeOf = (state: TransportState): 'ws' | 'sse' => (state.phase.kind === 'sse' ? 'sse' : 'ws');

/** The socket `id` if the state still uses it (as the current socket or as the probe). */
function socketInUse(state: TransportState, id: SocketId): SocketState | undefined {
  const { phase } = state;
  if (phase.kind === 'ws' && phase.socket.id === id) return phase.socket;
  if (phase.kind === 'sse' && phase.probe?.id === id) return phase.probe;
  return undefined;
}

/**
 * Where the transport starts: a first socket when a WebSocket constructor is
 * given, SSE otherwise. `status` is the status store's value now.
 */
export function initialState(config: MachineConfig, status: ConnectionStatus): Step {
  const draft: Draft = {
    state: {
      config,
      phase: { kind: 'ws-waiting', replacementTimer: false },
      status,
      failures: 0,
      fallbackTimer: false,
      checking: false,
      serverDownInStreak: false,
      serverBacks: 0,
      everConnected: false,
      nextSocket: 1,
    },
    effects: [],
  };
  if (config.webSocket) openSocket(draft);
  else {
    setPhase(draft, { kind: 'sse', probe: null, probeTimer: false });
    setStatus(draft, 'fallback-sse');
  }
  return draft;
}

/** The one place the transport changes state. */
export function transition(state: TransportState, event: TransportEvent): Step {
  if (state.phase.kind === 'disposed') return { state, effects: [] };
  const draft: Draft = { state, effects: [] };
  switch (event.type) {
    case 'ws-connecting':
      updateSocket(draft, event.socket, { opened: false, since: state.serverBacks });
      if (currentSocket(state) === event.socket && state.status !== 'offline') setStatus(draft, state.everConnected ? 'reconnecting' : 'connecting');
      break;
    case 'ws-opened':
      updateSocket(draft, event.socket, { opened: true });
      break;
    case 'ws-connected':
      wsConnected(draft, event.socket);
      break;
    case 'ws-closed':
      wsClosed(draft, event);
      break;
    case 'fallback-due': {
      update(draft, { fallbackTimer: false });
      const { phase } = draft.state;
      if (phase.kind === 'ws-waiting' || (phase.kind === 'ws' && !phase.socket.acked)) checkHttp(draft);
      break;
    }
    case 'replacement-due':
      if (draft.state.phase.kind !== 'ws-waiting') break;
      setPhase(draft, { kind: 'ws-waiting', replacementTimer: false });
      openSocket(draft);
      break;
    case 'probe-due': {
      const { phase } = draft.state;
      if (phase.kind !== 'sse') break;
      const fired = { ...phase, probeTimer: false };
      setPhase(draft, fired);
      if (!phase.probe) openProbe(draft, fired);
      break;
    }
    case 'http-checked':
      httpChecked(draft, event.reachable);
      break;
    case 'sse-connected':
      resetFailures(draft);
      if (draft.state.phase.kind === 'sse') setStatus(draft, 'fallback-sse');
      break;
    case 'sse-lost':
      if (!attemptFailed(draft)) break;
      if (!event.wasConnected && draft.state.phase.kind === 'sse') setStatus(draft, 'offline');
      break;
    case 'restart':
      restart(draft);
      break;
    case 'dispose':
      enter(draft, { kind: 'disposed' });
      cancelFallbackTimer(draft);
      draft.effects.push({ type: 'end-all' });
      break;
  }
  return draft;
}

// --- Transitions, one per event that takes more than a few lines ------------

function wsConnected(draft: Draft, id: SocketId) {
  const socket = socketInUse(draft.state, id);
  if (!socket) return;
  const acked = { ...socket, acked: true };
  updateSocket(draft, id, { acked: true });
  resetFailures(draft);
  if (draft.state.phase.kind === 'sse') {
    // The probe got through: the WebSocket works again, move every subscription back to it.
    enter(draft, { kind: 'ws', socket: acked }, id);
    draft.effects.push({ type: 'attach-waiting' });
    interrupt(draft, 'sse', 'switching back to WebSocket');
  }
  update(draft, { everConnected: true });
  setStatus(draft, 'connected');
}

function wsClosed(draft: Draft, event: Extract<TransportEvent, { type: 'ws-closed' }>) {
  const { socket: id, code, reason } = event;
  const { phase } = draft.state;
  if (phase.kind === 'sse' && phase.probe?.id === id) {
    draft.effects.push({ type: 'close-socket', socket: id, wait: false });
    setPhase(draft, { ...phase, probe: null });
    scheduleProbe(draft);
    return;
  }
  if (phase.kind !== 'ws' || phase.socket.id !== id) return;
  const { socket } = phase; // as it was before this close
  setPhase(draft, { kind: 'ws', socket: { ...socket, acked: false } });
  if (socket.acked) {
    if (fatalCloseCodes.has(code)) {
      // graphql-ws gives up on these and fails the subscriptions itself.
      setStatus(draft, 'offline');
      return;
    }
    setStatus(draft, 'reconnecting');
    interrupt(draft, 'ws', `WebSocket closed (${code})`, id);
    return;
  }
  // Begun before the server was last seen back: it failed for the outage, not for a WebSocket block.
  const stale = socket.since < draft.state.serverBacks;
  if (graphqlWsGivesUp(code)) {
    // Before the acknowledgement this is a failed attempt like any other, but
    // graphql-ws will not retry it: wait for a replacement socket, opened after a backoff.
    draft.effects.push({ type: 'close-socket', socket: id, wait: false });
    setPhase(draft, { kind: 'ws-waiting', replacementTimer: false });
    interrupt(draft, 'ws', `WebSocket closed (${code}) before it was acknowledged`, id);
    if (!stale && !attemptFailed(draft)) return;
    // While an HTTP check decides between SSE and another attempt, no socket is opened.
    if (!draft.state.checking) scheduleReplacement(draft);
    return;
  }
  if (code === CloseCode.Forbidden) {
    // Invalid credentials: graphql-ws retries (with the token read again), SSE would be refused too.
    draft.effects.push({ type: 'fail', failure: { kind: 'auth', code, reason }, socket: id });
    return;
  }
  if (socket.opened && isApplicationCloseCode(code)) return; // the server spoke: not a blocked upgrade
  if (!stale) attemptFailed(draft); // graphql-ws retries either way
}

/**
 * WebSocket attempts kept failing before their acknowledgement and an HTTP
 * check answered. If plain HTTP gets through, something between us and the
 * server blocks WebSockets: use SSE. If not, the server (or the network) is
 * down: say so and keep retrying.
 */
function httpChecked(draft: Draft, reachable: boolean) {
  update(draft, { checking: false });
  const { phase } = draft.state;
  if (phase.kind !== 'ws' && phase.kind !== 'ws-waiting') return;
  if (phase.kind === 'ws' && phase.socket.acked) return; // connected meanwhile
  if (reachable && draft.state.serverDownInStreak) {
    // The server is back after being down (a restart): its WebSocket
    // failures said nothing about WebSockets being blocked, and neither
    // will those of attempts already under way (see `serverBacks`), so
    // the streak starts over with the next attempt, made at once when no
    // socket is current.
    update(draft, { serverBacks: draft.state.serverBacks + 1 });
    resetFailures(draft);
    // No longer "cannot be reached": the WebSocket is on its way back.
    setStatus(draft, draft.state.everConnected ? 'reconnecting' : 'connecting');
    if (phase.kind === 'ws-waiting') openSocket(draft);
    return;
  }
  if (reachable && draft.state.config.sseFallback) {
    enterSse(draft);
    return;
  }
  if (!reachable) {
    update(draft, { serverDownInStreak: true });
    setStatus(draft, 'offline');
  }
  const now = draft.state.phase;
  if (now.kind === 'ws-waiting' && !now.replacementTimer) scheduleReplacement(draft);
}

function restart(draft: Draft) {
  resetFailures(draft);
  if (draft.state.phase.kind === 'sse') {
    interrupt(draft, 'sse', 'reconnecting with new credentials');
    return;
  }
  if (!draft.state.config.webSocket) {
    enter(draft, { kind: 'sse', probe: null, probeTimer: false });
    setStatus(draft, 'fallback-sse');
    return;
  }
  setStatus(draft, draft.state.everConnected ? 'reconnecting' : 'connecting');
  openSocket(draft);
  interrupt(draft, 'ws', 'reconnecting with new credentials');
}

// --- Building blocks ---------------------------------------------------------

/** A transition under way: the state so far and the effects so far (the input state is never changed). */
interface Draft {
  state: TransportState;
  effects: TransportEffect[];
}

const update = (draft: Draft, changes: Partial<Omit<TransportState, 'config' | 'phase'>>) => {
  draft.state = { ...draft.state, ...changes };
};

const setPhase = (draft: Draft, phase: Phase) => {
  draft.state = { ...draft.state, phase };
};

/** Reports `status` when it differs from the last one reported. */
function setStatus(draft: Draft, status: ConnectionStatus) {
  if (draft.state.status === status) return;
  update(draft, { status });
  draft.effects.push({ type: 'set-status', status });
}

/** Changes the socket `id` if it is in use (events of sockets no longer in use change nothing). */
function updateSocket(draft: Draft, id: SocketId, changes: Partial<Omit<SocketState, 'id'>>) {
  const { phase } = draft.state;
  if (phase.kind === 'ws' && phase.socket.id === id) setPhase(draft, { ...phase, socket: { ...phase.socket, ...changes } });
  else if (phase.kind === 'sse' && phase.probe?.id === id) setPhase(draft, { ...phase, probe: { ...phase.probe, ...changes } });
}

const interrupt = (draft: Draft, via: 'ws' | 'sse', reason: string, socket?: SocketId) => {
  draft.effects.push({ type: 'interrupt', via, reason, socket });
};

/** Leaves the current phase for `next`: stops its timers and closes the sockets `next` does not keep. */
function enter(draft: Draft, next: Phase, keep?: SocketId) {
  const { phase } = draft.state;
  if (phase.kind === 'ws-waiting' && phase.replacementTimer) draft.effects.push({ type: 'cancel-timer', timer: 'replacement' });
  if (phase.kind === 'sse' && phase.probeTimer) draft.effects.push({ type: 'cancel-timer', timer: 'probe' });
  const sockets = phase.kind === 'ws' ? [phase.socket] : phase.kind === 'sse' && phase.probe ? [phase.probe] : [];
  for (const socket of sockets) {
    if (socket.id !== keep) draft.effects.push({ type: 'close-socket', socket: socket.id, wait: socket.acked });
  }
  setPhase(draft, next);
}

/** A new graphql-ws client, in use before it exists: with `lazy: false` it reports `connecting` synchronously. */
function newSocket(draft: Draft): SocketState {
  const socket: SocketState = { id: draft.state.nextSocket, acked: false, opened: false, since: draft.state.serverBacks };
  update(draft, { nextSocket: socket.id + 1 });
  return socket;
}

/** A new current socket; the subscriptions waiting for one start on it. */
function openSocket(draft: Draft) {
  const socket = newSocket(draft);
  enter(draft, { kind: 'ws', socket });
  draft.effects.push({ type: 'open-socket', socket: socket.id }, { type: 'attach-waiting' });
}

/** On SSE: a WebSocket attempt to switch back. */
function openProbe(draft: Draft, phase: Extract<Phase, { kind: 'sse' }>) {
  const socket = newSocket(draft);
  setPhase(draft, { ...phase, probe: socket });
  draft.effects.push({ type: 'open-socket', socket: socket.id });
}

function cancelFallbackTimer(draft: Draft) {
  if (!draft.state.fallbackTimer) return;
  draft.effects.push({ type: 'cancel-timer', timer: 'fallback' });
  update(draft, { fallbackTimer: false });
}

/** A connection worked (or the transport starts over): the failure streak ends. */
function resetFailures(draft: Draft) {
  cancelFallbackTimer(draft);
  update(draft, { failures: 0, serverDownInStreak: false });
}

function enterSse(draft: Draft) {
  enter(draft, { kind: 'sse', probe: null, probeTimer: false });
  resetFailures(draft);
  setStatus(draft, 'fallback-sse');
  interrupt(draft, 'ws', 'WebSocket unavailable, switching to SSE');
  scheduleProbe(draft);
}

function giveUp(draft: Draft) {
  enter(draft, { kind: 'gave-up' });
  cancelFallbackTimer(draft);
  setStatus(draft, 'failed');
  draft.effects.push({ type: 'attach-waiting' }, { type: 'fail', failure: { kind: 'gave-up', attempts: draft.state.failures } });
}

/** In `ws-waiting` (its callers' phase): opens the next socket after the backoff of the failures so far. */
function scheduleReplacement(draft: Draft) {
  draft.effects.push({ type: 'start-timer', timer: 'replacement', delay: { backoffAttempt: draft.state.failures - 1 } });
  setPhase(draft, { kind: 'ws-waiting', replacementTimer: true });
}

/** On SSE (reached with a WebSocket constructor only, so there is something to probe): the next probe after `wsProbeIntervalMs`. */
function scheduleProbe(draft: Draft) {
  const { phase, config } = draft.state;
  if (phase.kind !== 'sse') return;
  draft.effects.push({ type: 'start-timer', timer: 'probe', delay: { ms: config.wsProbeIntervalMs } });
  setPhase(draft, { ...phase, probeTimer: true });
}

/** Counts a failed attempt; returns false when that exhausted `maxRetries` (the client gave up). */
function attemptFailed(draft: Draft): boolean {
  const failures = draft.state.failures + 1;
  update(draft, { failures });
  const { phase, config } = draft.state;
  if (failures > config.maxRetries) {
    giveUp(draft);
    return false;
  }
  if ((phase.kind === 'ws' || phase.kind === 'ws-waiting') && failures === 1 && config.sseFallback) {
    draft.effects.push({ type: 'start-timer', timer: 'fallback', delay: { ms: config.fallbackAfterMs } });
    update(draft, { fallbackTimer: true });
  }
  if (failures >= config.fallbackAfterFailures) checkHttp(draft);
  return true;
}

/** Starts an HTTP reachability check, unless one is in flight or the WebSocket is not being tried. */
function checkHttp(draft: Draft) {
  const { phase, checking } = draft.state;
  if ((phase.kind !== 'ws' && phase.kind !== 'ws-waiting') || checking) return;
  update(draft, { checking: true });
  draft.effects.push({ type: 'check-http' });
}
