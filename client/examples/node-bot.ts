/**
 * A minimal Node bot (the example of client/README.md): prints market crashes
 * as they happen. Run with `npx tsx client/examples/node-bot.ts`.
 */
import WebSocket from 'ws';
import { WorldFeedDocument } from '../generated/graphql.js';
import { createRealmcastClient } from '../index.js';

const realm = createRealmcastClient({
  url: process.env.REALMCAST_URL ?? 'http://localhost:4000/graphql',
  token: process.env.REALMCAST_TOKEN,
  webSocketImpl: WebSocket, // Node 20 has no global WebSocket
});
realm.status.subscribe((status) => console.log(`[connection] ${status}`));
realm.client.subscribe({ query: WorldFeedDocument, variables: { kinds: ['market.crash'] } }).subscribe(({ data }) => {
  if (data) console.log(`${data.worldEvents.severity}: ${data.worldEvents.message}`);
});
process.once('SIGINT', () => void realm.dispose());
