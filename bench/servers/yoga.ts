/**
 * The plain recipe most projects start from: graphql-yoga with the
 * graphql-ws `useServer` adapter as graphql-ws documents it for Yoga, and a
 * graphql-subscriptions `PubSub` (or graphql-redis-subscriptions'
 * `RedisPubSub` in Redis mode) behind one subscription field of the same
 * shape as Realmcast's.
 */
import { createServer } from 'node:http';
import type { ExecutionArgs } from 'graphql';
import { RedisPubSub } from 'graphql-redis-subscriptions';
import { PubSub, withFilter, type PubSubEngine } from 'graphql-subscriptions';
import { useServer } from 'graphql-ws/use/ws';
import { createSchema, createYoga } from 'graphql-yoga';
import { Redis } from 'ioredis';
import { WebSocketServer } from 'ws';
import type { ServerOptions } from '../protocol.js';
import { benchStocks, createMarketFeed, listenMarket, marketCursor, type Target, type Tick } from './target.js';

export async function startYoga(options: ServerOptions): Promise<Target> {
  if (options.workload !== 'market') throw new Error('the Yoga recipe only runs the market workload');
  const topic = `${options.redisPrefix ?? ''}STOCK_TICKED`;
  const pubsub: PubSubEngine & { close?: () => Promise<unknown> } = options.redisUrl
    ? new RedisPubSub({
        publisher: new Redis(options.redisUrl),
        subscriber: new Redis(options.redisUrl),
      })
    : new PubSub();

  const schema = createSchema({
    typeDefs: /* GraphQL */ `
      type Query {
        ok: Boolean
      }
      type StockTick {
        cursor: String!
        symbol: String!
        price: Float!
        at: String!
      }
      type Subscription {
        stockTicked(symbols: [String!]): StockTick!
      }
    `,
    resolvers: {
      Subscription: {
        stockTicked: {
          subscribe: withFilter(
            () => pubsub.asyncIterableIterator<{ stockTicked: Tick }>(topic),
            (payload?: { stockTicked: Tick }, args?: { symbols?: string[] | null }) =>
              !args?.symbols || args.symbols.some((s) => s.toUpperCase() === payload?.stockTicked.symbol),
          ),
        },
      },
    },
  });
  const yoga = createYoga({ schema, graphqlEndpoint: '/graphql', logging: false });
  const server = createServer(yoga);
  const wsServer = new WebSocketServer({ server, path: yoga.graphqlEndpoint });
  type Enveloped = Pick<ReturnType<typeof yoga.getEnveloped>, 'execute' | 'subscribe'>;
  const graphqlWs = useServer(
    {
      execute: (args: ExecutionArgs) => (args.rootValue as Enveloped).execute(args),
      subscribe: (args: ExecutionArgs) => (args.rootValue as Enveloped).subscribe(args),
      onSubscribe: async (ctx, _id, params) => {
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...ctx,
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          params,
        });
        const args: ExecutionArgs = {
          schema,
          operationName: params.operationName,
          document: parse(params.query),
          variableValues: params.variables,
          contextValue: await contextFactory(),
          rootValue: { execute, subscribe } satisfies Enveloped,
        };
        const errors = validate(args.schema, args.document);
        return errors.length ? errors : args;
      },
    },
    wsServer,
  );

  let seq = 0;
  const feed = createMarketFeed(benchStocks, (symbol, price) =>
    pubsub.publish(topic, { stockTicked: { cursor: marketCursor(++seq), symbol, price, at: new Date().toISOString() } satisfies Tick }),
  );

  return listenMarket(server, feed, async () => {
    await graphqlWs.dispose();
    await new Promise<void>((resolve) => wsServer.close(() => resolve()));
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await pubsub.close?.();
  });
}
