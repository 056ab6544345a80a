/**
 * Entry point of the dashboard served at `/` (built by Vite into
 * dist/dashboard). One Realmcast client for the page, shared through Apollo's
 * provider.
 */
import { ApolloProvider } from '@apollo/client/react';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.js';
import { realm } from './realm.js';

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <ApolloProvider client={realm.client}>
      <App />
    </ApolloProvider>
  </StrictMode>,
);
