import type { PlayerRef } from '../events/topics.js';
import type { Release } from '../release.js';
import { createHookRunner, type OnlinePlayer, type PresenceHooks, type PresenceTracker } from './tracker.js';

/** The hooks of {@link PresenceHooks} and the grace period. */
export interface MemoryPresenceOptions extends PresenceHooks {
  /** How long a player stays online after their last connection ends. @default 5_000 // 5 seconds */
  graceMs?: number;
}

interface Entry {
  player: PlayerRef;
  connections: number;
  lastSeenAt: string;
  graceTimer?: NodeJS.Timeout;
}

/**
 * Presence of one instance, in memory. Only online players (connected or in
 * their grace period) have an entry; an offline player's last-seen time is
 * handed to `onTransition`, which persists it.
 */
export function createMemoryPresenceTracker(options: MemoryPresenceOptions): PresenceTracker {
  const { graceMs = 5_000 } = options;
  const games = new Map<string, Map<string, Entry>>();
  let disposed = false;

  const { transition, changed, settled } = createHookRunner(options);

  const goOffline = async (code: string, entry: Entry) => {
    entry.graceTimer = undefined;
    const players = games.get(code);
    if (entry.connections > 0 || players?.get(entry.player.id) !== entry) return;
    players.delete(entry.player.id);
    if (players.size === 0) games.delete(code);
    await transition(code, entry.player, false, entry.lastSeenAt);
    await changed(code);
  };

  return {
    async hold(code, player) {
      if (disposed) return async () => {};
      let players = games.get(code);
      if (!players) games.set(code, (players = new Map()));
      let entry = players.get(player.id);
      const wentOnline = !entry;
      if (!entry) players.set(player.id, (entry = { player, connections: 0, lastSeenAt: '' }));
      const held = entry;
      held.connections += 1;
      held.lastSeenAt = new Date().toISOString();
      // A reconnect within the grace period: the player never went offline, so no events.
      clearTimeout(held.graceTimer);
      held.graceTimer = undefined;
      if (wentOnline) await transition(code, player, true, held.lastSeenAt);
      await changed(code);

      let released = false;
      return async () => {
        if (released) return;
        released = true;
        held.connections -= 1;
        held.lastSeenAt = new Date().toISOString();
        if (held.connections === 0 && !disposed) {
          held.graceTimer = setTimeout(() => void goOffline(code, held), graceMs);
        }
        if (!disposed) await changed(code);
      };
    },

    async snapshot(code): Promise<OnlinePlayer[]> {
      return [...(games.get(code)?.values() ?? [])].map((e) => ({
        playerId: e.player.id,
        connections: e.connections,
        lastSeenAt: e.lastSeenAt,
      }));
    },

    async dispose() {
      // One process serves the whole world here, so its end is everyone's
      // disconnect: record it now rather than leave PlayerConnected unmatched
      // in the log. (The Redis tracker hands this to the other instances.)
      disposed = true;
      const offline: Promise<void>[] = [];
      for (const [code, players] of games) {
        for (const entry of players.values()) {
          clearTimeout(entry.graceTimer);
          offline.push(transition(code, entry.player, false, entry.lastSeenAt));
        }
      }
      games.clear();
      await Promise.all([...offline, settled()]);
    },
  };
}
