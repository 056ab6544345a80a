/**
 * The client transport's state machine on its own (no sockets, no timers):
 * given a state and an event, the next state and the effects, row by row;
 * then a few whole stories told as event sequences. The real-server tests
 * (`client.test.ts`, `sse.test.ts`, `resume.test.ts`) check
 * the same rules end to end.
 */
import { describe, expect, it } from 'vitest';
import {
  currentSocket,
  graphqlWsGivesUp,
  initialState,
  isApplicationCloseCode,
  modeOf,
  transition,
  type MachineConfig,
  type Phase,
  type SocketState,
  type TransportEffect,
  type TransportEvent,
  type TransportState,
} from '../../client/transport/state.js';

const config: MachineConfig = {
  webSocket: true,
  sseFallback: true,
  fallbackAfterFailures: 3,
  fallbackAfterMs: 500,
  wsProbeIntervalMs: 30_000,
  maxRetries: Infinity,
};

const socket = (id: number, changes: Partial<SocketState> = {}): SocketState => ({ id, acked: false, opened: false, since: 0, ...changes });
const ws = (changes: Partial<SocketState> = {}): Phase => ({ kind: 'ws', socket: socket(1, changes) });
const connected = ws({ acked: true, opened: true });
const waiting = (replacementTimer = false): Phase => ({ kind: 'ws-waiting', replacementTimer });
const sse = (probe: SocketState | null = null, probeTimer = !probe): Phase => ({ kind: 'sse', probe, probeTimer });

/** A state with socket 1 the latest one opened; `changes` on top. */
function state(phase: Phase, changes: Partial<TransportState> = {}): TransportState {
  return {
    config,
    phase,
    status: 'connecting',
    failures: 0,
    fallbackTimer: false,
    checking: false,
    serverDownInStreak: false,
    serverBacks: 0,
    everConnected: false,
    nextSocket: 2,
    ...changes,
  };
}

interface Row {
  name: string;
  given: TransportState;
  event: TransportEvent;
  /** The fields of the next state that change (everything else stays). */
  then: Partial<TransportState>;
  effects: TransportEffect[];
}

