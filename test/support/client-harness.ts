/**
 * Test helpers for the Realmcast client: a client wired for Node, and a small
 * HTTP proxy that can cut every connection or refuse WebSocket upgrades,
 * standing in for flaky networks and WebSocket-hostile proxies. Observables
 * are read with `collect` from harness.ts.
 */
import { createServer, request, type IncomingMessage } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { createRealmcastClient, type RealmcastClient, type RealmcastClientOptions } from '../../client/index.js';
import { onTeardown, type Collector } from './harness.js';

/** A Realmcast client for `url` on Node with fast retries, disposed after the file's tests. */
export function realmcastClient(url: string, options: Partial<RealmcastClientOptions> = {}): RealmcastClient {
  const realm = createRealmcastClient({
    url,
    webSocketImpl: WebSocket,
    retryDelayMs: 20,
    maxRetryDelayMs: 200,
    wsProbeIntervalMs: 200,
    ...options,
  });
  onTeardown(() => realm.dispose());
  return realm;
}

export interface HttpProxy {
  /** The proxy's GraphQL URL (same path as the target's). */
  url: string;
  /** Destroys every open connection through the proxy, both sides; returns how many. */
  dropConnections(): number;
  /** Stops forwarding on every open connection without closing it (a silently dead network path). */
  freezeConnections(): void;
  /** Answer WebSocket upgrades with 403 (like a proxy that does not do WebSockets), or let them through. */
  refuseUpgrades(refuse: boolean): void;
  /** Upgrades refused so far. */
  readonly refusedUpgrades: number;
  /**
   * Accept WebSocket upgrades but close each socket at once with `code`
   * (before any graphql-ws acknowledgement), or (null) let them through.
   */
  closeUpgradesWith(code: number | null): void;
  /** Sockets closed that way so far. */
  readonly closedUpgrades: number;
  /** Resolves once `count` sockets were closed that way. */
  whenClosedUpgrades(count: number): Promise<void>;
  /** Keeps new HTTP requests waiting, neither forwarded nor answered, until `releaseRequests()`. */
  holdRequests(): void;
  /** Forwards the held requests, and the ones after, to the target again. */
  releaseRequests(): void;
  /** Resolves once `count` requests are held. */
  whenHeldRequests(count: number): Promise<void>;
  /** Keeps new WebSocket upgrades unanswered (connection attempts still under way) until `failHeldUpgrades()`. */
  holdUpgrades(): void;
  /** Ends the held upgrades' sockets, so those attempts fail (1006), and lets the next ones through; returns how many. */
  failHeldUpgrades(): number;
  /** Resolves once `count` upgrades are held. */
  whenHeldUpgrades(count: number): Promise<void>;
}

/**
 * An HTTP proxy in front of `target` (node:http): forwards requests and
 * streams responses (so SSE works), tunnels WebSocket upgrades unless told to
 * refuse them. Closed after the file's tests.
 */
