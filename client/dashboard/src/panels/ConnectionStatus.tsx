import type { ConnectionStatus as Status } from '../../../index.js';
import { realm, useConnectionStatus } from '../realm.js';

const labels: Record<Status, { text: string; hint: string }> = {
  connecting: { text: 'Connecting…', hint: 'Opening the live connection.' },
  connected: { text: 'Live', hint: 'Live over WebSocket.' },
  reconnecting: { text: 'Reconnecting…', hint: 'The live connection was lost; retrying. Missed events will be filled in.' },
  'fallback-sse': { text: 'Live · SSE fallback', hint: 'WebSockets are blocked on this network: live updates use Server-Sent Events.' },
  offline: { text: 'Offline', hint: 'The server cannot be reached; retrying.' },
  failed: { text: 'Disconnected', hint: 'The client stopped retrying; reload the page to try again.' },
};

/** The always-visible status pill (announced politely to screen readers). */
export function ConnectionPill() {
  const status = useConnectionStatus();
  const { text, hint } = labels[status];
  return (
    <div className={`status-pill status-${status}`} data-status={status} role="status" aria-live="polite" title={hint}>
      <span className="status-dot" aria-hidden="true" />
      <span>{text}</span>
      <span className="sr-only">: {hint}</span>
    </div>
  );
}

/**
 * Dims the dashboard while the live connection is down. It does not block the
 * page (queries and mutations may still work over HTTP); its card offers an
 * immediate retry.
 */
export function ConnectionOverlay() {
  const status = useConnectionStatus();
  if (status === 'failed') {
    // The client gave up (`maxRetries`): nothing retries by itself any more.
    return (
      <div className="overlay overlay-failed" data-testid="connection-overlay">
        <div className="overlay-card">
          <div>
            <p className="overlay-title">Disconnected</p>
            <p className="muted">The live connection could not be restored. Reload the page to try again.</p>
          </div>
          <button type="button" className="button small" onClick={() => window.location.reload()}>
            Reload
          </button>
        </div>
      </div>
    );
  }
  if (status !== 'reconnecting' && status !== 'offline') return null;
  return (
    <div className={`overlay overlay-${status}`} data-testid="connection-overlay">
      <div className="overlay-card">
        <span className="spinner" aria-hidden="true" />
        <div>
          <p className="overlay-title">{status === 'offline' ? 'Offline' : 'Reconnecting…'}</p>
          <p className="muted">
            {status === 'offline' ? 'The server cannot be reached. ' : 'The live connection was lost. '}
            Updates are paused; anything missed will be filled in once it is back.
          </p>
        </div>
        <button type="button" className="button small" onClick={() => realm.reconnect()}>
          Retry now
        </button>
      </div>
    </div>
  );
}