const rows: Row[] = [
  // --- WebSocket connection attempts --------------------------------------------
  {
    name: 'a connection attempt on the current socket is "connecting" until the first acknowledgement',
    given: state(ws({ opened: true, since: 0 }), { serverBacks: 2 }),
    event: { type: 'ws-connecting', socket: 1 },
    then: { phase: ws({ opened: false, since: 2 }) },
    effects: [],
  },
  {
    name: 'a connection attempt after an acknowledged one says "reconnecting"',
    given: state(ws(), { status: 'connected', everConnected: true }),
    event: { type: 'ws-connecting', socket: 1 },
    then: { status: 'reconnecting' },
    effects: [{ type: 'set-status', status: 'reconnecting' }],
  },
  {
    name: 'a connection attempt keeps "offline" (the server is known to be down)',
    given: state(ws(), { status: 'offline', everConnected: true }),
    event: { type: 'ws-connecting', socket: 1 },
    then: {},
    effects: [],
  },
  {
    name: 'a probe attempt records when it began and leaves the status alone',
    given: state(sse(socket(3, { opened: true }), false), { status: 'fallback-sse', serverBacks: 1, nextSocket: 4 }),
    event: { type: 'ws-connecting', socket: 3 },
    then: { phase: sse(socket(3, { since: 1 }), false) },
    effects: [],
  },
  {
    name: 'an event of a socket no longer in use changes nothing',
    given: state(ws(), { nextSocket: 3 }),
    event: { type: 'ws-connecting', socket: 2 },
    then: {},
    effects: [],
  },
  {
    name: 'an acknowledgement from a socket no longer in use changes nothing',
    given: state({ kind: 'ws', socket: socket(2) }, { nextSocket: 3 }),
    event: { type: 'ws-connected', socket: 1 },
    then: {},
    effects: [],
  },
  {
    name: 'on SSE, an acknowledgement from a socket other than the probe changes nothing',
    given: state(sse(socket(3), false), { status: 'fallback-sse', nextSocket: 4 }),
    event: { type: 'ws-connected', socket: 1 },
    then: {},
    effects: [],
  },
  {
    name: 'on SSE without a probe, a late close of the old socket changes nothing',
    given: state(sse(), { status: 'fallback-sse' }),
    event: { type: 'ws-closed', socket: 1, code: 1006, reason: '' },
    then: {},
    effects: [],
  },
  {
    name: 'a late close of a replaced socket changes nothing',
    given: state({ kind: 'ws', socket: socket(2) }, { nextSocket: 3 }),
    event: { type: 'ws-closed', socket: 1, code: 1006, reason: '' },
    then: {},
    effects: [],
  },
  {
    name: 'a probe that got as far as an open socket is remembered',
    given: state(sse(socket(3), false), { status: 'fallback-sse', nextSocket: 4 }),
    event: { type: 'ws-opened', socket: 3 },
    then: { phase: sse(socket(3, { opened: true }), false) },
    effects: [],
  },
  {
    name: 'an open socket is remembered (application close codes then do not count as failures)',
    given: state(ws()),
    event: { type: 'ws-opened', socket: 1 },
    then: { phase: ws({ opened: true }) },
    effects: [],
  },
  {
    name: 'the acknowledgement ends the failure streak and says "connected"',
    given: state(ws({ opened: true }), { failures: 2, fallbackTimer: true, serverDownInStreak: true, status: 'offline' }),
    event: { type: 'ws-connected', socket: 1 },
    then: { phase: connected, failures: 0, fallbackTimer: false, serverDownInStreak: false, everConnected: true, status: 'connected' },
    effects: [
      { type: 'cancel-timer', timer: 'fallback' },
      { type: 'set-status', status: 'connected' },
    ],
  },
  {
    name: 'a probe that gets through becomes the current socket and moves the SSE subscriptions back',
    given: state(sse(socket(3, { opened: true }), false), { status: 'fallback-sse', nextSocket: 4 }),
    event: { type: 'ws-connected', socket: 3 },
    then: { phase: { kind: 'ws', socket: socket(3, { opened: true, acked: true }) }, everConnected: true, status: 'connected' },
    effects: [
      { type: 'attach-waiting' },
      { type: 'interrupt', via: 'sse', reason: 'switching back to WebSocket' },
      { type: 'set-status', status: 'connected' },
    ],
  },

  // --- Closes after the acknowledgement -------------------------------------------
  {
    name: 'a lost connection interrupts its subscriptions and says "reconnecting" (graphql-ws retries)',
    given: state(connected, { status: 'connected', everConnected: true }),
    event: { type: 'ws-closed', socket: 1, code: 1006, reason: '' },
    then: { phase: ws({ opened: true }), status: 'reconnecting' },
    effects: [
      { type: 'set-status', status: 'reconnecting' },
      { type: 'interrupt', via: 'ws', reason: 'WebSocket closed (1006)', socket: 1 },
    ],
  },
  {
    name: 'a close graphql-ws gives up on after the acknowledgement says "offline" (it fails the subscriptions itself)',
    given: state(connected, { status: 'connected', everConnected: true }),
    event: { type: 'ws-closed', socket: 1, code: 4400, reason: 'bad request' },
    then: { phase: ws({ opened: true }), status: 'offline' },
    effects: [{ type: 'set-status', status: 'offline' }],
  },
  {
    name: 'a probe that fails is closed and the next one scheduled',
    given: state(sse(socket(3), false), { status: 'fallback-sse', nextSocket: 4 }),
    event: { type: 'ws-closed', socket: 3, code: 1006, reason: '' },
    then: { phase: sse(null, true) },
    effects: [
      { type: 'close-socket', socket: 3, wait: false },
      { type: 'start-timer', timer: 'probe', delay: { ms: 30_000 } },
    ],
  },

  // --- Failures before the acknowledgement ----------------------------------------
  {
    name: 'the first failed attempt starts the fallback timer',
    given: state(ws()),
    event: { type: 'ws-closed', socket: 1, code: 1006, reason: '' },
    then: { failures: 1, fallbackTimer: true },
    effects: [{ type: 'start-timer', timer: 'fallback', delay: { ms: 500 } }],
  },
  {
    name: 'without the SSE fallback, failed attempts start no fallback timer',
    given: state(ws(), { config: { ...config, sseFallback: false } }),
    event: { type: 'ws-closed', socket: 1, code: 1006, reason: '' },
    then: { failures: 1 },
    effects: [],
  },
  {
    name: 'the fallbackAfterFailures-th failed attempt checks HTTP',
    given: state(ws(), { failures: 2, fallbackTimer: true }),
    event: { type: 'ws-closed', socket: 1, code: 1006, reason: '' },
    then: { failures: 3, checking: true },
    effects: [{ type: 'check-http' }],
  },
  {
    name: 'while a check is in flight, further failures start no other',
    given: state(ws(), { failures: 3, fallbackTimer: true, checking: true }),
    event: { type: 'ws-closed', socket: 1, code: 1006, reason: '' },
    then: { failures: 4 },
    effects: [],
  },
  {
    name: 'an attempt begun before the server was last seen back is not counted when it fails',
    given: state(ws({ since: 0 }), { serverBacks: 1 }),
    event: { type: 'ws-closed', socket: 1, code: 1006, reason: '' },
    then: {},
    effects: [],
  },
  {
    name: 'an application close code on an open socket is not a failed attempt (the server spoke)',
    given: state(ws({ opened: true })),
    event: { type: 'ws-closed', socket: 1, code: 4408, reason: 'init timeout' },
    then: {},
    effects: [],
  },
  {
    name: 'the same code without an open socket is a failed attempt',
    given: state(ws()),
    event: { type: 'ws-closed', socket: 1, code: 4408, reason: '' },
    then: { failures: 1, fallbackTimer: true },
    effects: [{ type: 'start-timer', timer: 'fallback', delay: { ms: 500 } }],
  },
  {
    name: '4403 fails the subscriptions on that socket with an auth error and counts nothing (graphql-ws retries)',
    given: state(ws({ opened: true })),
    event: { type: 'ws-closed', socket: 1, code: 4403, reason: 'Forbidden' },
    then: {},
    effects: [{ type: 'fail', failure: { kind: 'auth', code: 4403, reason: 'Forbidden' }, socket: 1 }],
  },
  {
    name: 'a close graphql-ws does not retry, before the acknowledgement: wait for a replacement after a backoff',
    given: state(ws({ opened: true })),
    event: { type: 'ws-closed', socket: 1, code: 1011, reason: '' },
    then: { phase: waiting(true), failures: 1, fallbackTimer: true },
    effects: [
      { type: 'close-socket', socket: 1, wait: false },
      { type: 'interrupt', via: 'ws', reason: 'WebSocket closed (1011) before it was acknowledged', socket: 1 },
      { type: 'start-timer', timer: 'fallback', delay: { ms: 500 } },
      { type: 'start-timer', timer: 'replacement', delay: { backoffAttempt: 0 } },
    ],
  },
  {
    name: 'no replacement is scheduled while the HTTP check that failure started decides',
    given: state(ws(), { failures: 2, fallbackTimer: true }),
    event: { type: 'ws-closed', socket: 1, code: 1011, reason: '' },
    then: { phase: waiting(false), failures: 3, checking: true },
    effects: [
      { type: 'close-socket', socket: 1, wait: false },
      { type: 'interrupt', via: 'ws', reason: 'WebSocket closed (1011) before it was acknowledged', socket: 1 },
      { type: 'check-http' },
    ],
  },
  {
    name: 'a stale attempt graphql-ws gives up on is replaced without counting it',
    given: state(ws({ since: 0 }), { serverBacks: 1, failures: 0 }),
    event: { type: 'ws-closed', socket: 1, code: 1011, reason: '' },
    then: { phase: waiting(true) },
    effects: [
      { type: 'close-socket', socket: 1, wait: false },
      { type: 'interrupt', via: 'ws', reason: 'WebSocket closed (1011) before it was acknowledged', socket: 1 },
      { type: 'start-timer', timer: 'replacement', delay: { backoffAttempt: -1 } },
    ],
  },
  {
    name: 'maxRetries failed attempts in a row: give up and fail every subscription',
    given: state(ws(), { config: { ...config, maxRetries: 2 }, failures: 2, fallbackTimer: true }),
    event: { type: 'ws-closed', socket: 1, code: 1006, reason: '' },
    then: { phase: { kind: 'gave-up' }, failures: 3, fallbackTimer: false, status: 'failed' },
    effects: [
      { type: 'close-socket', socket: 1, wait: false },
      { type: 'cancel-timer', timer: 'fallback' },
      { type: 'set-status', status: 'failed' },
      { type: 'attach-waiting' },
      { type: 'fail', failure: { kind: 'gave-up', attempts: 3 } },
    ],
  },

  // --- Timers -----------------------------------------------------------------------
  {
    name: 'the fallback timer checks HTTP while the socket is not acknowledged',
    given: state(ws(), { failures: 1, fallbackTimer: true }),
    event: { type: 'fallback-due' },
    then: { fallbackTimer: false, checking: true },
    effects: [{ type: 'check-http' }],
  },
  {
    name: 'the fallback timer checks HTTP while waiting for a replacement socket',
    given: state(waiting(true), { failures: 1, fallbackTimer: true }),
    event: { type: 'fallback-due' },
    then: { fallbackTimer: false, checking: true },
    effects: [{ type: 'check-http' }],
  },
  {
    name: 'the fallback timer starts no second check while one is in flight',
    given: state(ws(), { failures: 1, fallbackTimer: true, checking: true }),
    event: { type: 'fallback-due' },
    then: { fallbackTimer: false },
    effects: [],
  },
  {
    name: 'the fallback timer does nothing once connected',
    given: state(connected, { fallbackTimer: true, status: 'connected' }),
    event: { type: 'fallback-due' },
    then: { fallbackTimer: false },
    effects: [],
  },
  {
    name: 'the replacement timer opens the next socket and starts the subscriptions waiting for one',
    given: state(waiting(true), { failures: 1 }),
    event: { type: 'replacement-due' },
    then: { phase: { kind: 'ws', socket: socket(2) }, nextSocket: 3 },
    effects: [{ type: 'open-socket', socket: 2 }, { type: 'attach-waiting' }],
  },
  {
    name: 'a replacement timer that fires once a socket is current again does nothing',
    given: state(ws()),
    event: { type: 'replacement-due' },
    then: {},
    effects: [],
  },
  {
    name: 'a probe timer that fires off SSE does nothing',
    given: state(connected, { status: 'connected' }),
    event: { type: 'probe-due' },
    then: {},
    effects: [],
  },
  {
    name: 'a probe timer that fires while a probe is under way opens no second one',
    given: state(sse(socket(3), true), { status: 'fallback-sse', nextSocket: 4 }),
    event: { type: 'probe-due' },
    then: { phase: sse(socket(3), false) },
    effects: [],
  },
  {
    name: 'the probe timer opens a probe socket',
    given: state(sse(), { status: 'fallback-sse' }),
    event: { type: 'probe-due' },
    then: { phase: sse(socket(2), false), nextSocket: 3 },
    effects: [{ type: 'open-socket', socket: 2 }],
  },

  // --- HTTP checks ------------------------------------------------------------------
  {
    name: 'HTTP works but WebSockets do not: switch to SSE and schedule a probe',
    given: state(ws(), { failures: 3, fallbackTimer: true, checking: true }),
    event: { type: 'http-checked', reachable: true },
    then: { phase: sse(null, true), failures: 0, fallbackTimer: false, checking: false, status: 'fallback-sse' },
    effects: [
      { type: 'close-socket', socket: 1, wait: false },
      { type: 'cancel-timer', timer: 'fallback' },
      { type: 'set-status', status: 'fallback-sse' },
      { type: 'interrupt', via: 'ws', reason: 'WebSocket unavailable, switching to SSE' },
      { type: 'start-timer', timer: 'probe', delay: { ms: 30_000 } },
    ],
  },
  {
    name: 'HTTP fails too: "offline", and a replacement socket after the backoff',
    given: state(waiting(false), { failures: 3, fallbackTimer: true, checking: true }),
    event: { type: 'http-checked', reachable: false },
    then: { phase: waiting(true), checking: false, serverDownInStreak: true, status: 'offline' },
    effects: [
      { type: 'set-status', status: 'offline' },
      { type: 'start-timer', timer: 'replacement', delay: { backoffAttempt: 2 } },
    ],
  },
  {
    name: 'HTTP fails while graphql-ws retries the current socket: "offline", no replacement',
    given: state(ws(), { failures: 3, fallbackTimer: true, checking: true, everConnected: true, status: 'reconnecting' }),
    event: { type: 'http-checked', reachable: false },
    then: { checking: false, serverDownInStreak: true, status: 'offline' },
    effects: [{ type: 'set-status', status: 'offline' }],
  },
  {
    name: 'HTTP fails while a replacement is already scheduled: no second one',
    given: state(waiting(true), { failures: 4, checking: true, serverDownInStreak: true, status: 'offline' }),
    event: { type: 'http-checked', reachable: false },
    then: { checking: false },
    effects: [],
  },
  {
    name: 'a check that answers once on SSE changes nothing else',
    given: state(sse(), { checking: true, status: 'fallback-sse' }),
    event: { type: 'http-checked', reachable: false },
    then: { checking: false },
    effects: [],
  },
  {
    name: 'HTTP works without the SSE fallback: keep trying the WebSocket',
    given: state(waiting(false), { config: { ...config, sseFallback: false }, failures: 3, checking: true }),
    event: { type: 'http-checked', reachable: true },
    then: { phase: waiting(true), checking: false },
    effects: [{ type: 'start-timer', timer: 'replacement', delay: { backoffAttempt: 2 } }],
  },
  {
    name: 'the server is seen back after being down: the streak starts over, and the attempts under way become stale',
    given: state(ws(), { failures: 4, fallbackTimer: true, checking: true, serverDownInStreak: true, status: 'offline', everConnected: true }),
    event: { type: 'http-checked', reachable: true },
    then: { failures: 0, fallbackTimer: false, checking: false, serverDownInStreak: false, serverBacks: 1, status: 'reconnecting' },
    effects: [
      { type: 'cancel-timer', timer: 'fallback' },
      { type: 'set-status', status: 'reconnecting' },
    ],
  },
  {
    name: 'the server is seen back while no socket is current: the next one opens at once',
    given: state(waiting(true), { failures: 4, checking: true, serverDownInStreak: true, status: 'offline' }),
    event: { type: 'http-checked', reachable: true },
    then: {
      phase: { kind: 'ws', socket: socket(2, { since: 1 }) },
      nextSocket: 3,
      failures: 0,
      checking: false,
      serverDownInStreak: false,
      serverBacks: 1,
      status: 'connecting',
    },
    effects: [
      { type: 'set-status', status: 'connecting' },
      { type: 'cancel-timer', timer: 'replacement' },
      { type: 'open-socket', socket: 2 },
      { type: 'attach-waiting' },
    ],
  },
  {
    name: 'a check that answers after the socket connected changes nothing else',
    given: state(connected, { checking: true, status: 'connected' }),
    event: { type: 'http-checked', reachable: true },
    then: { checking: false },
    effects: [],
  },

  // --- SSE requests -----------------------------------------------------------------
  {
    name: 'an SSE response ends the failure streak and says "fallback-sse" again',
    given: state(sse(), { failures: 2, status: 'offline' }),
    event: { type: 'sse-connected' },
    then: { failures: 0, status: 'fallback-sse' },
    effects: [{ type: 'set-status', status: 'fallback-sse' }],
  },
  {
    name: 'an SSE request that never got a response is a failed attempt and says "offline"',
    given: state(sse(), { status: 'fallback-sse' }),
    event: { type: 'sse-lost', wasConnected: false },
    then: { failures: 1, status: 'offline' },
    effects: [{ type: 'set-status', status: 'offline' }],
  },
  {
    name: 'an SSE stream cut after its response is a failed attempt, still "fallback-sse"',
    given: state(sse(), { status: 'fallback-sse' }),
    event: { type: 'sse-lost', wasConnected: true },
    then: { failures: 1 },
    effects: [],
  },
  {
    name: 'SSE failures never check HTTP (there is no WebSocket to give up on)',
    given: state(sse(), { failures: 2, status: 'fallback-sse' }),
    event: { type: 'sse-lost', wasConnected: false },
    then: { failures: 3, status: 'offline' },
    effects: [{ type: 'set-status', status: 'offline' }],
  },
  {
    name: 'an SSE request answering after the switch back to the WebSocket ends the failure streak, status unchanged',
    given: state(ws(), { failures: 1, fallbackTimer: true }),
    event: { type: 'sse-connected' },
    then: { failures: 0, fallbackTimer: false },
    effects: [{ type: 'cancel-timer', timer: 'fallback' }],
  },
  {
    name: 'an SSE request failing after the switch back counts as a failed attempt, status unchanged',
    given: state(ws()),
    event: { type: 'sse-lost', wasConnected: false },
    then: { failures: 1, fallbackTimer: true },
    effects: [{ type: 'start-timer', timer: 'fallback', delay: { ms: 500 } }],
  },
  {
    name: 'SSE failures count towards maxRetries too',
    given: state(sse(), { config: { ...config, maxRetries: 1 }, failures: 1, status: 'fallback-sse' }),
    event: { type: 'sse-lost', wasConnected: false },
    then: { phase: { kind: 'gave-up' }, failures: 2, status: 'failed' },
    effects: [
      { type: 'cancel-timer', timer: 'probe' },
      { type: 'set-status', status: 'failed' },
      { type: 'attach-waiting' },
      { type: 'fail', failure: { kind: 'gave-up', attempts: 2 } },
    ],
  },

  // --- Restart and dispose ---------------------------------------------------------
  {
    name: 'restart on the WebSocket: a new socket, every WebSocket subscription interrupted',
    given: state(connected, { status: 'connected', everConnected: true }),
    event: { type: 'restart' },
    then: { phase: { kind: 'ws', socket: socket(2) }, nextSocket: 3, status: 'reconnecting' },
    effects: [
      { type: 'set-status', status: 'reconnecting' },
      { type: 'close-socket', socket: 1, wait: true },
      { type: 'open-socket', socket: 2 },
      { type: 'attach-waiting' },
      { type: 'interrupt', via: 'ws', reason: 'reconnecting with new credentials' },
    ],
  },
  {
    name: 'restart while waiting for a replacement socket: the new one opens at once',
    given: state(waiting(true), { failures: 1, fallbackTimer: true, status: 'connecting' }),
    event: { type: 'restart' },
    then: { phase: { kind: 'ws', socket: socket(2) }, nextSocket: 3, failures: 0, fallbackTimer: false },
    effects: [
      { type: 'cancel-timer', timer: 'fallback' },
      { type: 'cancel-timer', timer: 'replacement' },
      { type: 'open-socket', socket: 2 },
      { type: 'attach-waiting' },
      { type: 'interrupt', via: 'ws', reason: 'reconnecting with new credentials' },
    ],
  },
  {
    name: 'restart on SSE: new requests (the probe goes on)',
    given: state(sse(), { status: 'fallback-sse', failures: 1 }),
    event: { type: 'restart' },
    then: { failures: 0 },
    effects: [{ type: 'interrupt', via: 'sse', reason: 'reconnecting with new credentials' }],
  },
  {
    name: 'restart after giving up: a fresh retry budget',
    given: state({ kind: 'gave-up' }, { failures: 3, status: 'failed' }),
    event: { type: 'restart' },
    then: { phase: { kind: 'ws', socket: socket(2) }, nextSocket: 3, failures: 0, status: 'connecting' },
    effects: [
      { type: 'set-status', status: 'connecting' },
      { type: 'open-socket', socket: 2 },
      { type: 'attach-waiting' },
      { type: 'interrupt', via: 'ws', reason: 'reconnecting with new credentials' },
    ],
  },
  {
    name: 'restart after giving up without a WebSocket constructor: SSE again',
    given: state({ kind: 'gave-up' }, { config: { ...config, webSocket: false }, failures: 3, status: 'failed' }),
    event: { type: 'restart' },
    then: { phase: sse(null, false), failures: 0, status: 'fallback-sse' },
    effects: [{ type: 'set-status', status: 'fallback-sse' }],
  },
  {
    name: 'dispose closes the sockets (waiting for acknowledged ones), stops the timers and completes every subscription',
    given: state(sse(socket(3, { acked: true }), false), { fallbackTimer: true, status: 'fallback-sse', nextSocket: 4 }),
    event: { type: 'dispose' },
    then: { phase: { kind: 'disposed' }, fallbackTimer: false },
    effects: [{ type: 'close-socket', socket: 3, wait: true }, { type: 'cancel-timer', timer: 'fallback' }, { type: 'end-all' }],
  },
  {
    name: 'once disposed, nothing happens',
    given: state({ kind: 'disposed' }),
    event: { type: 'restart' },
    then: {},
    effects: [],
  },
];

