import { useEffect, useRef, useState } from 'react';
import { realm } from './realm.js';

/**
 * Calls `onBack` each time the live connection comes back after being lost.
 *
 * Streams with a cursor are resumed by the client itself; this is for the
 * snapshots (stocks, factions, portfolio) a stream may not have covered yet:
 * until a stream delivers its first event there is no cursor to resume from.
 */
export function useOnReconnect(onBack: () => void): void {
  const callback = useRef(onBack);
  useEffect(() => {
    callback.current = onBack;
  });
  useEffect(() => {
    let lost = false;
    return realm.status.subscribe((status) => {
      if (status === 'reconnecting' || status === 'offline') lost = true;
      else if (lost && (status === 'connected' || status === 'fallback-sse')) {
        lost = false;
        callback.current();
      }
    });
  }, []);
}

/** A flash direction that changes each time `value` moves (the number alternates to restart the CSS animation). */
export function useFlash(value: number): { dir: 'up' | 'down'; n: number } | null {
  const previous = useRef(value);
  const [flash, setFlash] = useState<{ dir: 'up' | 'down'; n: number } | null>(null);
  useEffect(() => {
    if (value === previous.current) return;
    const dir = value > previous.current ? 'up' : 'down';
    previous.current = value;
    setFlash((current) => ({ dir, n: (current?.n ?? 0) + 1 }));
  }, [value]);
  return flash;
}
