import {
  createSourceEventStream,
  execute,
  getOperationAST,
  getVariableValues,
  GraphQLError,
  Kind,
  type ExecutionArgs,
  type ExecutionResult,
  type OperationDefinitionNode,
} from 'graphql';
import { isAsyncIterable, mapAsyncIterator, Repeater, type Plugin } from 'graphql-yoga';
import type { Context } from '../builder.js';
import type { EventLog } from '../events/event-log.js';
import { Feed, type FeedSpec } from '../events/feed.js';
import type { CursoredEvent } from '../events/followers.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { Release } from '../release.js';

/**
 * Where a transport that writes frames itself (the WebSocket, see
 * `server/transport/ws.ts`) puts its per-subscription writer in the initial
 * context of an operation.
 */
export const frameSinkKey = 'realmcastFrameSink';

/**
 * Writes one subscription's `next` messages straight to its connection.
 * `send` gets a complete graphql-ws `next` message; the transport may check
 * its socket's `bufferedAmount` there (slow consumers).
 */
export interface FrameSink {
  /** The subscription's graphql-ws id. */
  id: string;
  send(frame: string): void;
}

/**
 * A WebSocket subscription the fan-out serves by itself: envelop's
 * `subscribe` returns this instead of an async iterator, so nothing of the
 * operation (Yoga's context, plugin wrappers, a pending `next()`) outlives
 * its setup. The transport keeps only this object, calls {@link stop} when
 * the client completes it or the socket closes, and learns from
 * {@link onEnd} when the fan-out ended it (the feed ended: `complete`; it
 * failed: `error`). Plugins that follow a subscription's life (metrics,
 * logging) register on {@link onEnd} too.
 *
 * It is also the subscription's member of its group, with methods rather
 * than closures: an idle WebSocket subscription costs this one object (and
 * its frame prefix), which is what thousands of idle dashboards multiply.
 */
export class AdoptedSubscription implements Member {
  /** @internal */ after = 0;
  /** @internal */ readonly writesFrames = true;
  #group: Group | undefined;
  #holding: Promise<Release> | undefined;
  #done = false;
  #ends: Array<(error?: unknown) => void> = [];
  #ended: { error?: unknown } | undefined;

  /** @internal */
  constructor(
    /** @internal */ readonly endsFor: string | undefined,
    private readonly stream: string,
    private readonly hold: FeedSpec['hold'],
    /** `{"id":…,"type":"next","payload":`, built once: per event only the concatenation and the write. */
    private readonly prefix: string,
    private readonly sink: FrameSink,
    private readonly core: MemberCore,
  ) {}

  /** Ends it from the transport's side (no message to the client). */
  stop(): void {
    this.end();
  }