describe('client transport state machine: transitions', () => {
  it.each(rows)('$name', ({ given, event, then, effects }) => {
    const before = structuredClone(given);
    const step = transition(given, event);
    expect(step.state).toEqual({ ...given, ...then });
    expect(step.effects).toEqual(effects);
    expect(given).toEqual(before); // the input state is never changed
  });

  it('should start with a socket when a WebSocket constructor is given', () => {
    expect(initialState(config, 'connecting')).toEqual({
      state: state(ws()),
      effects: [{ type: 'open-socket', socket: 1 }, { type: 'attach-waiting' }],
    });
  });

  it('should start on SSE without a WebSocket constructor, with no probe scheduled', () => {
    const noWebSocket = { ...config, webSocket: false };
    expect(initialState(noWebSocket, 'connecting')).toEqual({
      state: state(sse(null, false), { config: noWebSocket, status: 'fallback-sse', nextSocket: 1 }),
      effects: [{ type: 'set-status', status: 'fallback-sse' }],
    });
  });
});

describe('client transport state machine: close codes and queries', () => {
  it.each([
    [1000, false],
    [1001, false],
    [1002, true],
    [1005, false],
    [1006, false],
    [1011, true],
    [1012, false],
    [1013, false],
    [1014, false],
    [1015, true],
    [1999, true],
    [999, false],
    [2000, false],
    [4400, true],
    [4403, false],
    [4408, false],
    [4500, true],
  ])('graphql-ws gives up after a close with %i: %s', (code, givesUp) => {
    expect(graphqlWsGivesUp(code)).toBe(givesUp);
  });

  it.each([
    [3999, false],
    [4000, true],
    [4999, true],
    [5000, false],
  ])('%i is an application close code: %s', (code, application) => {
    expect(isApplicationCloseCode(code)).toBe(application);
  });

  it('should send new subscriptions over SSE only on SSE, and name the current socket only on the WebSocket', () => {
    expect([connected, waiting(), sse(socket(3)), { kind: 'gave-up' } as const].map((phase) => modeOf(state(phase)))).toEqual(['ws', 'ws', 'sse', 'ws']);
    expect([connected, waiting(), sse(socket(3))].map((phase) => currentSocket(state(phase)))).toEqual([1, null, null]);
  });
});

