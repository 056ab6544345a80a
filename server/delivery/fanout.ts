import { setImmediate as yieldToEventLoop, setTimeout as delay } from 'node:timers/promises';
import { createSourceEventStream, execute, type ExecutionArgs, type ExecutionResult, type GraphQLError } from 'graphql';
import { isAsyncIterable, mapAsyncIterator, type Plugin } from 'graphql-yoga';
import type { EventLog } from '../events/event-log.js';
import { Feed, type FeedSpec } from '../events/feed.js';
import type { CursoredEvent } from '../events/followers.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { Release } from '../release.js';
import { executionArgs, groupKey } from './group-key.js';
import type { DeliveryHooks, PreparedResult, Subscriber, SubscriptionHandle } from './subscriber.js';

/** Longest a replay runs before it lets the event loop turn (I/O, timers, a close of its socket). */
const replaySliceMs = 4;
/** How often a replay looks again whether its busy subscriber took what it holds. */
const replayWaitMs = 10;

/**
 * Serves one subscription to a transport that pulls its results (Yoga's SSE
 * response iterates them): `open` starts it with the adapter's
 * {@link Subscriber}, and the adapter returns what Yoga iterates. See
 * `server/transport/sse.ts`.
 */
export type PullAdapter = (open: (subscriber: Subscriber) => SubscriptionHandle) => AsyncIterableIterator<ExecutionResult>;

export interface DeliveryOptions {
  events: EventLog;
  logger: Logger;
  /** Masks an error a resolver threw, as Yoga's masked errors do (shared results bypass Yoga's masking). */
  maskError: (error: GraphQLError) => GraphQLError;
  /** Serves feeds to transports that pull (SSE): every subscription not given to {@link Delivery.serve}. */
  pull: PullAdapter;
  /**
   * Counts results the core writes itself (results pulled over SSE are
   * counted by the metrics plugin as they pass) and times each live event
   * once per group and transport (see `Metrics.fanOutLatency`). @default none
   */
  metrics?: Pick<Metrics, 'messagesSent' | 'fanOutLatency'>;
  /** Called for every subscription given to {@link Delivery.serve} (metrics, logging). @default none */
  hooks?: readonly DeliveryHooks[];
}

/** What {@link Delivery.serve} made of an operation. */
export type Served =
  /** A feed: the core writes its results to the subscriber from now on. */
  | { subscription: SubscriptionHandle }
  /** Anything else (a subscription executed on its own, or errors): envelop's result, for the transport to iterate or send. */
  | { result: unknown };

/**
 * One subscription as the core serves it: its group's member, with methods
 * rather than closures, so that an idle subscription costs this object and
 * its transport's {@link Subscriber}, which is what thousands of idle
 * dashboards multiply.
 */
class Subscription implements SubscriptionHandle {
  /** Events up to this sequence number it already has (it resumed ahead of its group). */
  after = 0;
  #group: Group | undefined;
  #holding: Promise<Release> | undefined;
  #done = false;
  /** What {@link DeliveryHooks.onServe} asked to be called at the end. */
  #ends: Array<(error?: unknown) => void> | undefined;

  constructor(
    readonly subscriber: Subscriber,
    /** Written by the core to its transport ({@link Delivery.serve}), so counted and timed here; otherwise pulled and counted as it passes envelop. */
    readonly served: boolean,
    /** The player whose leaving ends it ({@link FeedSpec.endsFor}). */
    readonly endsFor: string | undefined,
    private readonly stream: string,
    private readonly hold: FeedSpec['hold'],
    private readonly core: MemberCore,
  ) {}

  get done(): boolean {
    return this.#done;
  }

  cancel(): void {
    this.finish(undefined, false);
  }

  /** Ends it from the core's side: its subscriber hears of it. */
  end(error?: unknown): void {
    this.finish(error, true);
  }

  /** Registers what the hooks want called when it ends. */
  watch(ends: Array<(error?: unknown) => void>): void {
    if (ends.length) this.#ends = ends;
  }

  /** Called synchronously when it joined its group (it is live). */
  joined(group: Group): void {
    this.#group = group;
    this.#holding = this.hold?.();
  }

