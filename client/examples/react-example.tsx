/**
 * A live market list in React (the example of client/README.md). The ticker
 * subscription writes each tick into the cached stocks, so the list re-renders
 * with new prices without any update code.
 */
import { ApolloProvider, useQuery, useSubscription } from '@apollo/client/react';
import { useSyncExternalStore } from 'react';
import { MarketTickerDocument, StocksDocument } from '../generated/graphql.js';
import { createRealmcastClient } from '../index.js';

const realm = createRealmcastClient({ url: '/graphql', getToken: () => localStorage.getItem('realmcast-token') });

function Market() {
  const { data } = useQuery(StocksDocument);
  useSubscription(MarketTickerDocument); // keeps the cached stocks current
  const status = useSyncExternalStore(realm.status.subscribe, realm.status.get);
  return <ul data-connection={status}>{data?.stocks.map((s) => <li key={s.symbol}>{s.symbol} {s.price.toFixed(2)}</li>)}</ul>;
}

export const App = () => <ApolloProvider client={realm.client}><Market /></ApolloProvider>;