  /** `callback` runs once when it ends (at once, after a microtask, if it already has). */
  onEnd(callback: (error?: unknown) => void): void {
    if (this.#ended) queueMicrotask(() => callback(this.#ended?.error));
    else this.#ends.push(callback);
  }

  /** Whether it ended (the client left during its replay). @internal */
  get done(): boolean {
    return this.#done;
  }

  /** @internal */
  joined(group: Group): void {
    this.#group = group;
    this.#holding = this.hold?.();
  }

  /** @internal */
  deliver(_shared: SharedResult, json: string): void {
    this.sink.send(this.prefix + json + '}');
  }

  /** @internal */
  end(error?: unknown): void {
    if (this.#done) return;
    this.#done = true;
    if (this.#group) this.core.leave(this.#group, this);
    this.#holding?.then((release) => release()).catch((err) => this.core.logger.error({ err, stream: this.stream }, 'release failed'));
    this.#ended = { error };
    for (const callback of this.#ends.splice(0)) callback(error);
  }

  /** Ends it when joining failed (a refused cursor) or never happened (it ended during its replay). @internal */
  settle(joining: Promise<void>): void {
    joining.then(
      () => this.#group ?? this.end(),
      (error: unknown) => this.end(error),
    );
  }
}

/** What a member needs of its fan-out to leave its group. */
interface MemberCore {
  leave(group: Group, member: Member): void;
  logger: Logger;
}

/** One event's result, executed and serialized once for a whole group. */
export interface SharedResult extends ExecutionResult {
  /** Yoga's SSE writer calls this instead of `JSON.stringify` (one serialization for every subscriber). */
  stringify(): string;
}

export interface FanoutOptions {
  events: EventLog;
  logger: Logger;
  /** Masks an error a resolver threw, as Yoga's masked errors do (shared results bypass Yoga's masking). */
  maskError: (error: GraphQLError) => GraphQLError;
  /**
   * Counts frames written to sockets (results yielded to SSE streams are
   * counted by the metrics plugin as they pass) and times each live event
   * once per group and transport (see `Metrics.fanOutLatency`). @default none
   */
  metrics?: Pick<Metrics, 'messagesSent' | 'fanOutLatency' | 'slowConsumerDrops'>;
  /**
   * Serialized results an SSE subscriber may have waiting (not yet taken by
   * its stream) before it is ended as too slow; its client reconnects and
   * resumes with `after:`. (WebSocket subscribers are bounded by their
   * socket's buffer in the transport.) @default 1_048_576 // 1 MiB
   */
  maxBufferedBytes?: number;
}

/**
 * A subscriber of a group. `after` skips events it already has (it resumed
 * ahead of the group); `deliver` writes or queues one shared result.
 */
interface Member {
  after: number;
  /** Writes frames to a socket itself (a WebSocket member). */
  writesFrames: boolean;
  endsFor: string | undefined;
  /** Called synchronously when the member joined its group (it is live). */
  joined(group: Group): void;
  deliver(shared: SharedResult, json: string): void;
  end(error?: unknown): void;
}

interface Group {
  key: string;
  stream: string;
  members: Set<Member>;
  /** Members setting up (replaying); the group stays while there are any. */
  joining: number;
  ready: Promise<void>;
  detach: () => void;
}

/**
 * Shared execution of subscriptions. Subscribers of one stream whose
 * operations have the same shape (document, operation name, variables other
 * than the cursor, and the feed's {@link FeedSpec.shape}: filter and
 * visibility) form a group; a group is one sink of the stream's follower, and
 * per event it runs the filter once, executes the operation once with the
 * event as root, serializes the result once, and hands the same JSON to each
 * member: a WebSocket member writes `{"id":…,"type":"next","payload":<json>}`
 * to its socket, any other (SSE) yields the shared result, which Yoga writes
 * with its `stringify`.
 *
 * A resuming subscriber replays the log on its own (executing each replayed
 * event for itself), then joins its group at the follower's position, with no
 * gap and no duplicate (see {@link StreamFollowers.join}).
 */
export function createFanout(options: FanoutOptions) {
  const { events, logger, maskError, metrics, maxBufferedBytes = 1_048_576 } = options;
  // Per event and group, not per subscriber: frames written to sockets (SSE
  // results are counted by the metrics plugin as they pass), and the
  // commit-to-write latency of live events once per transport, taken after
  // the group's last member got the result (its socket write or stream push).
  const measure = (event: CursoredEvent, frames: number, yielded: number) => {
    if (!metrics) return;
    if (frames) metrics.messagesSent.inc({ transport: 'ws' }, frames);
    if (event.seq === null) return;
    const latency = Math.max(0, Date.now() - Date.parse(event.at)) / 1000;
    if (frames) metrics.fanOutLatency.observe({ transport: 'ws' }, latency);
    if (yielded) metrics.fanOutLatency.observe({ transport: 'sse' }, latency);
  };
  const groups = new Map<string, Group>();
  /** Executions of events so far (shared ones and replays), for tests and metrics. */
  let executions = 0;

  const run = (args: ExecutionArgs, event: CursoredEvent): { result: SharedResult; json: string } => {
    executions++;
    const executed = execute({ ...args, rootValue: event });
    // Event fields resolve synchronously from the event; a promise here would
    // mean a resolver that reads something per event, which shapes must not.
    if (executed instanceof Promise) throw new Error('subscription event fields must resolve synchronously');
    const plain: ExecutionResult = executed.errors ? { ...executed, errors: executed.errors.map(maskError) } : executed;
    const json = JSON.stringify(plain);
    return { result: { ...plain, stringify: () => json }, json };
  };

  const retire = (group: Group) => {
    if (group.members.size || group.joining || groups.get(group.key) !== group) return;
    groups.delete(group.key);
    group.detach();
  };

  const leave = (group: Group, member: Member) => {
    if (!group.members.delete(member)) return;
    events.followers.countSubscriber(group.stream, -1);
    retire(group);
  };
  const core: MemberCore = { leave, logger };

  const startGroup = (key: string, feed: Feed, args: ExecutionArgs): Group => {
    const group: Group = { key, stream: feed.spec.stream, members: new Set(), joining: 0, ready: Promise.resolve(), detach: () => {} };
    groups.set(key, group);
    const { filter, leaverOf } = feed.spec;
    const fail = (error: unknown) => {
      if (groups.get(key) === group) groups.delete(key);
      group.detach();
      for (const member of [...group.members]) {
        leave(group, member);
        member.end(error);
      }
    };
    group.ready = events.followers
      .attach(feed.spec.stream, {
        next(event) {
          if (group.members.size && filter(event)) {
            let shared: ReturnType<typeof run>;
            try {
              shared = run(args, event);
            } catch (error) {
              logger.error({ err: error, stream: group.stream }, 'shared subscription execution failed');
              return fail(error);
            }
            let frames = 0;
            let yielded = 0;
            for (const member of group.members) {
              if (event.seq !== null && event.seq <= member.after) continue;
              member.deliver(shared.result, shared.json);
              if (member.writesFrames) frames++;
              else yielded++;
            }
            measure(event, frames, yielded);
          }
          // A leaver's feeds end after the event that says so (delivered or filtered out).
          const leaver = leaverOf?.(event);
          if (leaver !== undefined) {
            for (const member of [...group.members]) {
              if (member.endsFor === leaver) {
                leave(group, member);
                member.end();
              }
            }
          }
        },
        fail,
      })
      .then((detach) => {
        group.detach = detach;
        if (groups.get(key) !== group) detach();
      });
    group.ready.catch(() => groups.get(key) === group && groups.delete(key));
    return group;
  };

  /**
   * Joins `member` to the group of `feed` and `args`: replays first when the
   * feed resumes, then joins at the follower's position. `ended` tells
   * whether the subscriber went away meanwhile.
   */
  const join = async (feed: Feed, args: ExecutionArgs, member: Member, ended: () => boolean): Promise<void> => {
    const key = groupKey(feed.spec, args);
    const group = groups.get(key) ?? startGroup(key, feed, args);
    group.joining++;
    try {
      await group.ready;
      const { release } = await events.followers.join(feed.spec.stream, {
        afterSeq: feed.spec.afterSeq,
        replay: async (event) => {
          if (ended()) return false;
          if (feed.spec.filter(event)) {
            const { result, json } = run(args, event);
            member.deliver(result, json);
            // Replayed: counted as sent, never timed (it was committed before the subscription).
            if (member.writesFrames) metrics?.messagesSent.inc({ transport: 'ws' });
          }
          if (feed.endsAfter(event) && (!feed.spec.stillLeft || (await feed.spec.stillLeft()))) return false;
          return !ended();
        },
        join: (position) => {
          if (ended()) return;
          member.after = position;
          group.members.add(member);
          events.followers.countSubscriber(group.stream, 1);
          member.joined(group);
        },
      });
      // The group's own attachment keeps the follower up from here on.
      release();
    } finally {
      group.joining--;
      retire(group);
    }
  };

  /**
   * Serves a {@link Feed} to a WebSocket subscriber (a {@link FrameSink} in
   * the context): an {@link AdoptedSubscription}, whose frames the group
   * writes to the socket itself.
   */
  const subscribeFrames = (feed: Feed, args: ExecutionArgs, sink: FrameSink): AdoptedSubscription => {
    const { endsFor, stream, hold } = feed.spec;
    const prefix = `{"id":${JSON.stringify(sink.id)},"type":"next","payload":`;
    const adopted = new AdoptedSubscription(endsFor, stream, hold, prefix, sink, core);
    adopted.settle(join(feed, executionArgs(args), adopted, () => adopted.done));
    return adopted;
  };

  /** Serves a {@link Feed} to an SSE subscriber: an iterator of the group's shared results. */
  const subscribeResults = (feed: Feed, args: ExecutionArgs): AsyncIterableIterator<ExecutionResult> => {
    const shared = executionArgs(args);
    let group: Group | undefined;
    let holding: Promise<Release> | undefined;
    let done = false;
    let finish: (error?: unknown) => void = () => {};
    const stop = (error?: unknown) => {
      if (done) return;
      done = true;
      if (group) leave(group, member);
      holding?.then((release) => release()).catch((err) => logger.error({ err, stream: feed.spec.stream }, 'release failed'));
      finish(error);
    };
    const member: Member = {
      after: 0,
      writesFrames: false,
      endsFor: feed.spec.endsFor,
      joined(joinedGroup) {
        group = joinedGroup;
        holding = feed.spec.hold?.();
      },
      deliver: () => {},
      end: stop,
    };
    // Ends the subscription when joining failed (a refused cursor) or never
    // happened (it ended during its replay: a leaver, or the client left).
    const start = () => join(feed, shared, member, () => done).then(() => group ?? stop(), stop);
    return new Repeater<ExecutionResult>(async (push, stopRepeater) => {
      finish = (error) => stopRepeater(error);
      // Bytes delivered but not yet taken by the stream (a push resolves when it is taken).
      let waiting = 0;
      // Pushed, not awaited: the group serves every member at once. A consumer
      // that falls more than `maxBufferedBytes` (or 1,024 results) behind ends.
      member.deliver = (result, json) => {
        waiting += json.length;
        if (waiting > maxBufferedBytes) {
          metrics?.slowConsumerDrops.inc({ transport: 'sse' });
          return stop(new Error('slow consumer: resume with after:'));
        }
        try {
          push(result).then(() => (waiting -= json.length), stop);
        } catch (error) {
          stop(error);
        }
      };
      start();
      await stopRepeater;
      stop();
    });
  };

  /**
   * The Yoga plugin: subscriptions whose resolver returns a {@link Feed}
   * are served by their group; any other subscription (portfolio, presence)
   * runs as graphql-js would run it.
   */
  const plugin: Plugin = {
    onSubscribe({ setSubscribeFn }) {
      setSubscribeFn(async (args: ExecutionArgs) => {
        const source = await createSourceEventStream(args);
        if (source instanceof Feed) {
          const sink = (args.contextValue as Record<string, unknown>)[frameSinkKey] as FrameSink | undefined;
          // Envelop types subscribe results as iterators or results; the WebSocket transport knows this third kind.
          return sink ? (subscribeFrames(source, args, sink) as never) : subscribeResults(source, args);
        }
        if (!isAsyncIterable(source)) return source;
        return mapAsyncIterator(source, (payload) => execute({ ...args, rootValue: payload }));
      });
    },
  };

  return {
    plugin,
    /** Groups alive right now, and events executed since start (tests, metrics). */
    stats: () => ({ groups: groups.size, executions }),
  };
}

/** The fan-out of one app. */
export type Fanout = ReturnType<typeof createFanout>;

/**
 * What makes two subscriptions share an execution: the stream and feed shape,
 * the operation, and its variables except the one the cursor came in (each
 * subscriber resumes from its own). Variables count as the operation declares
 * them, coerced (defaults applied, a single value where a list goes made a
 * list) and in declaration order: undeclared ones a client adds, or the same
 * values sent in another key order, run the same execution, so they must not
 * split groups (nor let one client open unbounded groups with junk).
 */
function groupKey(spec: FeedSpec, args: ExecutionArgs): string {
  const operationName = args.operationName ?? '';
  const document = args.document.loc?.source.body ?? JSON.stringify(args.document);
  const operation = getOperationAST(args.document, args.operationName);
  const cursorVariable = operation && cursorVariableOf(operation);
  const variables = declaredVariables(args, operation);
  if (cursorVariable) delete variables[cursorVariable];
  return `${spec.stream}\n${spec.shape}\n${operationName}\n${JSON.stringify(variables)}\n${document}`;
}

/**
 * The operation's declared variables as graphql-js coerces them for
 * execution, keyed in declaration order. (Invalid variables never get here:
 * the subscribe step refused them; the raw declared values are the fallback.)
 */
function declaredVariables(args: ExecutionArgs, operation: OperationDefinitionNode | null | undefined): Record<string, unknown> {
  const definitions = operation?.variableDefinitions ?? [];
  const inputs = args.variableValues ?? {};
  const coerced = getVariableValues(args.schema, definitions, inputs, { maxErrors: 1 });
  if ('coerced' in coerced) return { ...coerced.coerced };
  return Object.fromEntries(definitions.map(({ variable }) => [variable.name.value, inputs[variable.name.value]]));
}

/**
 * The arguments a group executes with: execution only needs what resolvers
 * read (the viewer, the services and the address), not the request or socket
 * the operation came with, which the group would otherwise keep alive.
 */
function executionArgs(args: ExecutionArgs): ExecutionArgs {
  const { viewer, services, address } = args.contextValue as Context;
  return { ...args, contextValue: { viewer, services, address } satisfies Context };
}

/** The variable the root field's `after` argument takes, if any. */
function cursorVariableOf(operation: OperationDefinitionNode): string | undefined {
  const root = operation.selectionSet.selections[0];
  if (root?.kind !== Kind.FIELD) return undefined;
  const after = root.arguments?.find((arg) => arg.name.value === 'after');
  return after?.value.kind === Kind.VARIABLE ? after.value.name.value : undefined;
}
