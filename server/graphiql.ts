/**
 * What GraphiQL (served on `GET /graphql` to browsers) opens with: a query
 * and a subscription a newcomer can run at once.
 */
const defaultQuery = /* GraphQL */ `# Welcome to Realmcast. Run "Prices" for a snapshot,
# then "LiveTicks" to watch the market move.
# Ctrl-Enter runs the operation under the cursor.

query Prices {
  stocks { symbol name price change changePercent }
  factions { id name influence }
  worldEvents(last: 5) { kind message severity at }
}

subscription LiveTicks {
  stockTicked { cursor symbol price change changePercent at }
}
`;

/** GraphiQL's options, for Yoga's page and the one served compressed. */
export const graphiqlOptions = { title: 'Realmcast', defaultQuery, subscriptionsProtocol: 'WS' } as const;