/** Runs `events` from `from`; returns the final state and every effect in order. */
function play(from: TransportState, events: TransportEvent[]) {
  let current = from;
  const effects: TransportEffect[] = [];
  for (const event of events) {
    const step = transition(current, event);
    current = step.state;
    effects.push(...step.effects);
  }
  return { state: current, effects };
}

const closed = (socket: number, code = 1006): TransportEvent => ({ type: 'ws-closed', socket, code, reason: '' });

describe('client transport state machine: stories', () => {
  it('should fall back to SSE after three refused upgrades when HTTP works, then switch back once a probe gets through', () => {
    const start = initialState(config, 'connecting').state;
    const onSse = play(start, [closed(1), closed(1), closed(1), { type: 'http-checked', reachable: true }]);
    expect(onSse.state.phase).toEqual(sse(null, true));
    expect(onSse.state.status).toBe('fallback-sse');
    expect(onSse.effects.filter((effect) => effect.type === 'check-http')).toHaveLength(1);

    const back = play(onSse.state, [{ type: 'probe-due' }, { type: 'ws-connecting', socket: 2 }, { type: 'ws-opened', socket: 2 }, { type: 'ws-connected', socket: 2 }]);
    expect(back.state.phase).toEqual({ kind: 'ws', socket: socket(2, { acked: true, opened: true }) });
    expect(back.state.status).toBe('connected');
    expect(back.effects).toContainEqual({ type: 'interrupt', via: 'sse', reason: 'switching back to WebSocket' });
  });

  it('should not count an attempt begun while the server was down that fails after it is seen back, and not fall back to SSE', () => {
    // Every failure checks HTTP at once, as in the end-to-end test of the same rule.
    const eager = { ...config, fallbackAfterFailures: 1 };
    const up = play(initialState(eager, 'connecting').state, [{ type: 'ws-connected', socket: 1 }]).state;
    const down = play(up, [closed(1), { type: 'ws-connecting', socket: 1 }, closed(1), { type: 'http-checked', reachable: false }]);
    expect(down.state.status).toBe('offline');
    // graphql-ws retries during the outage; the server comes back while that attempt is under way.
    const back = play(down.state, [
      { type: 'ws-connecting', socket: 1 },
      closed(1), // counted: it starts another check
      { type: 'ws-connecting', socket: 1 }, // under way while that check runs
      { type: 'http-checked', reachable: true },
    ]);
    expect(back.state).toMatchObject({ serverBacks: 1, failures: 0, status: 'reconnecting', checking: false });
    // The attempt begun before the server was seen back fails late: no failure counted, no check, no SSE.
    const late = transition(back.state, closed(1));
    expect(late).toEqual({ state: back.state, effects: [] });
    // The next attempt is a fresh one and connects.
    const again = play(late.state, [{ type: 'ws-connecting', socket: 1 }, { type: 'ws-connected', socket: 1 }]);
    expect(again.state.status).toBe('connected');
    expect(again.state.phase.kind).toBe('ws');
  });

  it('should give up after maxRetries failed attempts and start over on restart', () => {
    const strict = { ...config, maxRetries: 2, sseFallback: false };
    const gaveUp = play(initialState(strict, 'connecting').state, [closed(1, 1011), { type: 'replacement-due' }, closed(2, 1011), { type: 'replacement-due' }, closed(3, 1011)]);
    expect(gaveUp.state).toMatchObject({ phase: { kind: 'gave-up' }, status: 'failed', failures: 3 });
    expect(gaveUp.effects.filter((effect) => effect.type === 'open-socket')).toEqual([
      { type: 'open-socket', socket: 2 },
      { type: 'open-socket', socket: 3 },
    ]);
    expect(gaveUp.effects.at(-1)).toEqual({ type: 'fail', failure: { kind: 'gave-up', attempts: 3 } });
    expect(transition(gaveUp.state, closed(3)).effects).toEqual([]);

    const restarted = transition(gaveUp.state, { type: 'restart' });
    expect(restarted.state).toMatchObject({ phase: { kind: 'ws', socket: { id: 4 } }, failures: 0, status: 'connecting' });
  });
});
