import { formatClock } from '../../format.js';
import type { TypingIndicators } from './typing.js';
import type { Game, LogLine, Me } from './types.js';

/**
 * The room's players with who is online (the live `presence` view where it
 * has news, the game's read otherwise), who hosts, and where each stands in
 * the turn (chosen, choosing, thinking).
 */
export function PlayerList({ players, online, me, typing }: { players: Game['players']; online: ReadonlyMap<string, boolean>; me: Me; typing: TypingIndicators }) {
  const onlineCount = players.filter((p) => online.get(p.player.id) ?? p.online).length;
  return (
    <>
      <h4>
        Players{' '}
        <span className="muted online-count" data-testid="online-count">
          {onlineCount}/{players.length} online
        </span>
      </h4>
      <ul className="players">
        {players.map((p) => {
          const isOnline = online.get(p.player.id) ?? p.online;
          const isTyping = typing.is(p.player.id) && !p.hasChosen;
          return (
            <li key={p.player.id} data-player={p.player.name} data-online={isOnline} data-chosen={p.hasChosen}>
              <span className={`presence-dot ${isOnline ? 'online' : 'offline'}`} title={isOnline ? 'online' : 'offline'} aria-hidden="true" />
              <span className="player-name">
                {p.player.name}
                <span className="sr-only">, {isOnline ? 'online' : 'offline'}</span>
              </span>
              {p.isHost ? <span className="badge">host</span> : null}
              {p.player.id === me.id ? <span className="badge badge-you">you</span> : null}
              <span className={`player-state ${p.hasChosen ? 'chosen' : isTyping ? 'typing' : ''}`} data-testid="player-state">
                {p.hasChosen ? '✓ chosen' : isTyping ? 'choosing…' : 'thinking'}
              </span>
            </li>
          );
        })}
      </ul>
    </>
  );
}

/** The room's latest events, newest first; nothing until there is one. */
export function ActivityLog({ log }: { log: readonly LogLine[] }) {
  if (!log.length) return null;
  return (
    <>
      <h4>Activity</h4>
      <ol className="room-log">
        {log.map((line) => (
          <li key={line.key}>
            <time dateTime={line.at}>{formatClock(line.at)}</time> {line.text}
          </li>
        ))}
      </ol>
    </>
  );
}
