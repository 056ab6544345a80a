/**
 * The floor: a hand-written `ws` server that speaks just enough graphql-ws
 * (`connection_init`, `subscribe` with a `symbols` variable, `complete`,
 * `ping`) and broadcasts each tick with one `JSON.stringify` of the payload;
 * per subscriber only the frame around it (its own id) and the socket write.
 */
import { createServer } from 'node:http';
import { Redis } from 'ioredis';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ServerOptions } from '../protocol.js';
import { benchStocks, createMarketFeed, listenMarket, marketCursor, type Target, type Tick } from './target.js';

interface Subscriber {
  socket: WebSocket;
  id: string;
  /** `{"id":…,"type":"next","payload":`, built once per subscription. */
  prefix: string;
  symbols: Set<string> | undefined;
}

export async function startRawWs(options: ServerOptions): Promise<Target> {
  if (options.workload !== 'market') throw new Error('the raw ws server only runs the market workload');
  const server = createServer((_req, res) => res.writeHead(404).end());
  const wss = new WebSocketServer({ server, path: '/graphql', handleProtocols: (protocols) => (protocols.has('graphql-transport-ws') ? 'graphql-transport-ws' : false) });
  const subscribers = new Set<Subscriber>();

  wss.on('connection', (socket) => {
    const mine = new Map<string, Subscriber>();
    socket.on('message', (data) => {
      let message: { type?: string; id?: string; payload?: { variables?: { symbols?: string[] } } };
      try {
        message = JSON.parse(String(data));
      } catch {
        return socket.close(4400, 'Invalid message');
      }
      if (message.type === 'connection_init') socket.send('{"type":"connection_ack"}');
      else if (message.type === 'ping') socket.send('{"type":"pong"}');
      else if (message.type === 'subscribe' && message.id) {
        const symbols = message.payload?.variables?.symbols;
        const subscriber: Subscriber = {
          socket,
          id: message.id,
          prefix: `{"id":${JSON.stringify(message.id)},"type":"next","payload":`,
          symbols: symbols ? new Set(symbols.map((s) => s.toUpperCase())) : undefined,
        };
        mine.set(message.id, subscriber);
        subscribers.add(subscriber);
      } else if (message.type === 'complete' && message.id) {
        const subscriber = mine.get(message.id);
        if (subscriber) subscribers.delete(subscriber);
        mine.delete(message.id);
      }
    });
    socket.on('close', () => {
      for (const subscriber of mine.values()) subscribers.delete(subscriber);
    });
  });

  /** Fans one serialized tick out: the only per-subscriber work is the frame and the write. */
  const broadcast = (symbol: string, tickJson: string) => {
    const rest = `{"data":{"stockTicked":${tickJson}}}}`; // the payload and the frame's closing brace
    for (const subscriber of subscribers) {
      if (!subscriber.symbols || subscriber.symbols.has(symbol)) subscriber.socket.send(subscriber.prefix + rest);
    }
  };

  let publisher: Redis | undefined;
  let subscriber: Redis | undefined;
  const channel = `${options.redisPrefix ?? ''}ticks`;
  if (options.redisUrl) {
    publisher = new Redis(options.redisUrl);
    subscriber = new Redis(options.redisUrl);
    await subscriber.subscribe(channel);
    // The symbol travels next to the JSON so the receiver filters without parsing it.
    subscriber.on('message', (_channel, message: string) => {
      const split = message.indexOf(' ');
      broadcast(message.slice(0, split), message.slice(split + 1));
    });
  }

  let seq = 0;
  const feed = createMarketFeed(benchStocks, async (symbol, price) => {
    const tick: Tick = { cursor: marketCursor(++seq), symbol, price, at: new Date().toISOString() };
    const json = JSON.stringify(tick);
    if (publisher) await publisher.publish(channel, `${symbol} ${json}`);
    else broadcast(symbol, json);
  });

  return listenMarket(server, feed, async () => {
    for (const client of wss.clients) client.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    await new Promise<void>((resolve) => server.close(() => resolve()));
    publisher?.disconnect();
    subscriber?.disconnect();
  });
}
