import { useEffect, useSyncExternalStore } from 'react';
import { realm } from '../realm.js';

/** One short notice at the bottom of the page. */
interface Toast {
  id: number;
  text: string;
}

/** How long a toast stays. @default 4_000 // 4 seconds */
const toastMs = 4_000;
/** At most this many toasts at once; older ones make room. */
const maxToasts = 4;

let toasts: readonly Toast[] = [];
let nextId = 1;
const listeners = new Set<() => void>();
const publish = (next: readonly Toast[]) => {
  toasts = next;
  for (const listener of [...listeners]) listener();
};

/** Shows `text` for a few seconds (reconnects, players coming and going). */
export function toast(text: string): void {
  const id = nextId++;
  publish([...toasts, { id, text }].slice(-maxToasts));
  setTimeout(() => publish(toasts.filter((t) => t.id !== id)), toastMs);
}

/**
 * The toast stack, announced politely to screen readers. It also reports the
 * live connection dropping and coming back.
 */
export function Toasts() {
  const current = useSyncExternalStore(
    (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    () => toasts,
  );
  useEffect(() => {
    let lost = false;
    return realm.status.subscribe((status) => {
      if (status === 'reconnecting' && !lost) {
        lost = true;
        toast('Connection lost, reconnecting…');
      } else if (lost && (status === 'connected' || status === 'fallback-sse')) {
        lost = false;
        toast(status === 'connected' ? 'Reconnected' : 'Reconnected over SSE');
      }
    });
  }, []);
  return (
    <div className="toasts" role="status" aria-live="polite" data-testid="toasts">
      {current.map((t) => (
        <p key={t.id} className="toast">
          {t.text}
        </p>
      ))}
    </div>
  );
}
