import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import { bounded } from './redis-connections.js';

/** What the leader runs; stopped when leadership ends. */
export interface LeaderWork {
  dispose(): Promise<void>;
}

export interface LeaderLeaseOptions {
  /**
   * Redis holding the lease: the instance's command connection
   * (`RedisConnections.commands`), shared and left open on dispose.
   */
  redis: Redis;
  /** Where that Redis is, for logs (no password). @default 'redis' */
  location?: string;
  /** Key of the lease, one per kind of work (e.g. `realmcast:leader:market-simulator`). */
  key: string;
  /** Name of the work, for logs. */
  name: string;
  /**
   * How long the lease lasts without renewal: the longest the work stands
   * still after its leader dies. The holder renews it, and the others try to
   * take it, every third of this. @default 10_000 // 10 seconds
   */
  ttlMs?: number;
  /** Identifies this instance as the lease's value. @default `${hostname}:${pid}:${random}` */
  instanceId?: string;
  logger: Logger;
  /** Starts the work when this instance becomes the leader. */
  lead: () => LeaderWork;
}

export interface LeaderLease {
  /** This instance's id, the value of the lease key while it leads. */
  readonly instanceId: string;
  /** Whether this instance holds the lease and runs the work right now. */
  isLeader(): boolean;
  /** Stops the work and releases the lease (another instance takes over within a third of the TTL). */
  dispose(): Promise<void>;
}

/** Extends the lease only if this instance still holds it (compare-and-set). */
const renewScript = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
/** Deletes the lease only if this instance still holds it. */
const releaseScript = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

/**
 * Runs `lead()` on exactly one instance of the cluster at a time, using a
 * Redis lease: `SET key id NX PX ttl` acquires it, the holder extends it with
 * a compare-and-set script every `ttl/3`, and releases it on dispose. The
 * others try `SET NX` every `ttl/3` and take over once a dead leader's lease
 * expires.
 *
 * A leader that cannot renew (Redis away, or the key was lost in a Redis
 * restart) stops its work before the lease it last renewed can expire, so two
 * leaders never run at once by its own clock; while Redis is unreachable
 * nobody leads. For the market simulator a brief overlap would only mean an
 * extra tick, never corrupt state: every tick is one database transaction.
 */
export function createLeaderLease(options: LeaderLeaseOptions): LeaderLease {
  const {
    redis,
    location = 'redis',
    key,
    name,
    ttlMs = 10_000,
    instanceId = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`,
    logger,
    lead,
  } = options;
  const periodMs = Math.max(100, Math.floor(ttlMs / 3));
  // Step down this long before the lease we last renewed expires in Redis
  // (headroom for a late timer on a busy event loop).
  const marginMs = Math.min(1_000, Math.floor(ttlMs / 5));
  const log = logger.child({ lease: key, instanceId });

  let work: LeaderWork | undefined;
  let disposed = false;
  let timer: NodeJS.Timeout | undefined;
  let expiry: NodeJS.Timeout | undefined;
  let lastError: string | undefined;
  // Every transition runs on this chain, one at a time.
  let chain: Promise<void> = Promise.resolve();
  const serially = (step: () => Promise<void>) => (chain = chain.then(step).catch((error) => log.error({ err: error }, `${name}: leadership step failed`)));

  const stepDown = async (reason: string) => {
    clearTimeout(expiry);
    if (!work) return;
    const stopping = work;
    work = undefined;
    log[reason === 'shutting down' ? 'info' : 'warn']({ reason }, `${name}: leadership ended`);
    await stopping.dispose();
  };

  /** (Re)arms the step-down that fires if no renewal succeeds before the lease may expire. */
  const heldSince = (sentAt: number) => {
    clearTimeout(expiry);
    expiry = setTimeout(() => serially(() => stepDown('lease could not be renewed in time')), Math.max(0, sentAt + ttlMs - marginMs - Date.now()));
  };

  const attempt = async () => {
    if (disposed) return;
    const sentAt = Date.now();
    try {
      if (work) {
        const renewed = await bounded(redis.eval(renewScript, 1, key, instanceId, String(ttlMs)), periodMs);
        if (renewed === 1) heldSince(sentAt);
        else await stepDown('lease taken over or lost');
      } else {
        const acquired = await bounded(redis.set(key, instanceId, 'PX', ttlMs, 'NX'), periodMs);
        if (acquired === 'OK' && !disposed) {
          heldSince(sentAt);
          work = lead();
          log.info({ ttlMs }, `${name}: leadership acquired`);
        }
      }
      lastError = undefined;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (message !== lastError) log.warn({ error: message, redis: location }, `${name}: lease request failed`);
      lastError = message;
    }
  };

  const schedule = (delayMs: number) => {
    clearTimeout(timer);
    if (disposed) return;
    timer = setTimeout(() => serially(attempt).then(() => schedule(periodMs)), delayMs);
  };
  // Try at once when the connection is (again) ready, not a period later.
  const onReady = () => schedule(0);
  redis.on('ready', onReady);
  if (redis.status === 'ready') schedule(0);

  return {
    instanceId,
    isLeader: () => work !== undefined,
    async dispose() {
      if (disposed) return chain;
      disposed = true;
      redis.off('ready', onReady);
      clearTimeout(timer);
      await serially(async () => {
        const wasLeading = work !== undefined;
        await stepDown('shutting down');
        if (wasLeading) await bounded(redis.eval(releaseScript, 1, key, instanceId), periodMs).catch(() => {});
      });
    },
  };
}