  /** Ends it when joining failed (a refused cursor) or never happened (it ended during its replay). */
  settle(joining: Promise<void>): void {
    joining.then(
      () => this.#group ?? this.end(),
      (error: unknown) => this.end(error),
    );
  }

  private finish(error: unknown, tell: boolean): void {
    if (this.#done) return;
    this.#done = true;
    if (this.#group) this.core.leave(this.#group, this);
    this.#holding?.then((release) => release()).catch((err) => this.core.logger.error({ err, stream: this.stream }, 'release failed'));
    if (tell) this.subscriber.end(error);
    for (const end of this.#ends ?? []) end(error);
  }
}

/** What a member needs of its fan-out to leave its group. */
interface MemberCore {
  leave(group: Group, member: Subscription): void;
  logger: Logger;
}

interface Group {
  key: string;
  stream: string;
  members: Set<Subscription>;
  /** Members setting up (replaying); the group stays while there are any. */
  joining: number;
  ready: Promise<void>;
  detach: () => void;
}

/**
 * The delivery core: a subscription joins its stream, replays from its
 * cursor, shares its group's execution, receives prepared results and ends.
 *
 * Subscribers of one stream whose operations have the same shape (document,
 * operation name, variables other than the cursor, and the feed's
 * {@link FeedSpec.shape}: filter and visibility) form a group; a group is one
 * sink of the stream's follower, and per event it runs the filter once,
 * executes the operation once with the event as root, serializes the result
 * once, and hands the same {@link PreparedResult} to each member's
 * {@link Subscriber}: the WebSocket adapter writes
 * `{"id":…,"type":"next","payload":<json>}` to its socket, the SSE adapter
 * queues the result for Yoga's writer, which calls its `stringify`.
 *
 * A resuming subscriber replays the log on its own (executing each replayed
 * event for itself), then joins its group at the follower's position, with no
 * gap and no duplicate (see `StreamFollowers.join`).
 *
 * Transports reach it two ways: one that writes frames itself hands its
 * {@link Subscriber} to {@link Delivery.serve} with the operation; any other
 * gets what the {@link DeliveryOptions.pull} adapter makes of the feed, as
 * envelop's subscribe result (the {@link Delivery.plugin} resolves every
 * subscription).
 */
export function createDelivery(options: DeliveryOptions) {
  const { events, logger, maskError, pull, metrics, hooks = [] } = options;
  // Per event and group, not per subscriber: results written by the core
  // (pulled ones are counted by the metrics plugin as they pass), and the
  // commit-to-write latency of live events once per transport, taken after
  // the group's last member got the result (its socket write or queue).
  // The WebSocket is the one transport the core writes to today.
  const measure = (event: CursoredEvent, served: number, pulled: number) => {
    if (!metrics) return;
    if (served) metrics.messagesSent.inc({ transport: 'ws' }, served);
    if (event.seq === null) return;
    const latency = Math.max(0, Date.now() - Date.parse(event.at)) / 1000;
    if (served) metrics.fanOutLatency.observe({ transport: 'ws' }, latency);
    if (pulled) metrics.fanOutLatency.observe({ transport: 'sse' }, latency);
  };
  const groups = new Map<string, Group>();
  /** Executions of events so far (shared ones and replays), for tests and metrics. */
  let executions = 0;

  const run = (args: ExecutionArgs, event: CursoredEvent): PreparedResult => {
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

  const leave = (group: Group, member: Subscription) => {
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
            let prepared: PreparedResult;
            try {
              prepared = run(args, event);
            } catch (error) {
              logger.error({ err: error, stream: group.stream }, 'shared subscription execution failed');
              return fail(error);
            }
            let served = 0;
            let pulled = 0;
            for (const member of group.members) {
              if (event.seq !== null && event.seq <= member.after) continue;
              member.subscriber.next(prepared);
              if (member.served) served++;
              else pulled++;
            }
            measure(event, served, pulled);
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
   * feed resumes, then joins at the follower's position, unless the member
   * ended meanwhile.
   */
  const join = async (feed: Feed, args: ExecutionArgs, member: Subscription): Promise<void> => {
    const key = groupKey(feed.spec, args);
    const group = groups.get(key) ?? startGroup(key, feed, args);
    group.joining++;
    let slice = performance.now();
    try {
      await group.ready;
      const { release } = await events.followers.join(feed.spec.stream, {
        afterSeq: feed.spec.afterSeq,
        replay: async (event) => {
          if (member.done) return false;
          if (feed.spec.filter(event)) {
            member.subscriber.next(run(args, event));
            // Replayed: counted as sent, never timed (it was committed before the subscription).
            if (member.served) metrics?.messagesSent.inc({ transport: member.subscriber.transport });
          }
          if (feed.endsAfter(event) && (!feed.spec.stillLeft || (await feed.spec.stillLeft()))) return false;
          // A replay never holds the event loop for more than a slice (so a
          // close of its socket, live events and /health get their turn, and
          // it stops right after its subscriber left), and it goes at its
          // subscriber's pace instead of piling results up in its buffer.
          if (performance.now() - slice >= replaySliceMs || member.subscriber.busy()) {
            await yieldToEventLoop();
            while (!member.done && member.subscriber.busy()) await delay(replayWaitMs);
            slice = performance.now();
          }
          return !member.done;
        },
        join: (position) => {
          if (member.done) return;
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

  /** Starts serving `feed` to `subscriber`. */
  const open = (feed: Feed, args: ExecutionArgs, subscriber: Subscriber, served: boolean, ends: Array<(error?: unknown) => void> = []) => {
    const { endsFor, stream, hold } = feed.spec;
    const subscription = new Subscription(subscriber, served, endsFor, stream, hold, core);
    subscription.watch(ends);
    subscription.settle(join(feed, executionArgs(args), subscription));
    return subscription;
  };

  // Envelop's plugins wrap whatever async iterable a subscribe returns (error
  // masking, metrics, logging), so a subscription the core writes itself
  // cannot come back through envelop's result: `serve` lends the core its
  // subscriber for the length of one subscribe call, by the operation's
  // context object, and takes the subscription straight from the plugin.
  const claims = new WeakMap<object, Claim>();
  interface Claim {
    subscriber: Subscriber;
    subscription?: Subscription;
  }
  /** What envelop gets for a feed the core serves: an empty result, which no plugin follows. */
  const servedResult: ExecutionResult = Object.freeze({});

  /**
   * The Yoga plugin: subscriptions whose resolver returns a {@link Feed}
   * are served by their group (to the subscriber {@link Delivery.serve} lent,
   * or through the pull adapter); any other subscription (portfolio,
   * presence) runs as graphql-js would run it.
   */
  const plugin: Plugin = {
    onSubscribe({ setSubscribeFn }) {
      setSubscribeFn(async (args: ExecutionArgs) => {
        const source = await createSourceEventStream(args);
        if (source instanceof Feed) {
          const claim = claims.get(args.contextValue as object);
          if (!claim) return pull((subscriber) => open(source, args, subscriber, false));
          const ends: Array<(error?: unknown) => void> = [];
          for (const hook of hooks) {
            const end = hook.onServe?.(args, claim.subscriber.transport);
            if (end) ends.push(end);
          }
          claim.subscription = open(source, args, claim.subscriber, true, ends);
          return servedResult;
        }
        if (!isAsyncIterable(source)) return source;
        return mapAsyncIterator(source, (payload) => execute({ ...args, rootValue: payload }));
      });
    },
  };

  return {
    plugin,
    /**
     * Subscribes `args` through envelop (`subscribe`: every plugin, then
     * {@link plugin}) for a transport that writes frames itself: a feed is
     * served to `subscriber` from now on (its replay may already have
     * reached it), anything else comes back as envelop's result.
     */
    async serve(subscriber: Subscriber, args: ExecutionArgs, subscribe: (args: ExecutionArgs) => unknown): Promise<Served> {
      const context = args.contextValue as object;
      const claim: Claim = { subscriber };
      claims.set(context, claim);
      let result: unknown;
      try {
        result = await subscribe(args);
      } catch (error) {
        claim.subscription?.cancel();
        throw error;
      } finally {
        claims.delete(context);
      }
      return claim.subscription ? { subscription: claim.subscription } : { result };
    },
    /** Groups alive right now, and events executed since start (tests, metrics). */
    stats: () => ({ groups: groups.size, executions }),
  };
}

/** The delivery core of one app. */
export type Delivery = ReturnType<typeof createDelivery>;
