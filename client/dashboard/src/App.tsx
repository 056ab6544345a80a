import { useQuery } from '@apollo/client/react';
import { useEffect } from 'react';
import { MeDocument } from '../../generated/graphql.js';
import { Toasts } from './components/Toasts.js';
import { errorCode } from './format.js';
import { ConnectionOverlay, ConnectionPill } from './panels/ConnectionStatus.js';
import { Factions } from './panels/Factions.js';
import { GameRoomPanel } from './panels/GameRoom.js';
import { Market } from './panels/Market.js';
import { Portfolio } from './panels/Portfolio.js';
import { Session } from './panels/Session.js';
import { Trading } from './panels/Trading.js';
import { WorldFeed } from './panels/WorldFeed.js';
import { hasToken, signOut } from './realm.js';

/** The whole dashboard: header with status and session, then the panels. */
export function App() {
  const { data, loading, error } = useQuery(MeDocument);
  const me = data?.me;

  // A stored token the server no longer accepts (new secret, expired): continue as a guest.
  useEffect(() => {
    if (hasToken() && errorCode(error) === 'UNAUTHENTICATED') void signOut();
  }, [error]);

  return (
    <>
      <a className="skip-link" href="#panels">
        Skip to the dashboard
      </a>
      <header className="topbar">
        <div className="brand">
          <svg className="brand-mark" viewBox="0 0 32 32" aria-hidden="true">
            <path d="M16 2 29 9.5v13L16 30 3 22.5v-13Z" fill="none" stroke="currentColor" strokeWidth="2.5" strokeLinejoin="round" />
            <path d="M10 21V11h5.5a3.5 3.5 0 0 1 0 7H10m5.5 0L21 21" fill="none" stroke="currentColor" strokeWidth="2.5" strokeLinecap="round" strokeLinejoin="round" />
          </svg>
          <div>
            <h1>Realmcast</h1>
            <p className="tagline">Live world operations</p>
          </div>
        </div>
        <ConnectionPill />
        <div className="topbar-end">
          <Session me={me} loading={loading} />
          <a className="button ghost small graphiql-link" href="/graphql">
            GraphiQL
          </a>
        </div>
      </header>
      <main id="panels" className="panels" tabIndex={-1}>
        <Market />
        <Factions />
        <GameRoomPanel me={me} />
        <WorldFeed />
        <Portfolio signedIn={Boolean(me)} />
        <Trading signedIn={Boolean(me)} />
      </main>
      <ConnectionOverlay />
      <Toasts />
    </>
  );
}