export async function startHttpProxy(
  target: string,
  options: { refuseUpgrades?: boolean; closeUpgradesWith?: number } = {},
): Promise<HttpProxy> {
  const upstream = new URL(target);
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  };
  let refusing = options.refuseUpgrades ?? false;
  let refusedUpgrades = 0;
  let closeWith = options.closeUpgradesWith ?? null;
  let closedUpgrades = 0;
  const closeWaiters = new Set<() => void>();
  const closer = new WebSocketServer({ noServer: true });
  /** Requests not forwarded yet (while holding), each with what forwards it. */
  let heldRequests: Array<() => void> | null = null;
  let heldUpgrades: Socket[] | null = null;
  /** Wakes the `when…` waiters after any count changed. */
  const changeWaiters = new Set<() => void>();
  const changed = () => {
    for (const wake of [...changeWaiters]) wake();
  };
  const until = (reached: () => boolean) =>
    new Promise<void>((resolve) => {
      const check = () => {
        if (!reached()) return;
        changeWaiters.delete(check);
        resolve();
      };
      changeWaiters.add(check);
      check();
    });

  const server = createServer((req, res) => {
    let forwarded: ReturnType<typeof request> | undefined;
    res.on('close', () => forwarded?.destroy());
    const forward = () => {
      if (res.destroyed) return; // the client gave up waiting
      forwarded = request(
        { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers, agent: false },
        (response) => {
          res.writeHead(response.statusCode ?? 502, response.headers);
          response.pipe(res);
        },
      );
      forwarded.on('socket', track);
      forwarded.on('error', () => res.destroy());
      req.pipe(forwarded);
    };
    if (!heldRequests) return forward();
    heldRequests.push(forward);
    changed();
  });
  server.on('connection', track);
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    if (heldUpgrades) {
      track(socket);
      heldUpgrades.push(socket);
      changed();
      return;
    }
    if (refusing) {
      refusedUpgrades += 1;
      socket.end('HTTP/1.1 403 Forbidden\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    if (closeWith !== null) {
      const code = closeWith;
      closer.handleUpgrade(req, socket, head, (ws) => {
        closedUpgrades += 1;
        ws.close(code, 'closed by the test proxy');
        for (const wake of [...closeWaiters]) wake();
      });
      return;
    }
    const tunnel = connect(Number(upstream.port), upstream.hostname, () => {
      const headers: string[] = [];
      for (let i = 0; i < req.rawHeaders.length; i += 2) headers.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      tunnel.write(`${req.method} ${req.url} HTTP/1.1\r\n${headers.join('\r\n')}\r\n\r\n`);
      tunnel.write(head);
      socket.pipe(tunnel).pipe(socket);
    });
    track(tunnel);
    tunnel.on('error', () => socket.destroy());
    socket.on('error', () => tunnel.destroy());
    socket.on('close', () => tunnel.destroy());
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  onTeardown(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        closer.close();
        server.close(() => resolve());
      }),
  );
  return {
    url: `http://127.0.0.1:${port}${upstream.pathname}`,
    freezeConnections() {
      for (const socket of sockets) {
        socket.unpipe();
        socket.pause();
      }
    },
    dropConnections() {
      const count = sockets.size;
      for (const socket of [...sockets]) socket.destroy();
      return count;
    },
    refuseUpgrades(refuse) {
      refusing = refuse;
    },
    get refusedUpgrades() {
      return refusedUpgrades;
    },
    closeUpgradesWith(code) {
      closeWith = code;
    },
    get closedUpgrades() {
      return closedUpgrades;
    },
    holdRequests() {
      heldRequests ??= [];
    },
    releaseRequests() {
      const held = heldRequests ?? [];
      heldRequests = null;
      for (const forward of held) forward();
    },
    whenHeldRequests: (count) => until(() => (heldRequests?.length ?? 0) >= count),
    holdUpgrades() {
      heldUpgrades ??= [];
    },
    failHeldUpgrades() {
      const held = heldUpgrades ?? [];
      heldUpgrades = null;
      for (const socket of held) socket.destroy();
      return held.length;
    },
    whenHeldUpgrades: (count) => until(() => (heldUpgrades?.length ?? 0) >= count),
    whenClosedUpgrades(count) {
      return new Promise<void>((resolve) => {
        const check = () => {
          if (closedUpgrades < count) return;
          closeWaiters.delete(check);
          resolve();
        };
        closeWaiters.add(check);
        check();
      });
    },
  };
}

/**
 * Publishes `prices` for `symbol` (as a game master, straight to the server)
 * while `ticks` consumes them, never more than `lead` events ahead of what was
 * received, so publishing goes on while the client is cut off. After the
 * events numbered in `cutAfter` are received, `cut()` runs. Returns the
 * received ticks and the cursor of the last tick before each cut.
 */
export async function streamWithCuts<T extends { price: number; cursor: string }>(options: {
  ticks: Collector<{ data?: { stockTicked: T } | undefined }>;
  publish: (price: number) => Promise<unknown>;
  prices: number[];
  cutAfter: number[];
  cut: () => unknown;
  lead?: number;
}): Promise<{ events: T[]; cursorsBeforeCuts: string[] }> {
  const { ticks, publish, prices, cutAfter, cut, lead = 8 } = options;
  let received = 0;
  let wake = () => {};
  const publishing = (async () => {
    for (const [i, price] of prices.entries()) {
      while (i - received > lead) await new Promise<void>((resolve) => (wake = resolve));
      await publish(price);
    }
  })();
  const events: T[] = [];
  const cursorsBeforeCuts: string[] = [];
  while (events.length < prices.length) {
    const { data } = await ticks.next();
    events.push(data!.stockTicked);
    received = events.length;
    wake();
    if (cutAfter.includes(events.length)) {
      cursorsBeforeCuts.push(data!.stockTicked.cursor);
      await cut();
    }
  }
  await publishing;
  return { events, cursorsBeforeCuts };
}

/** `count` distinct prices, in cents, so every tick is a real change. */
export const priceSeries = (count: number, from = 40) => Array.from({ length: count }, (_, i) => Math.round((from + i * 0.05) * 100) / 100);
