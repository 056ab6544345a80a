import { PubSub, type PubSubEngine } from 'graphql-subscriptions';
import type { Topic, TopicMap } from './topics.js';

/**
 * Typed pub/sub over a `graphql-subscriptions` engine. In-process it is
 * graphql-subscriptions' `PubSub`; scaled out it is graphql-redis-subscriptions'
 * `RedisPubSub`, which keeps one Redis channel subscription per channel and
 * fans out to local listeners in-process. Only the engine constructor differs.
 */
export interface RealmPubSub {
  publish<K extends Topic>(topic: K, id: string, payload: TopicMap[K]): Promise<void>;
  /**
   * Calls `listener` for every payload published on `topic`/`id`. Resolves
   * once the subscription is active (for Redis: after SUBSCRIBE is
   * acknowledged), with the function that ends it.
   */
  subscribe<K extends Topic>(topic: K, id: string, listener: (payload: TopicMap[K]) => void): Promise<() => void>;
  /** Local listeners of `topic`/`id` right now (metrics, tests). */
  listenerCount(topic: Topic, id: string): number;
  /** Calls `listener` whenever a local listener is added or removed; returns the remover. */
  onListenersChanged(listener: (topic: Topic, id: string, count: number) => void): () => void;
  /**
   * Calls `listener` each time the engine's connection to its broker comes
   * back after a loss (for Redis: once the resubscriptions are acknowledged,
   * or once the publisher is writable again). Messages published meanwhile
   * were lost, so followers re-read the log then. Never called in-process.
   */
  onReconnect(listener: () => void): () => void;
  /** Resolves when the broker answers (readiness); rejects while it is unreachable. */
  ping(): Promise<void>;
  dispose(): Promise<void>;
}

export interface PubSubOptions {
  /** The engine; `new PubSub()` (in-process) when omitted. */
  engine?: PubSubEngine;
  /** Prefix of every channel name. @default '' */
  prefix?: string;
  /** Closes the engine's connections on dispose. @default async () => {} */
  closeEngine?: () => Promise<void>;
  /** Checks the broker answers. @default async () => {} (in-process: always) */
  ping?: () => Promise<void>;
  /** Registers a reconnect listener with the engine. @default none: an in-process engine never disconnects */
  onReconnect?: (listener: () => void) => () => void;
}

/** Creates the typed pub/sub over an engine. */
export function createRealmPubSub(options: PubSubOptions = {}): RealmPubSub {
  const {
    engine = new PubSub(),
    prefix = '',
    closeEngine = async () => {},
    ping = async () => {},
    onReconnect = () => () => {},
  } = options;
  const channel = (topic: Topic, id: string) => `${prefix}${topic}:${id}`;
  const counts = new Map<string, number>();
  const watchers = new Set<(topic: Topic, id: string, count: number) => void>();
  const count = (topic: Topic, id: string, by: number) => {
    const key = channel(topic, id);
    const next = (counts.get(key) ?? 0) + by;
    if (next) counts.set(key, next);
    else counts.delete(key);
    for (const watcher of watchers) watcher(topic, id, next);
  };
  return {
    publish: (topic, id, payload) => engine.publish(channel(topic, id), payload),
    async subscribe(topic, id, listener) {
      const subscriptionId = await engine.subscribe(channel(topic, id), listener as (payload: unknown) => void, {});
      count(topic, id, 1);
      let active = true;
      return () => {
        if (!active) return;
        active = false;
        engine.unsubscribe(subscriptionId);
        count(topic, id, -1);
      };
    },
    listenerCount: (topic, id) => counts.get(channel(topic, id)) ?? 0,
    onListenersChanged(watcher) {
      watchers.add(watcher);
      return () => watchers.delete(watcher);
    },
    onReconnect,
    ping,
    dispose: closeEngine,
  };
}
